export type { DesignName, TaskVmaDesign } from "./designs/design.js";
export { DESIGN_NAMES } from "./designs/design.js";
export { HeldLockDesign } from "./designs/held-lock.js";
export { SnapshotDesign } from "./designs/snapshot.js";
export type { TaskVmaErrorKind } from "./errors.js";
export { TaskVmaErrno, TaskVmaError } from "./errors.js";
export type { TaskVmaOptions } from "./kfuncs.js";
export {
  createTaskVma,
  designForKernel,
  registerTaskVma,
  TASK_VMA_FLAGS,
  TASK_VMA_PROTOTYPES,
  taskVmaKfuncs,
} from "./kfuncs.js";
export * from "./lab/index.js"; // bpfkit lab engine (issue 8)
export type { TaskVmaLayout } from "./layout.js";
export { LAYOUT_6_18, layoutFromBtf } from "./layout.js";
export type { DesignMeasurement } from "./measure.js";
export { measureDesigns } from "./measure.js";
export type { FileObject } from "./objects.js";
export { KernelObjects, mkdev } from "./objects.js";
export type { CpuContext, TaskVmaStats, TaskVmaSystemOptions, UnlockSlot } from "./system.js";
export { PF_KTHREAD, TaskVmaSystem } from "./system.js";
