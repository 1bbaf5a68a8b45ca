import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { skipReason } from "../../../scripts/test-env.js";
import { dumpRaw, findElfSection, parseBtf } from "../src/index.js";
import { bpftoolDump } from "./bpftool.js";
import {
  compileFixture,
  hasBpftool,
  hasClang,
  hasVmlinux,
  linkFixtures,
  moduleBtfFiles,
  selftestObjects,
  VMLINUX,
} from "./helpers.js";

function firstDiff(a: string, b: string): string {
  const la = a.split("\n");
  const lb = b.split("\n");
  for (let i = 0; i < Math.max(la.length, lb.length); i++) {
    if (la[i] !== lb[i]) return `line ${i + 1}:\n  mine:    ${la[i]}\n  bpftool: ${lb[i]}`;
  }
  return "";
}

describe.skipIf(
  skipReason("raw dump vs bpftool on kernel BTF", [
    [hasVmlinux, `${VMLINUX} missing`],
    [hasBpftool, "bpftool not installed"],
  ]),
)("raw dump of kernel BTF", () => {
  const base = parseBtf(new Uint8Array(readFileSync(VMLINUX)));

  it("vmlinux is byte-identical to bpftool's", () => {
    const mine = dumpRaw(base);
    const ref = bpftoolDump(VMLINUX, "raw");
    expect(firstDiff(mine, ref)).toBe("");
    expect(mine === ref).toBe(true);
  }, 900000);

  it("every module in /sys/kernel/btf is byte-identical (split on vmlinux)", () => {
    const modules = moduleBtfFiles();
    if (modules.length === 0) console.log("no module BTF in /sys/kernel/btf on this machine");
    for (const file of modules) {
      const mine = dumpRaw(parseBtf(new Uint8Array(readFileSync(file)), { base }));
      expect(firstDiff(mine, bpftoolDump(file, "raw", VMLINUX)), file).toBe("");
    }
  }, 900000);
});

describe.skipIf(
  skipReason("raw dump vs bpftool on objects", [
    [hasClang, "clang-19 not installed"],
    [hasBpftool, "bpftool not installed"],
  ]),
)("raw dump of objects", () => {
  it("fixture objects and every selftest object match bpftool", () => {
    const objects = [
      ...["t1", "t2", "core"].map((n) => compileFixture(n)),
      linkFixtures("golden", ["t1", "t2"]),
      ...selftestObjects(),
    ];
    if (objects.length <= 4) console.log("no selftest objects (run scripts/build-selftests.sh)");
    for (const path of objects) {
      const raw = findElfSection(new Uint8Array(readFileSync(path)), ".BTF");
      if (!raw) continue;
      expect(firstDiff(dumpRaw(parseBtf(raw)), bpftoolDump(path, "raw")), path).toBe("");
    }
  }, 900000);
});
