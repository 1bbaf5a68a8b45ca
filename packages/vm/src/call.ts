import type { Memory, Region } from "./memory.js";
import type { Program } from "./program.js";
import type { Vm } from "./vm.js";

/**
 * What a helper or kfunc returns into r0: a bigint (taken modulo 2^64), a number (an integer; negative
 * values are two's complement), a boolean (1/0), or nothing (r0 = 0).
 */
// biome-ignore lint/suspicious/noConfusingVoidType: a helper without a result simply returns nothing.
export type CallResult = bigint | number | boolean | undefined | void;

/** A helper (by id) or kfunc (by BTF id) registered by the embedder. */
export type CallFn = (call: CallContext) => CallResult;

/**
 * The view a helper or kfunc gets of the machine during one call: typed access to r1..r5 and to
 * guest memory. One object per VM is reused for every call, so do not keep it after returning.
 */
export class CallContext {
  /** Slot index of the call instruction. */
  insn = 0;
  /** Helper id or kfunc BTF id being called. */
  id = 0;
  /** @internal Set by `stop`. */
  stopped = false;
  /** @internal Set by `tailCall`. */
  tailTarget: Program | undefined = undefined;

  constructor(
    readonly vm: Vm,
    readonly memory: Memory,
    /** @internal The live register file: lo word of rN at 2N, hi word at 2N+1. */
    public regs: Int32Array,
  ) {}

  /** rN (1..5 are the arguments) as an unsigned 64-bit bigint. */
  arg(n: number): bigint {
    const r = this.regs;
    return (BigInt((r[2 * n + 1] as number) >>> 0) << 32n) | BigInt((r[2 * n] as number) >>> 0);
  }

  /** rN as a signed 64-bit bigint. */
  argSigned(n: number): bigint {
    return BigInt.asIntN(64, this.arg(n));
  }

  /** Low 32 bits of rN, unsigned. */
  argU32(n: number): number {
    return (this.regs[2 * n] as number) >>> 0;
  }

  /** Low 32 bits of rN, signed. */
  argI32(n: number): number {
    return this.regs[2 * n] as number;
  }

  /** rN as an unsigned number; exact below 2^53 (sizes, lengths, flags). */
  argNumber(n: number): number {
    return ((this.regs[2 * n + 1] as number) >>> 0) * 0x100000000 + ((this.regs[2 * n] as number) >>> 0);
  }

  /** The region and offset rN points into, or undefined (null, scalar, unmapped). */
  argPointer(n: number): { region: Region; offset: number } | undefined {
    return this.memory.resolve(this.arg(n));
  }

  /** Ends the program once this call returns, with `r0` as its return value. */
  stop(r0: bigint | number = 0): void {
    this.stopped = true;
    this.vm.setRegister(0, BigInt(r0));
  }

  /**
   * Runs the subprogram at a code address (an `lddw` of a `BPF_PSEUDO_FUNC`, e.g. a `bpf_loop`
   * callback) in a new frame with the given arguments and returns its r0. Counts toward the frame
   * limit and the instruction budget.
   */
  invoke(codeAddress: bigint, ...args: bigint[]): bigint {
    return this.vm.invoke(codeAddress, args);
  }
}
