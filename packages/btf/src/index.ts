export type { BtfFieldLocation } from "./btf.js";
export { Btf, MAX_RESOLVE_DEPTH } from "./btf.js";
export { CORE_POISON_IMM, CORE_RELO_KIND_NAMES, CoreReloKind, coreReloKindName } from "./core/kinds.js";
export { fieldsCompat, typesCompat, typesMatch } from "./core/match.js";
export type { CoreCandidate, CoreRelo, CoreReloResult, CoreTarget } from "./core/relocate.js";
export { CoreRelocator, patchCoreInsn } from "./core/relocate.js";
export type { CoreAccessor, CoreSpec } from "./core/spec.js";
export { essentialName, essentialNameLength, formatCoreSpec, parseCoreSpec } from "./core/spec.js";
export type { CDumperOptions, DumpCOptions } from "./dump-c.js";
export { CDumper, dumpC, sortedTypeIds } from "./dump-c.js";
export { dumpRaw, dumpRawType } from "./dump-raw.js";
export { findElfSection, isElf } from "./elf-section.js";
export type { BtfTypeInput, EncodeOptions } from "./encode.js";
export { BtfBuilder, encodeBtf, encodeBtfTypes } from "./encode.js";
export { BtfError } from "./error.js";
export type {
  BtfExt,
  BtfExtCoreRelo,
  BtfExtFuncInfo,
  BtfExtLineInfo,
  BtfExtSection,
  BtfStrings,
} from "./ext.js";
export { parseBtfExt } from "./ext.js";
export type { BtfKindName } from "./kinds.js";
export { BTF_MAGIC, BtfIntEncoding, BtfKind, BtfLinkage, KIND_NAMES } from "./kinds.js";
export type { ParseBtfOptions } from "./parse.js";
export { BTF_MAX_NAME_OFFSET, BTF_MAX_TYPE, parseBtf, parseBtfHeader } from "./parse.js";
export type * from "./types.js";
