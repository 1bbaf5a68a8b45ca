import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { firstDifferentLine, skipReason } from "../../../scripts/test-env.js";
import { BtfBuilder, dumpC, dumpRaw, findElfSection, parseBtf } from "../src/index.js";
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
  skipReason("C dump vs bpftool on kernel BTF", [
    [hasVmlinux, `${VMLINUX} missing`],
    [hasBpftool, "bpftool not installed"],
  ]),
)("C dump of kernel BTF", () => {
  const base = parseBtf(new Uint8Array(readFileSync(VMLINUX)));

  it("vmlinux.h is byte-identical to bpftool's", () => {
    const mine = dumpC(base);
    const ref = bpftoolDump(VMLINUX, "c");
    expect(firstDiff(mine, ref)).toBe("");
    expect(mine === ref).toBe(true);
  }, 900000);

  it("every module in /sys/kernel/btf is byte-identical (split on vmlinux)", () => {
    const modules = moduleBtfFiles();
    if (modules.length === 0) console.log("no module BTF in /sys/kernel/btf on this machine");
    for (const file of modules) {
      const mine = dumpC(parseBtf(new Uint8Array(readFileSync(file)), { base }));
      expect(firstDiff(mine, bpftoolDump(file, "c", VMLINUX)), file).toBe("");
    }
  }, 900000);

  it("a hand-built split BTF dumps base and module types together like bpftool", () => {
    const task = base.find("task_struct")!;
    const b = new BtfBuilder(base.length, base.header.strLen);
    const ptr = b.add({ kind: "ptr", name: "", type: task });
    b.add({
      kind: "struct",
      name: "mod_thing",
      size: 16,
      members: [
        { name: "owner", type: ptr, bitOffset: 0, bitfieldSize: 0 },
        { name: "task_struct", type: base.find("int")!, bitOffset: 64, bitfieldSize: 0 },
      ],
    });
    const blob = b.build();
    const file = join(mkdtempSync(join(tmpdir(), "bpfkit-split-")), "mod");
    writeFileSync(file, blob);
    const split = parseBtf(blob, { base });
    const mine = dumpC(split);
    expect(firstDiff(mine, bpftoolDump(file, "c", VMLINUX))).toBe("");
    expect(mine).toContain("struct mod_thing {\n\tstruct task_struct *owner;\n\tint task_struct;\n};");
    expect(firstDiff(dumpRaw(split), bpftoolDump(file, "raw", VMLINUX))).toBe("");
  }, 900000);
});

describe.skipIf(
  skipReason("C dump vs bpftool on objects", [
    [hasClang, "clang-19 not installed"],
    [hasBpftool, "bpftool not installed"],
  ]),
)("C dump of objects", () => {
  it("the linked golden object (spec 6.12) has the collision suffixes", () => {
    const path = linkFixtures("golden", ["t1", "t2"]);
    const mine = dumpC(parseBtf(findElfSection(new Uint8Array(readFileSync(path)), ".BTF")!));
    expect(firstDiff(mine, bpftoolDump(path, "c"))).toBe("");
    expect(mine).toContain("struct inner___2 {\n\tlong different;\n};");
    expect(mine).toContain("enum neg___2 {\n\tN_M___2 = 7,\n};");
    expect(mine).toContain("\tint (*handlers[4])(int);\n\tvoid (* (*fp_ret_fp)(int))(char);\n");
    expect(mine).toContain("struct packed_s {\n\tchar c;\n\tint i;\n\tlong l;\n} __attribute__((packed));");
    expect(mine).toContain("\tunsigned int b: 5;\n\tlong: 56;\n\tunsigned long c: 40;\n");
  });

  it("fixture objects and every selftest object match bpftool", () => {
    const objects = [...["t1", "t2", "core"].map((n) => compileFixture(n)), ...selftestObjects()];
    if (objects.length <= 3) console.log("no selftest objects (run scripts/build-selftests.sh)");
    for (const path of objects) {
      const raw = findElfSection(new Uint8Array(readFileSync(path)), ".BTF");
      if (!raw) continue;
      expect(firstDiff(dumpC(parseBtf(raw)), bpftoolDump(path, "c")), path).toBe("");
    }
  }, 900000);
});
