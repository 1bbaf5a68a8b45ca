import type { VmError } from "../error.js";
import type { Memory } from "../memory.js";
import type { Program } from "../program.js";

/**
 * What compiled code sees of the VM: the same slow paths the interpreter calls (limits, calls,
 * frames, faults), its register words and counters, and three hand-off fields through which a
 * compiled function tells the driver where to continue. `Vm` builds one per instance; the compiled
 * functions themselves are shared by every VM that runs the program.
 */
export interface EngineHost {
  readonly memory: Memory;
  /** The register file (lo word of rN at 2N, hi word at 2N+1): read at entry, written before every call out. */
  regs: Int32Array;
  readonly mayGoto: Int32Array;
  readonly frameRet: Int32Array;
  /**
   * [n, lim]: instructions since the last fold (the interpreter's `n`) and the `n` at which a taken
   * jump must check the budgets (its `lim`), copies of the VM's counters that `load` refreshes and
   * `commit` writes back. The call methods below do both around the call.
   */
  readonly counters: Float64Array;
  load(): void;
  commit(): void;
  /** The program the VM considers current (changed by a tail call). */
  readonly prog: Program;
  /** Hand-off to the driver: slot, depth and program to continue with. */
  pc: number;
  depth: number;
  next: Program | undefined;
  /** Set by `checkLimits` when it returns -1: the budget or time fault, thrown once the registers are spilled. */
  pending: VmError | undefined;
  /** Folds `n` and returns the next limit rounded up, or -1 (with `pending` set) when a budget ran out. */
  checkLimits(n: number, slot: number): number;
  /** 0 continue, 1 stop, 2 the current frame now runs `prog` (tail call). */
  callHelper(id: number, slot: number, depth: number): number;
  callKfunc(btfId: number, slot: number, depth: number): number;
  pushFrame(prog: Program, retSlot: number, depth: number, slot: number): void;
  popFrame(depth: number): Program;
  codeTarget(prog: Program, hi: number, lo: number): number;
  /** A fault of `kind` at `slot`; records `n` first so the run's statistics are exact. */
  fault(kind: VmError["kind"], why: string, slot: number, n: number): VmError;
  memFault(hi: number, lo: number, size: number, write: boolean, slot: number, n: number): VmError;
  /** The atomic instruction at code word `i` on the VM's registers; returns its fault, if any. */
  atomic(code: Int32Array, i: number, slot: number, n: number): VmError | undefined;
  /** Legacy packet load of the slot at code word `i`; false when out of bounds. */
  ldPacket(code: Int32Array, i: number, indirect: boolean, slot: number): boolean;
}

/** Return codes of a compiled function. */
export const DONE = 0;
/** The driver must continue in `host.next` at `host.pc`, frame `host.depth`. */
export const SWITCH = 1;
/** `host.pc` is no entry of this compilation: recompile with it as one and continue there. */
export const ENTRY = 2;

/** A translated program: `(host, program, pc, depth, baseDepth) => DONE | SWITCH | ENTRY`. */
export type CompiledFn = (h: EngineHost, prog: Program, pc: number, depth: number, base: number) => number;
