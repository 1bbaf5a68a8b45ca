export { Errno, KernelMmError } from "./errors.js";
export * from "./maple/constants.js";
export { dupTree } from "./maple/dup.js";
export { type AreaWindow, allocRange, allocRangeRev, emptyArea, emptyAreaRev } from "./maple/gap.js";
export { MapleNode } from "./maple/node.js";
export { MaState } from "./maple/state.js";
export { type MapleStats, MapleTree } from "./maple/tree.js";
export { validateTree } from "./maple/validate.js";
export {
  type FieldLayout,
  MA_STATE_LAYOUT,
  MM_STRUCT_LAYOUT,
  type StructLayout,
  VM_AREA_STRUCT_LAYOUT,
  writeField,
} from "./mm/layout.js";
export {
  DEFAULT_MAX_MAP_COUNT,
  DEFAULT_MMAP_BASE,
  type LockVmaResult,
  MMAP_MIN_ADDR,
  type MmapRequest,
  MmStruct,
  VMA_LOCK_OFFSET,
  VMA_REF_LIMIT,
  type VmaReadFailure,
} from "./mm/mm-struct.js";
export {
  RWSEM_FLAG_HANDOFF,
  RWSEM_FLAG_READFAIL,
  RWSEM_FLAG_WAITERS,
  RWSEM_READER_BIAS,
  RWSEM_WRITER_LOCKED,
  RwSemaphore,
  type RwsemWaiter,
} from "./mm/rwsem.js";
export {
  flagsFromPerms,
  permsOf,
  VM,
  VM_FLAG_MNEMONICS,
  type VmFlagsTable,
  vmFlagsFromSmaps,
  vmFlagsTableFor,
} from "./mm/vm-flags.js";
export { type PgoffSource, VmArea, type VmAreaInit, type VmFile, type VmOpsKind } from "./mm/vma.js";
export { VmaIterator } from "./mm/vma-iterator.js";
export {
  type AddressSpace,
  buildMm,
  confirmPgoff,
  type ImportedVma,
  importSaved,
  importVmas,
  inferPgoff,
  type MapsLine,
  type ProcStat,
  parseMaps,
  parseMapsLine,
  parseSmaps,
  parseStat,
  type SavedProcess,
  type SmapsEntry,
  STACK_TOP_PAGES_4LEVEL,
  STACK_TOP_PAGES_5LEVEL,
  VSYSCALL_START,
} from "./proc/parse-maps.js";
