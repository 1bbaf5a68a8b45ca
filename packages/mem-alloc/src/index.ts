export type { AllocatorKind, MemAllocOptions } from "./allocator.js";
export { BpfMemAlloc, ObjectState, ZERO_SIZE_PTR } from "./allocator.js";
export { MemCache } from "./cache.js";
export type { MemAllocErrorKind } from "./errors.js";
export { MemAllocError } from "./errors.js";
export type { AllocatorHost, GracePeriodKind } from "./host.js";
export type { PendingGracePeriod } from "./manual-host.js";
export { ManualHost } from "./manual-host.js";
export type { KernelProfile, KernelProfileName } from "./profile.js";
export { KERNEL_PROFILES } from "./profile.js";
export type {
  ContextKind,
  InvocationInfo,
  IrqWorkMode,
  ProgramSpec,
  ResolvedSimConfig,
  SimConfig,
  WorkloadSpec,
} from "./sim/config.js";
export { EventQueue } from "./sim/event-queue.js";
export { Prng } from "./sim/prng.js";
export type { FrameKind, SimResult, TraceEvent, WorkloadStats } from "./sim/simulator.js";
export { Simulator, simulate } from "./sim/simulator.js";
export {
  checkAllocSize,
  classIndexForPadded,
  classIndexForRequest,
  E2BIG,
  HEADER_SIZE,
  MAX_PERCPU_REQUEST,
  MAX_REQUEST,
  MAX_UNIT_SIZE,
  NUM_CACHES,
  PERCPU_HOLDER_SIZE,
  SIZE_CLASSES,
} from "./size-classes.js";
export type { AllocStats, FailureCause } from "./stats.js";
export type { Watermarks } from "./watermarks.js";
export { watermarksFor } from "./watermarks.js";
