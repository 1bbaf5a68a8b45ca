/**
 * ELF constants a BPF object uses (System V gABI; EM_BPF and the R_BPF_* numbers from the kernel's
 * llvm_reloc.rst, spec elf-object.md 1 and 4.1).
 */

/** `e_machine` of BPF objects (both byte orders). */
export const EM_BPF = 247;
/** `e_type` of a relocatable object: every clang `-c` BPF object. */
export const ET_REL = 1;
/** `e_type` of an executable (not produced for BPF; read for completeness). */
export const ET_EXEC = 2;
/** `e_type` of a shared object (not produced for BPF; read for completeness). */
export const ET_DYN = 3;

/** `sh_type` of the unused section 0. */
export const SHT_NULL = 0;
/** `sh_type` of sections with contents: code, `.data`, `.rodata`, `.maps`, `.BTF`, `license`. */
export const SHT_PROGBITS = 1;
/** `sh_type` of `.symtab` (entries of 24 bytes, names in the section `sh_link` names). */
export const SHT_SYMTAB = 2;
/** `sh_type` of string tables (`.strtab`, the section-name table). */
export const SHT_STRTAB = 3;
/** `sh_type` of relocations with explicit addends (not emitted for BPF, which uses REL). */
export const SHT_RELA = 4;
/** `sh_type` of zero-filled sections that take no file space (`.bss`). */
export const SHT_NOBITS = 8;
/** `sh_type` of relocations without addends: `.rel<section>`, entries of 16 bytes. */
export const SHT_REL = 9;
/** `sh_type` of the extended section indices of symbols whose `st_shndx` is `SHN_XINDEX`. */
export const SHT_SYMTAB_SHNDX = 18;
/** `sh_type` of `.llvm_addrsig` (address-significance table, ignored by loaders). */
export const SHT_LLVM_ADDRSIG = 0x6fff4c03;

/** `sh_flags` bit: writable at run time (`.data`, `.bss`, `.maps`). */
export const SHF_WRITE = 0x1;
/** `sh_flags` bit: occupies memory at run time. */
export const SHF_ALLOC = 0x2;
/** `sh_flags` bit: holds instructions; the sections objdump disassembles and libbpf loads. */
export const SHF_EXECINSTR = 0x4;

/** `st_shndx` of undefined symbols (externs such as kfuncs). */
export const SHN_UNDEF = 0;
/** First reserved `st_shndx`; values from here on are not section indices. */
export const SHN_LORESERVE = 0xff00;
/** `st_shndx` of absolute symbols. */
export const SHN_ABS = 0xfff1;
/** `st_shndx` of common (tentative) symbols, which libbpf rejects. */
export const SHN_COMMON = 0xfff2;
/** Escape value: the real index is in `SHT_SYMTAB_SHNDX` (or, in the file header, in section 0). */
export const SHN_XINDEX = 0xffff;

/** Symbol binding (`st_info >> 4`): local (static functions and variables). */
export const STB_LOCAL = 0;
/** Symbol binding: global (programs, global variables, externs). */
export const STB_GLOBAL = 1;
/** Symbol binding: weak (`__weak` externs may stay unresolved). */
export const STB_WEAK = 2;

/** Symbol type (`st_info & 0xf`): none (externs, asm labels). */
export const STT_NOTYPE = 0;
/** Symbol type: a variable. */
export const STT_OBJECT = 1;
/** Symbol type: a function (program or subprogram). */
export const STT_FUNC = 2;
/** Symbol type: a section symbol, named after its section by tools. */
export const STT_SECTION = 3;
/** Symbol type: the source file name. */
export const STT_FILE = 4;
/** Symbol type: a common symbol. */
export const STT_COMMON = 5;

/** BPF relocation type (spec elf-object.md 4.1): none. */
export const R_BPF_NONE = 0;
/** BPF relocation: the 32-bit imm of an `lddw` (maps, globals, externs, callbacks). */
export const R_BPF_64_64 = 1;
/** BPF relocation: a 64-bit data word (`.data` pointers, DWARF). */
export const R_BPF_64_ABS64 = 2;
/** BPF relocation: a 32-bit data word (DWARF, `.BTF`). */
export const R_BPF_64_ABS32 = 3;
/** BPF relocation: a 32-bit word in `.BTF`/`.BTF.ext` that loaders leave alone. */
export const R_BPF_64_NODYLD32 = 4;
/** BPF relocation: the imm of a `call` (kfuncs, global subprograms, static ones via the section). */
export const R_BPF_64_32 = 10;

const RELOC_NAMES: Readonly<Record<number, string>> = {
  [R_BPF_NONE]: "R_BPF_NONE",
  [R_BPF_64_64]: "R_BPF_64_64",
  [R_BPF_64_ABS64]: "R_BPF_64_ABS64",
  [R_BPF_64_ABS32]: "R_BPF_64_ABS32",
  [R_BPF_64_NODYLD32]: "R_BPF_64_NODYLD32",
  [R_BPF_64_32]: "R_BPF_64_32",
};

/** Name of a BPF relocation type as LLVM prints it; `"Unknown"` for numbers it has no name for. */
export function bpfRelocationName(type: number): string {
  return RELOC_NAMES[type] ?? "Unknown";
}
