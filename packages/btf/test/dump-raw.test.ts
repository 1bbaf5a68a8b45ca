import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { firstDifferentLine, skipReason } from "../../../scripts/test-env.js";
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

/** First line where our dump differs from bpftool's ("" when identical). */
function firstDiff(mine: string, bpftool: string): string {
  return firstDifferentLine(bpftool, mine, { reference: "bpftool", mine: "mine" });
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
