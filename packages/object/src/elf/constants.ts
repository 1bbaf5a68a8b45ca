/**
 * ELF constants a BPF object uses (System V gABI; EM_BPF and the R_BPF_* numbers from the kernel's
 * llvm_reloc.rst, spec elf-object.md 1 and 4.1).
 */

/** `e_machine` of BPF objects. */
export const EM_BPF = 247;
/** `e_type` values. */
export const ET_REL = 1;
export const ET_EXEC = 2;
export const ET_DYN = 3;

/** Section types (`sh_type`). */
export const SHT_NULL = 0;
export const SHT_PROGBITS = 1;
export const SHT_SYMTAB = 2;
export const SHT_STRTAB = 3;
export const SHT_RELA = 4;
export const SHT_NOBITS = 8;
export const SHT_REL = 9;
export const SHT_SYMTAB_SHNDX = 18;
export const SHT_LLVM_ADDRSIG = 0x6fff4c03;

/** Section flags (`sh_flags`); code sections carry `SHF_EXECINSTR`. */
export const SHF_WRITE = 0x1;
export const SHF_ALLOC = 0x2;
export const SHF_EXECINSTR = 0x4;

/** Special section indices of `st_shndx`. */
export const SHN_UNDEF = 0;
export const SHN_LORESERVE = 0xff00;
export const SHN_ABS = 0xfff1;
export const SHN_COMMON = 0xfff2;
export const SHN_XINDEX = 0xffff;

/** Symbol binding (`st_info >> 4`). */
export const STB_LOCAL = 0;
export const STB_GLOBAL = 1;
export const STB_WEAK = 2;

/** Symbol type (`st_info & 0xf`). */
export const STT_NOTYPE = 0;
export const STT_OBJECT = 1;
export const STT_FUNC = 2;
export const STT_SECTION = 3;
export const STT_FILE = 4;
export const STT_COMMON = 5;

/** BPF relocation types (spec elf-object.md 4.1). */
export const R_BPF_NONE = 0;
export const R_BPF_64_64 = 1;
export const R_BPF_64_ABS64 = 2;
export const R_BPF_64_ABS32 = 3;
export const R_BPF_64_NODYLD32 = 4;
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
