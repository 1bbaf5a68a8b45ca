import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { hasTool, skipReason } from "../../../scripts/test-env.js";
import { disassembleObject } from "../src/index.js";

// Objects clang never emits but objdump must still be matched on: hand-written assembly that
// puts several symbols at one address, data symbols in code, zero runs (with and without a
// relocation inside), truncated tails, an lddw cut in half, undecodable slots, r11, branches out
// of the section, an empty and a NOBITS code section, and labels in the middle of a function.
const EDGES = String.raw`
	.text
	.globl	zz
	.type	zz,@function
	.type	aa,@object
	.globl	mm
zz:
aa:
mm:
	r0 = 0
	if r0 == 1 goto -100
	if r0 == 1 goto +100
	gotol +5
	goto -1
	may_goto +2
	exit
	.section	data_in_code,"ax",@progbits
	.type	blob,@object
blob:
	.ascii "hello, world!\x01\x7f"
	.byte 0, 1, 2
	.section	zeros,"ax",@progbits
	r1 = 1
	.zero 24
	r2 = 2
	.zero 8
	.quad ext_sym
	.zero 16
	.long ext32
	.zero 4
	exit
	.byte 0x95
	.section	tail,"ax",@progbits
	r1 = 0x123456789 ll
	.byte 0x18, 1, 0, 0, 5, 0, 0, 0
	.section	unknowns,"ax",@progbits
	.quad 0x000000000000018c
	.quad 0x0000000000000bbf
	.quad 0x00000100000010db
	.quad 0x0000000100000095
	.quad 0x00000000000000c3
	r1 = extvar ll
	call extfn
	r2 = tail ll
	.section	empty,"ax",@progbits
	.section	nob,"ax",@nobits
	.zero 16
	.section	labels,"ax",@progbits
	.type	fn_b,@function
	.type	fn_a,@function
	.weak	fn_w
	.hidden	fn_h
	.globl	fn_h
fn_b:
fn_w:
	r0 = 1
lbl:
	if r0 > 2 goto lbl
	if r0 > 2 goto end_lbl
	.type	obj_mid,@object
obj_mid:
	exit
fn_h:
	r0 = -1 ll
	w0 = -1
	exit
end_lbl:
`;

const missing = skipReason("objdump edge cases", [
  [hasTool("llvm-mc-19"), "llvm-mc-19 not installed"],
  [hasTool("llvm-objdump-19"), "llvm-objdump-19 not installed"],
]);

describe.skipIf(missing)("disassembleObject on hand-written edge cases", () => {
  const dir = mkdtempSync(join(tmpdir(), "bpfkit-objdump-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const assemble = (name: string, source: string, triple = "bpfel"): string => {
    const s = join(dir, `${name}.s`);
    const o = join(dir, `${name}.o`);
    writeFileSync(s, source);
    execFileSync("llvm-mc-19", [`-triple=${triple}`, "-filetype=obj", s, "-o", o]);
    return o;
  };

  for (const triple of ["bpfel", "bpfeb"]) {
    for (const mcpu of [undefined, "v3"]) {
      it(`matches llvm-objdump-19 -d -r${mcpu ? ` --mcpu=${mcpu}` : ""} (${triple})`, () => {
        const obj = assemble(`edges-${triple}`, EDGES, triple);
        const args = ["-d", "-r", ...(mcpu ? [`--mcpu=${mcpu}`] : []), obj];
        const want = execFileSync("llvm-objdump-19", args, { encoding: "utf8" });
        const got = disassembleObject(new Uint8Array(readFileSync(obj)), {
          fileName: obj,
          alu32: mcpu !== undefined,
        });
        expect(got.split("\n")).toEqual(want.split("\n"));
        // The cases are really there (guards against an assembler that silently drops them).
        expect(want).toMatch(/\t\t\.\.\.\n/);
        expect(want).toMatch(/<unknown>/);
        expect(want).toMatch(/hello, w/);
        expect(want).toMatch(/<zz\+0xfffffffffffffcf0>/);
      });
    }
  }

  it("returns only the section listing without a file name", () => {
    const obj = assemble("plain", "\t.text\nf:\n\tr0 = 0\n\texit\n");
    expect(disassembleObject(new Uint8Array(readFileSync(obj)))).toBe(
      [
        "",
        "Disassembly of section .text:",
        "",
        "0000000000000000 <f>:",
        "       0:\tb7 00 00 00 00 00 00 00\tr0 = 0x0",
        "       1:\t95 00 00 00 00 00 00 00\texit",
        "",
      ].join("\n"),
    );
  });

  it("prints the kernel and uBPF syntaxes in the same frame", () => {
    const obj = assemble("syntaxes", "\t.text\nf:\n\tr0 = 0\n\tif r0 > 2 goto -2\n\tcall 1\n\texit\n");
    const bytes = new Uint8Array(readFileSync(obj));
    const kernel = disassembleObject(bytes, { syntax: "kernel" });
    expect(kernel).toContain("\tr0 = 0\n");
    expect(kernel).toContain("\tif r0 > 0x2 goto pc-2 <f>\n");
    expect(kernel).toContain("\tcall bpf_map_lookup_elem#1\n");
    const ubpf = disassembleObject(bytes, { syntax: "ubpf" });
    expect(ubpf).toContain("\tmov %r0, 0\n");
    expect(ubpf).toContain("\tjgt %r0, 2, -2 <f>\n");
  });
});
