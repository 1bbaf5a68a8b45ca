import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assembleUbpf, encode } from "@bpfkit/bpf-isa";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../../scripts/test-env.js";
import { main } from "../src/cli.js";

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

const dir = mkdtempSync(join(tmpdir(), "bpfkit-cli-isa-"));
const program = encode(assembleUbpf("mov32 %r0, -1\nlddw %r1, 0x123456789\njne %r1, 5, +1\nexit\nexit"));
const bin = join(dir, "prog.bin");
writeFileSync(bin, program);

describe("bpfkit disasm", () => {
  it("prints raw instructions in kernel syntax by default", async () => {
    const { io, out } = capture();
    expect(await main(["disasm", bin], io)).toBe(0);
    expect(out.join("")).toBe(
      "0: (b4) w0 = -1\n1: (18) r1 = 0x123456789\n3: (55) if r1 != 0x5 goto pc+1\n4: (95) exit\n5: (95) exit\n",
    );
  });

  it("prints uBPF and LLVM syntax", async () => {
    const ubpf = capture();
    expect(await main(["disasm", bin, "--syntax", "ubpf"], ubpf.io)).toBe(0);
    expect(ubpf.out.join("")).toContain("   1: lddw %r1, 0x123456789\n   3: jne %r1, 5, +1\n");
    const llvm = capture();
    expect(await main(["disasm", bin, "--syntax", "llvm"], llvm.io)).toBe(0);
    expect(llvm.out.join("")).toContain(
      "       0:\tb4 00 00 00 ff ff ff ff\tw0 = -0x1\n" +
        "       1:\t18 01 00 00 89 67 45 23 00 00 00 00 01 00 00 00\tr1 = 0x123456789 ll\n",
    );
  });

  it("rejects truncated bytes with one line and exit 2", async () => {
    const cut = join(dir, "cut.bin");
    writeFileSync(cut, program.subarray(0, 12));
    const { io, err } = capture();
    expect(await main(["disasm", cut], io)).toBe(2);
    expect(err.join("")).toMatch(/cut\.bin: truncated instruction at byte offset 8/);
    expect(err.join("").trim().split("\n")).toHaveLength(1);
  });

  it("rejects a missing file, a bad syntax and an unknown flag with exit 2", async () => {
    const missing = capture();
    expect(await main(["disasm", join(dir, "nope.bin")], missing.io)).toBe(2);
    expect(missing.err.join("")).toMatch(/ENOENT/);
    const syntax = capture();
    expect(await main(["disasm", bin, "--syntax", "intel"], syntax.io)).toBe(2);
    expect(syntax.err.join("")).toMatch(/intel/);
    const flag = capture();
    expect(await main(["disasm", bin, "--frobnicate"], flag.io)).toBe(2);
    expect(flag.err.join("")).toMatch(/unknown option/);
  });

  it("hands ELF objects to @bpfkit/object or says it cannot", async () => {
    const elf = join(dir, "x.o");
    writeFileSync(elf, new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]));
    const { io, err } = capture();
    const code = await main(["disasm", elf], io);
    // Until @bpfkit/object exports disassembleObject this is a clear error; afterwards the object
    // reader rejects the truncated header. Either way it is bad input.
    expect(code).toBe(2);
    expect(err.join("")).toMatch(/x\.o/);
    expect(err.join("").trim().split("\n")).toHaveLength(1);
  });

  it("disassembles a real object once @bpfkit/object provides it", async () => {
    const object = join(repoRoot, "fixtures", "bpf", "isa-alu.bpf.o");
    const { io, out, err } = capture();
    const code = await main(["disasm", object], io);
    if (code === 2) {
      expect(err.join("")).toMatch(/ELF disassembly .* is not available/);
      return;
    }
    expect(code).toBe(0);
    expect(out.join("")).toContain("isa_alu");
  });
});

describe("bpfkit asm", () => {
  it("assembles uBPF syntax to raw little-endian slots", async () => {
    const src = join(dir, "prog.s");
    const out = join(dir, "out.bin");
    writeFileSync(src, "mov32 %r0, -1\nlddw %r1, 0x123456789\njne %r1, 5, done\nexit\ndone:\nexit\n");
    const { io } = capture();
    expect(await main(["asm", src, "-o", out], io)).toBe(0);
    expect(new Uint8Array(readFileSync(out))).toEqual(program);
  });

  it("assembles the -- asm section of a conformance .data file", async () => {
    const src = join(dir, "case.data");
    const out = join(dir, "case.bin");
    writeFileSync(src, "# header\n-- asm\nmov %r0, 1\nexit\n-- result\n0x1\n");
    expect(await main(["asm", src, "-o", out], capture().io)).toBe(0);
    expect([...readFileSync(out)]).toEqual([0xb7, 0, 0, 0, 1, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
  });

  it("assembles LLVM syntax", async () => {
    const src = join(dir, "prog.llvm");
    const out = join(dir, "llvm.bin");
    writeFileSync(src, "r0 = 0x1\nexit\n");
    expect(await main(["asm", src, "--syntax", "llvm", "-o", out], capture().io)).toBe(0);
    expect([...readFileSync(out)]).toEqual([0xb7, 0, 0, 0, 1, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
  });

  it("names the line of an unknown mnemonic and exits 2", async () => {
    const src = join(dir, "bad.s");
    writeFileSync(src, "mov %r0, 1\nfrob %r0\nexit\n");
    const { io, err } = capture();
    expect(await main(["asm", src, "-o", join(dir, "bad.bin")], io)).toBe(2);
    expect(err.join("")).toMatch(/bad\.s: line 2: unknown mnemonic "frob"/);
    expect(err.join("").trim().split("\n")).toHaveLength(1);
  });

  it("requires -o and an existing file", async () => {
    expect(await main(["asm", join(dir, "prog.s")], capture().io)).toBe(2);
    expect(await main(["asm", join(dir, "missing.s"), "-o", join(dir, "m.bin")], capture().io)).toBe(2);
  });
});
