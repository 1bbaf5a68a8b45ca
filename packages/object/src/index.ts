export type { CoreRelocation } from "./disasm/core-relo.js";
export { describeCoreRelocation } from "./disasm/core-relo.js";
export type { DisasmSyntax, DisassembleOptions } from "./disasm/objdump.js";
export { disassembleObject } from "./disasm/objdump.js";
export * from "./elf/constants.js";
export type {
  ElfFile,
  ElfHeader,
  ElfRelocation,
  ElfRelocationSection,
  ElfSection,
  ElfSymbol,
} from "./elf/read.js";
export { readElf } from "./elf/read.js";
export type { ElfErrorKind } from "./error.js";
export { ElfError } from "./error.js";
