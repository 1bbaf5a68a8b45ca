import type { RunStats } from "./stats.js";

/**
 * What stopped a program or refused to load it: `load` (the program cannot be executed as
 * encoded), `access` (outside every region or beyond one), `permission` (a region that forbids the
 * access), `misaligned` (atomics), `call` (no such helper/kfunc/subprogram, or the embedder's
 * function threw), `depth` (more than 8 frames), `budget` (instruction limit), `time` (wall-time
 * limit).
 */
export type VmErrorKind =
  | "load"
  | "access"
  | "permission"
  | "misaligned"
  | "call"
  | "depth"
  | "budget"
  | "time";

export interface VmErrorFields {
  kind: VmErrorKind;
  /** Slot index of the instruction that faulted (or failed to load). */
  insn?: number;
  /** Guest address of a faulting memory access. */
  address?: bigint;
  /** Bytes of a faulting memory access. */
  size?: number;
  /** Name of the region the address falls in, when it falls in one. */
  region?: string;
  access?: "read" | "write";
}

/**
 * The one error class of `@bpfkit/vm`. A run that faults throws it with the statistics gathered
 * up to the fault, so nothing outside the guest's regions is ever touched.
 */
export class VmError extends Error {
  readonly isInputError = true;
  readonly kind: VmErrorKind;
  readonly insn: number | undefined;
  readonly address: bigint | undefined;
  readonly size: number | undefined;
  readonly region: string | undefined;
  readonly access: "read" | "write" | undefined;
  /** Statistics of the run up to the fault (set by `Vm.run`). */
  stats: RunStats | undefined;

  constructor(message: string, fields: VmErrorFields) {
    super(message);
    this.name = "VmError";
    this.kind = fields.kind;
    this.insn = fields.insn;
    this.address = fields.address;
    this.size = fields.size;
    this.region = fields.region;
    this.access = fields.access;
  }
}
