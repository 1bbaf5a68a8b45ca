export type { ContextSpec } from "./context.js";
export { contextFor, rewriteContextAccess, SK_BUFF_SIZE, XDP_MD_SIZE } from "./context.js";
export { Errno, errnoName } from "./errno.js";
export type { RuntimeErrorFields, RuntimeErrorKind } from "./error.js";
export { RuntimeError } from "./error.js";
export type { HelperImpl } from "./helpers/index.js";
export { BPF_LOOP_MAX, formatPrintf, HELPERS_BY_NAME } from "./helpers/index.js";
export type { ImageMap, Instance, ObjectImage } from "./instantiate.js";
export { instantiate } from "./instantiate.js";
export { BITS_ITER_NR_WORDS_MAX, BPF_MAX_LOOPS, GENERIC_KFUNCS } from "./kfuncs/generic.js";
export type { KfuncDef, KfuncImpl } from "./kfuncs/registry.js";
export { KF, KfuncRegistry } from "./kfuncs/registry.js";
export { ArrayMap } from "./maps/array.js";
export {
  BPF_LOCAL_STORAGE_GET_F_CREATE,
  MAP_TYPE_NAMES,
  MapFlag,
  MapType,
  UpdateFlag,
} from "./maps/constants.js";
export type { MapFactoryHost } from "./maps/create.js";
export { checkMapSpec, createMap } from "./maps/create.js";
export type { DumpEntry, DumpValue } from "./maps/dump.js";
export { dumpJson, dumpMap, formatBtf, hexBytes } from "./maps/dump.js";
export type { FdResolver, FdTarget } from "./maps/fd-maps.js";
export { FdMap } from "./maps/fd-maps.js";
export { HashMap } from "./maps/hash.js";
export type { MapEntry, MapHost, MapSpec, SysResult } from "./maps/map.js";
export { BpfMap } from "./maps/map.js";
export { QueueMap } from "./maps/queue.js";
export { RINGBUF_HDR_SZ, RingbufMap, RingbufQuery } from "./maps/ringbuf.js";
export type { StorageOwner } from "./maps/task-storage.js";
export { TaskStorageMap } from "./maps/task-storage.js";
export { imageFromObject } from "./object-image.js";
export type { RunReport } from "./report.js";
export { parseHex, runReport } from "./report.js";
export type {
  Clock,
  ProgramSpec,
  ProgType,
  RunInput,
  RunOutput,
  RuntimeOptions,
} from "./runtime.js";
export {
  createRuntime,
  defaultKfuncs,
  helperIdOf,
  hostClock,
  Runtime,
  RuntimeProgram,
  steppingClock,
} from "./runtime.js";
export type { SystemSnapshot, Task, TaskInfo, TaskLayout } from "./tasks.js";
export { FALLBACK_TASK_LAYOUT, parseSnapshot, TaskTable, taskLayout } from "./tasks.js";
