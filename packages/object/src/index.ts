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
export { BpfPseudo, toFdArrayForm } from "./loader/insn.js";
export { kernelVersionCode, parseKconfig } from "./loader/kconfig.js";
export type {
  AppliedRelocation,
  LoadedObject,
  LoadedProgram,
  LoadOptions,
  ProgramLine,
  ResolvedExtern,
} from "./loader/load.js";
export { loadObject } from "./loader/load.js";
export type {
  BpfObject,
  ExternKind,
  ObjectExtern,
  ObjectProgram,
  ProgramRelocation,
  RelocationKind,
} from "./loader/object.js";
export type { OpenOptions } from "./loader/open.js";
export { internalMapName, objectNameFromPath, openObject } from "./loader/open.js";
export type { MapOrigin, ObjectMap } from "./maps/map.js";
export { BPF_F_MMAPABLE, BPF_F_RDONLY_PROG, MAP_TYPE_NAMES, mapTypeName } from "./maps/map-types.js";
export type { SecDef } from "./programs/sec-def.js";
export { findSecDef, PROG_TYPE_NAMES, SEC_DEFS } from "./programs/sec-def.js";
