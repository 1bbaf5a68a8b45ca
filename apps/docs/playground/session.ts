import type { Instruction } from "@bpfkit/bpf-isa";
import {
  assembleUbpf,
  BpfIsaError,
  encode,
  parseLlvm,
  printKernel,
  printKernelInsn,
  printLlvm,
  slotCount,
  validate,
} from "@bpfkit/bpf-isa";
import type { RunStats } from "@bpfkit/vm";
import { loadProgram, Vm, VmError } from "@bpfkit/vm";
import { formatHex, parseHex } from "./hex.js";

/**
 * Input syntaxes the assembler side of the playground reads: uBPF's (`mov %r0, 1`, labels,
 * `call local name`) and llvm-objdump's (`r0 = 1`, numeric `goto +N` offsets, no labels).
 */
export type Syntax = "ubpf" | "llvm";

/** Registers the trace and the register table show: r0..r10. */
export const REGISTER_COUNT = 11;
/** Default instruction budget of a run, so an endless loop stops with a `budget` fault. */
export const DEFAULT_MAX_INSNS = 1_000_000;
/** Default number of trace rows kept; the run goes on past it, untraced. */
export const DEFAULT_TRACE_LIMIT = 2000;

/** One instruction of the assembled program in every view the page shows. */
export interface ListingRow {
  /** Slot index (jump offsets count slots; `lddw` takes two). */
  slot: number;
  /** The instruction's 8 or 16 bytes as hex pairs. */
  hex: string;
  /** llvm-objdump-19's text, or `<unknown>` where LLVM would not decode it. */
  llvm: string;
  /** The kernel verifier's text, `(code) ` prefix included. */
  kernel: string;
}

export interface Listing {
  insns: Instruction[];
  bytes: Uint8Array;
  rows: ListingRow[];
  /** The program as llvm-objdump prints raw slots: `slot:\tbytes\ttext`. */
  llvmText: string;
  /** The program as the verifier log prints it: `slot: (code) text`. */
  kernelText: string;
  /** Encoding problems the kernel would refuse at load, with its messages (not run-time faults). */
  issues: { slot: number; message: string }[];
}

/** Where and why a run stopped early, with the VM's structured fields. */
export interface Fault {
  kind: string;
  message: string;
  /** Slot of the faulting instruction. */
  slot: number | undefined;
  address: bigint | undefined;
  size: number | undefined;
  region: string | undefined;
  access: "read" | "write" | undefined;
}

export interface RegisterChange {
  reg: number;
  before: bigint;
  after: bigint;
}

/** One executed instruction and what it changed. */
export interface TraceRow {
  /** 1-based count of executed instructions. */
  step: number;
  slot: number;
  /** Call depth: 0 in the main program, 1 inside its first bpf-to-bpf callee, ... */
  depth: number;
  text: string;
  /** Registers whose value differs after the instruction ran (empty for the faulting one). */
  changes: RegisterChange[];
  faulted: boolean;
}

export interface RunOutcome {
  /** r0 at the final exit; undefined when the run faulted. */
  r0: bigint | undefined;
  /** r0..r10 when the run ended (at the fault, if any). */
  registers: bigint[];
  stats: RunStats | undefined;
  fault: Fault | undefined;
  trace: TraceRow[];
  /** More instructions ran than the trace kept. */
  traceTruncated: boolean;
  /** The buffer as the program left it. */
  memoryAfter: Uint8Array;
  /** Guest address the program saw in r1. */
  memoryAddress: bigint;
}

export interface RunRequest {
  maxInsns?: number;
  traceLimit?: number;
}

/** What one press of Run produces: the listing, the run, or the error that stopped either. */
export interface SessionResult {
  listing?: Listing;
  run?: RunOutcome;
  /** An assembler or memory-input error, one line, with the line number where it applies. */
  error?: string;
}

/** Parses `source` in `syntax`; throws `BpfIsaError` with the line on bad input. */
export function assemble(source: string, syntax: Syntax): Listing {
  const insns = syntax === "llvm" ? parseLlvm(source) : assembleUbpf(source);
  if (insns.length === 0) throw new BpfIsaError("the program is empty", { kind: "syntax" });
  return listing(insns);
}

/** The views of a decoded or assembled program. */
export function listing(insns: Instruction[]): Listing {
  const bytes = encode(insns);
  const rows: ListingRow[] = [];
  let slot = 0;
  let llvmText = "";
  for (const insn of insns) {
    const width = slotCount(insn);
    const hex = formatHex(bytes.subarray(slot * 8, (slot + width) * 8), 16);
    const llvm = printLlvm(insn) ?? "<unknown>";
    rows.push({ slot, hex, llvm, kernel: printKernelInsn(insn) });
    llvmText += `${String(slot).padStart(8)}:\t${hex}\t${llvm}\n`;
    slot += width;
  }
  const slots = rows.map((r) => r.slot);
  const issues = validate(insns).map((i) => ({ slot: slots[i.insn] ?? i.insn, message: i.message }));
  return { insns, bytes, rows, llvmText, kernelText: printKernel(insns), issues };
}

/**
 * Runs the program with r1 = a pointer to a copy of `memory` and r2 = its length, as the
 * bpf_conformance plugin does, recording a trace of the first `traceLimit` instructions. No
 * helpers are registered: a helper call faults with kind `call`.
 */
export function run(listing: Listing, memory: Uint8Array, request: RunRequest = {}): RunOutcome {
  const vm = new Vm();
  const region = vm.memory.map(memory.slice(), { name: "mem", kind: "memory" });
  const outcome: RunOutcome = {
    r0: undefined,
    registers: [],
    stats: undefined,
    fault: undefined,
    trace: [],
    traceTruncated: false,
    memoryAfter: region.bytes,
    memoryAddress: region.base,
  };
  let program: ReturnType<typeof loadProgram>;
  try {
    program = loadProgram(listing.insns, { name: "playground" });
  } catch (error) {
    if (!(error instanceof VmError)) throw error;
    outcome.fault = faultOf(error);
    return outcome;
  }
  const textAt = new Map<number, string>();
  for (const row of listing.rows) textAt.set(row.slot, row.llvm);
  const limit = request.traceLimit ?? DEFAULT_TRACE_LIMIT;
  const trace = outcome.trace;
  let before: bigint[] = [];
  let step = 0;
  const registers = () => Array.from({ length: REGISTER_COUNT }, (_, n) => vm.register(n));
  // The VM calls this before each instruction, so the previous row's changes are the difference
  // between the registers now and the ones seen before it ran.
  const tracer = (slot: number, depth: number) => {
    step++;
    if (step > limit + 1) return;
    const now = registers();
    const last = trace[trace.length - 1];
    if (last) last.changes = changes(before, now);
    before = now;
    if (step > limit) {
      outcome.traceTruncated = true;
      return;
    }
    trace.push({ step, slot, depth, text: textAt.get(slot) ?? "?", changes: [], faulted: false });
  };
  try {
    const result = vm.run(program, {
      args: [region.base, BigInt(memory.length)],
      maxInsns: request.maxInsns ?? DEFAULT_MAX_INSNS,
      trace: tracer,
    });
    outcome.r0 = result.r0;
    outcome.stats = result.stats;
    const last = trace[trace.length - 1];
    if (last && !outcome.traceTruncated) last.changes = changes(before, registers());
  } catch (error) {
    if (!(error instanceof VmError)) throw error;
    outcome.fault = faultOf(error);
    outcome.stats = error.stats;
    const last = trace[trace.length - 1];
    if (last && !outcome.traceTruncated && last.slot === error.insn) last.faulted = true;
  }
  outcome.registers = registers();
  return outcome;
}

/** Assembles and runs in one go, turning input errors into `error` instead of throwing. */
export function session(
  source: string,
  syntax: Syntax,
  memoryHex: string,
  request?: RunRequest,
): SessionResult {
  let assembled: Listing;
  try {
    assembled = assemble(source, syntax);
  } catch (error) {
    if (error instanceof BpfIsaError) return { error: describeIsaError(error, syntax) };
    throw error;
  }
  const memory = parseHex(memoryHex);
  if ("error" in memory) return { listing: assembled, error: memory.error };
  return { listing: assembled, run: run(assembled, memory.bytes, request) };
}

function describeIsaError(error: BpfIsaError, syntax: Syntax): string {
  const where = error.line === undefined ? "" : ` (line ${error.line})`;
  const name = syntax === "llvm" ? "LLVM syntax" : "uBPF syntax";
  return `${name}${where}: ${error.message.replace(/^line \d+: /, "")}`;
}

function changes(before: bigint[], after: bigint[]): RegisterChange[] {
  const out: RegisterChange[] = [];
  for (let reg = 0; reg < after.length; reg++) {
    const a = before[reg] as bigint;
    const b = after[reg] as bigint;
    if (a !== b) out.push({ reg, before: a, after: b });
  }
  return out;
}

function faultOf(error: VmError): Fault {
  return {
    kind: error.kind,
    message: error.message,
    slot: error.insn,
    address: error.address,
    size: error.size,
    region: error.region,
    access: error.access,
  };
}
