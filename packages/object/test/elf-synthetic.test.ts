import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encode, insn, lddw } from "@bpfkit/bpf-isa";
import { describe, expect, it } from "vitest";
import { hasTool } from "../../../scripts/test-env.js";
import {
  disassembleObject,
  ElfError,
  readElf,
  SHF_ALLOC,
  SHF_EXECINSTR,
  SHN_XINDEX,
  SHT_PROGBITS,
  SHT_REL,
  SHT_RELA,
  SHT_STRTAB,
  SHT_SYMTAB,
  SHT_SYMTAB_SHNDX,
} from "../src/index.js";
import { buildElf, concat, pack, strtab, sym } from "./elf-builder.js";

/**
 * .text (lddw, call, exit), a symbol table whose function symbol uses SHN_XINDEX, a RELA section
 * with addends and a symbol-0 entry, and a REL section against the .text section symbol.
 */
function corners(endian: "little" | "big", extendedNumbering: boolean): Uint8Array {
  const le = endian === "little";
  const code = encode([lddw(1, 0n), insn(0x85, 0, 1, 0, -1), insn(0xb7, 0), insn(0x95)], { endian });
  const names = strtab("f", "ext");
  const symbols = concat(
    sym(le, 0, 0, 0),
    sym(le, 0, 0x03, 1), // .text section symbol, LOCAL
    sym(le, names.off.f as number, 0x12, SHN_XINDEX, 0, code.length), // GLOBAL FUNC, index in .symtab_shndx
    sym(le, names.off.ext as number, 0x10, 0), // GLOBAL NOTYPE UND
  );
  const rela = concat(
    pack(le, [
      [8, 0],
      [8, (3n << 32n) | 1n],
      [8, 0x10],
    ]),
    pack(le, [
      [8, 16],
      [8, 10],
      [8, -8n],
    ]),
  );
  const rel = pack(le, [
    [8, 0],
    [8, (1n << 32n) | 1n],
  ]);
  return buildElf(
    [
      { name: ".text", type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_EXECINSTR, data: code },
      { name: ".strtab", type: SHT_STRTAB, data: names.data, addralign: 1 },
      { name: ".symtab", type: SHT_SYMTAB, data: symbols, link: 2, info: 2, entsize: 24 },
      {
        name: ".symtab_shndx",
        type: SHT_SYMTAB_SHNDX,
        data: pack(le, [
          [4, 0],
          [4, 0],
          [4, 1],
          [4, 0],
        ]),
        link: 3,
        entsize: 4,
      },
      { name: ".rela.text", type: SHT_RELA, data: rela, link: 3, info: 1, entsize: 24 },
      { name: ".rel.text", type: SHT_REL, data: rel, link: 3, info: 1, entsize: 16 },
    ],
    { endian, extendedNumbering },
  );
}

const variants = [
  ["little", false],
  ["little", true],
  ["big", false],
  ["big", true],
] as const;

describe("readElf on synthetic corner cases", () => {
  it.each(variants)("%s-endian, extended numbering %s", (endian, extended) => {
    const elf = readElf(corners(endian, extended));
    expect(elf.header.endian).toBe(endian);
    expect(elf.header.sectionCount).toBe(8);
    expect(elf.header.sectionNameIndex).toBe(7);
    expect(elf.sections.map((s) => s.name)).toEqual([
      "",
      ".text",
      ".strtab",
      ".symtab",
      ".symtab_shndx",
      ".rela.text",
      ".rel.text",
      ".shstrtab",
    ]);
    const f = elf.symbols[2]!;
    expect(f).toMatchObject({ name: "f", shndx: 1, type: 2, bind: 1, size: 40n });
    expect(f.section?.name).toBe(".text");
    const rela = elf.relocationSections[0]!;
    expect(rela.relocations.map((r) => [r.offset, r.type, r.symbol?.name, r.addend])).toEqual([
      [0n, 1, "ext", 16n],
      [16n, 10, undefined, -8n],
    ]);
    expect(elf.relocationSections[1]!.relocations[0]!.symbol?.type).toBe(3);
  });

  it("prints addends, *ABS* and section symbols like objdump", () => {
    const text = disassembleObject(corners("little", false));
    expect(text).toContain("\t\t0000000000000000:  R_BPF_64_64\text+0x10\n");
    expect(text).toContain("\t\t0000000000000000:  R_BPF_64_64\t.text\n");
    expect(text).toContain("\t\t0000000000000010:  R_BPF_64_32\t*ABS*-0x8\n");
  });

  it.skipIf(!hasTool("llvm-objdump-19"))("matches llvm-objdump-19 on every variant", () => {
    const dir = mkdtempSync(join(tmpdir(), "bpfkit-elf-"));
    for (const [endian, extended] of variants) {
      const path = join(dir, `corners-${endian}-${extended}.o`);
      const bytes = corners(endian, extended);
      writeFileSync(path, bytes);
      const want = execFileSync("llvm-objdump-19", ["-d", "-r", path], { encoding: "utf8" });
      expect(disassembleObject(bytes, { fileName: path })).toBe(want);
    }
  });

  it.skipIf(!hasTool("llvm-objdump-19"))("names relocation types like objdump, unknown ones too", () => {
    const le = true;
    const names = strtab("x");
    const bytes = buildElf([
      {
        name: ".text",
        type: SHT_PROGBITS,
        flags: SHF_ALLOC | SHF_EXECINSTR,
        data: encode([insn(0xb7, 0), insn(0x95)]),
      },
      { name: ".strtab", type: SHT_STRTAB, data: names.data, addralign: 1 },
      {
        name: ".symtab",
        type: SHT_SYMTAB,
        data: concat(sym(le, 0, 0, 0), sym(le, names.off.x as number, 0x10, 0)),
        link: 2,
        info: 1,
        entsize: 24,
      },
      {
        name: ".rel.text",
        type: SHT_REL,
        data: concat(
          pack(le, [
            [8, 0],
            [8, (1n << 32n) | 7n],
          ]),
          pack(le, [
            [8, 8],
            [8, 1n << 32n],
          ]),
        ),
        link: 3,
        info: 1,
        entsize: 16,
      },
    ]);
    const path = join(mkdtempSync(join(tmpdir(), "bpfkit-elf-")), "relnames.o");
    writeFileSync(path, bytes);
    const text = disassembleObject(bytes, { fileName: path });
    expect(text).toContain("\t\t0000000000000000:  Unknown\tx\n");
    expect(text).toContain("\t\t0000000000000008:  R_BPF_NONE\tx\n");
    expect(text).toBe(execFileSync("llvm-objdump-19", ["-d", "-r", path], { encoding: "utf8" }));
  });

  it("rejects an extended section count the file cannot hold", () => {
    const bytes = corners("little", true);
    const v = new DataView(bytes.buffer);
    const shoff = Number(v.getBigUint64(0x28, true));
    v.setBigUint64(shoff + 0x20, 1n << 40n, true);
    expect(() => readElf(bytes)).toThrowError(ElfError);
    expect(() => readElf(bytes)).toThrowError(/extended section count/);
  });

  it("rejects a SHN_XINDEX symbol without an extended index table", () => {
    const bytes = corners("little", false);
    const elf = readElf(bytes);
    const shndxHeader = Number(new DataView(bytes.buffer).getBigUint64(0x28, true)) + 4 * 64;
    new DataView(bytes.buffer).setUint32(shndxHeader + 4, SHT_PROGBITS, true);
    let error: unknown;
    try {
      readElf(bytes);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ElfError);
    expect((error as ElfError).section).toBe(".symtab");
    expect((error as ElfError).offset).toBe(elf.symtab!.offset + 2 * 24 + 6);
  });
});
