import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../../scripts/test-env.js";
import {
  ElfError,
  EM_BPF,
  ET_REL,
  R_BPF_64_32,
  R_BPF_64_64,
  readElf,
  SHF_EXECINSTR,
  SHT_NOBITS,
  SHT_REL,
  STB_GLOBAL,
  STB_LOCAL,
  STT_FUNC,
  STT_NOTYPE,
  STT_OBJECT,
} from "../src/index.js";

const fixture = (name: string) => new Uint8Array(readFileSync(join(repoRoot, "fixtures", "bpf", name)));

// example.bpf.c is the program of spec elf-object.md section 9; these are the facts listed there.
describe("readElf on the spec's worked example", () => {
  const elf = readElf(fixture("example.bpf.o"));

  it("reads the header", () => {
    expect(elf.header).toMatchObject({
      endian: "little",
      type: ET_REL,
      machine: EM_BPF,
      flags: 0,
      sectionCount: 31,
    });
  });

  it("names the sections and classifies code, data and relocation sections", () => {
    const names = elf.sections.map((s) => s.name);
    expect(names.slice(0, 10)).toEqual([
      "",
      ".strtab",
      ".text",
      "syscall",
      ".relsyscall",
      "license",
      ".bss",
      ".data",
      ".rodata",
      ".maps",
    ]);
    const code = elf.sections.filter((s) => (s.flags & BigInt(SHF_EXECINSTR)) !== 0n).map((s) => s.name);
    expect(code).toEqual([".text", "syscall"]);
    const text = elf.sections[2]!;
    expect(text.size).toBe(0x20n);
    expect(text.data.length).toBe(0x20);
    expect(elf.sections[3]!.size).toBe(0x1b8n);
    const bss = elf.sections[6]!;
    expect(bss.type).toBe(SHT_NOBITS);
    expect(bss.data.length).toBe(0);
    expect(new TextDecoder().decode(elf.sections[5]!.data)).toBe("GPL\0");
  });

  it("reads the symbols", () => {
    const sym = (name: string) => elf.symbols.find((s) => s.name === name)!;
    expect(sym("vma_len")).toMatchObject({ type: STT_FUNC, bind: STB_LOCAL, size: 32n, shndx: 2 });
    expect(sym("count_vmas")).toMatchObject({ type: STT_FUNC, bind: STB_GLOBAL, size: 440n, shndx: 3 });
    expect(sym("target_pid")).toMatchObject({ type: STT_OBJECT, size: 4n, shndx: 7 });
    expect(sym("min_len")).toMatchObject({ size: 8n, shndx: 8 });
    expect(sym("total_len")).toMatchObject({ size: 8n, shndx: 6 });
    expect(sym("counts")).toMatchObject({ size: 32n, shndx: 9 });
    expect(sym("LICENSE")).toMatchObject({ size: 4n, shndx: 5 });
    const kfuncs = elf.symbols.filter((s) => s.shndx === 0 && s.bind === STB_GLOBAL && s.type === STT_NOTYPE);
    expect(kfuncs.map((s) => s.name).sort()).toEqual([
      "bpf_iter_task_vma_destroy",
      "bpf_iter_task_vma_new",
      "bpf_iter_task_vma_next",
      "bpf_task_from_pid",
      "bpf_task_release",
    ]);
    expect(sym("count_vmas").section?.name).toBe("syscall");
  });

  it("reads the program relocations of .relsyscall", () => {
    const rel = elf.relocationSections.find((r) => r.section.name === ".relsyscall")!;
    expect(rel.section.type).toBe(SHT_REL);
    expect(rel.target.name).toBe("syscall");
    const rows = rel.relocations.map((r) => [Number(r.offset), r.type, r.symbol?.name]);
    expect(rows).toEqual([
      [0x10, R_BPF_64_64, "target_pid"],
      [0x28, R_BPF_64_32, "bpf_task_from_pid"],
      [0x78, R_BPF_64_32, "bpf_iter_task_vma_new"],
      [0x88, R_BPF_64_32, "bpf_iter_task_vma_next"],
      [0x98, R_BPF_64_64, "min_len"],
      [0xa8, R_BPF_64_64, "total_len"],
      [0xf0, R_BPF_64_32, "bpf_iter_task_vma_next"],
      [0x110, R_BPF_64_32, "bpf_iter_task_vma_destroy"],
      [0x120, R_BPF_64_32, "bpf_task_release"],
      [0x138, R_BPF_64_64, "counts"],
      [0x180, R_BPF_64_32, ""], // the .text section symbol
    ]);
    expect(rel.relocations.at(-1)?.symbol?.section?.name).toBe(".text");
    const counts = Object.fromEntries(
      elf.relocationSections.map((r) => [r.section.name, r.relocations.length]),
    );
    expect(counts).toMatchObject({ ".rel.BTF": 10, ".rel.BTF.ext": 29, ".rel.debug_info": 6 });
  });
});

describe("readElf byte orders", () => {
  it("reads a big-endian (bpfeb) object to the same structure", () => {
    const elf = readElf(fixture("big-endian.bpf.o"));
    expect(elf.header.endian).toBe("big");
    expect(elf.header.machine).toBe(EM_BPF);
    const prog = elf.symbols.find((s) => s.name === "be_prog")!;
    expect(prog).toMatchObject({
      type: STT_FUNC,
      bind: STB_GLOBAL,
      shndx: elf.sections.findIndex((s) => s.name === "syscall"),
    });
    const rel = elf.relocationSections.find((r) => r.target.name === "syscall")!;
    expect(rel.relocations.map((r) => r.symbol?.name)).toContain("be_total");
    expect(rel.relocations.every((r) => r.offset % 8n === 0n)).toBe(true);
  });
});

describe("readElf rejects malformed files with the section and offset", () => {
  const good = fixture("example.bpf.o");
  const catchElf = (bytes: Uint8Array): ElfError => {
    try {
      readElf(bytes);
    } catch (error) {
      expect(error).toBeInstanceOf(ElfError);
      return error as ElfError;
    }
    throw new Error("readElf accepted a malformed file");
  };

  it("a file that is not ELF", () => {
    const e = catchElf(new TextEncoder().encode("this is not an object file at all, really"));
    expect(e.message).toMatch(/not an ELF file/);
    expect(e.offset).toBe(0);
    expect(e.isInputError).toBe(true);
  });

  it("a 32-bit ELF", () => {
    const b = good.slice();
    b[4] = 1;
    expect(catchElf(b).message).toMatch(/ELF class 1/);
  });

  it("a header cut short", () => {
    const e = catchElf(good.subarray(0, 40));
    expect(e.kind).toBe("truncated");
    expect(e.message).toMatch(/too short for an ELF64 header/);
  });

  it("a section header table past the end", () => {
    const e = catchElf(good.subarray(0, good.length - 100));
    expect(e.message).toMatch(/section header table at 0x9cec0 .* runs past the end of the file/);
    expect(e.offset).toBe(0x28);
  });

  it("section contents past the end name the section", () => {
    const elf = readElf(good);
    const symtab = elf.symtab!;
    const b = good.slice();
    const view = new DataView(b.buffer);
    // Point .symtab's sh_offset near the end of the file.
    const shoff = Number(view.getBigUint64(0x28, true));
    view.setBigUint64(shoff + symtab.index * 64 + 0x18, BigInt(b.length - 16), true);
    const e = catchElf(b);
    expect(e.section).toBe(".symtab");
    expect(e.offset).toBe(shoff + symtab.index * 64 + 0x18);
    expect(e.message).toMatch(/contents of '.symtab'/);
  });

  it("a relocation against a symbol that does not exist", () => {
    const elf = readElf(good);
    const rel = elf.relocationSections.find((r) => r.section.name === ".relsyscall")!;
    const b = good.slice();
    const view = new DataView(b.buffer);
    view.setUint32(rel.section.offset + 8 + 4, 9999, true); // r_info high half of entry 0
    const e = catchElf(b);
    expect(e.section).toBe(".relsyscall");
    expect(e.offset).toBe(rel.section.offset + 8);
    expect(e.message).toMatch(/refers to symbol 9999/);
  });

  it("a symbol name outside the string table", () => {
    const elf = readElf(good);
    const b = good.slice();
    new DataView(b.buffer).setUint32(elf.symtab!.offset + 24, 0xffffff, true);
    const e = catchElf(b);
    expect(e.message).toMatch(/name of symbol #1 at string offset 16777215 is outside '.strtab'/);
    expect(e.offset).toBe(elf.symtab!.offset + 24);
  });
});
