export type { CallFn, CallResult } from "./call.js";
export { CallContext } from "./call.js";
export { compileToSource } from "./compile/codegen.js";
export type { VmErrorFields, VmErrorKind } from "./error.js";
export { VmError } from "./error.js";
export type { RegionKind, RegionOptions } from "./memory.js";
export { CODE_HI, MAX_REGIONS, Memory, REGION_HI_BASE, Region } from "./memory.js";
export type { LddwResolver, LoadOptions, Program } from "./program.js";
export { loadProgram } from "./program.js";
export type { RunStats } from "./stats.js";
export type { Engine, RunOptions, RunResult, VmOptions } from "./vm.js";
export {
  BPF_FUNC_TAIL_CALL,
  ENGINES,
  MAX_FRAMES,
  MAX_TAIL_CALLS,
  MAY_GOTO_BUDGET,
  STACK_SIZE,
  Vm,
} from "./vm.js";
