import { CallContext, type CallFn, type CallResult } from "./call.js";
import { isCompiled, runCompiled } from "./compile/engine.js";
import type { EngineHost } from "./compile/host.js";
import { VmError } from "./error.js";
import { CODE_HI, Memory, REGION_HI_BASE, type Region } from "./memory.js";
import type { Program } from "./program.js";
import { atomic, divmod64, ldPacket } from "./slow-ops.js";
import type { RunStats } from "./stats.js";

/** Linux's limit on bpf-to-bpf call frames (`MAX_CALL_FRAMES`). */
export const MAX_FRAMES = 8;
/** Bytes of stack per frame. */
export const STACK_SIZE = 512;
/** Linux's limit on chained tail calls per run (`MAX_TAIL_CALL_CNT`). */
export const MAX_TAIL_CALLS = 33;
/** Initial `may_goto` budget of each frame (`BPF_MAX_LOOPS`, spec bpf-isa 4.12). */
export const MAY_GOTO_BUDGET = 8_388_608;
/** Helper id of `bpf_tail_call`, handled by the VM itself when a tail-call resolver is set. */
export const BPF_FUNC_TAIL_CALL = 12;

const HB = REGION_HI_BASE | 0;
/** Index of slot 0's first word in the VM's core array; the registers sit below it. */
const CODE_BASE = 32;
const CODE_HI_I32 = CODE_HI | 0;
/** Instructions between two wall-clock checks when a time limit is set. */
const TIME_CHECK_INTERVAL = 1 << 20;
/** Instructions between folds of the loop's int32 counter when no time limit is set. */
const FOLD_INTERVAL = 1 << 30;
/** Return codes of the call slow paths. */
const CONTINUE = 0;
const STOP = 1;
const SWITCHED = 2;

/**
 * How `Vm.run` executes: `"interpreter"` (the default) or `"compiled"`, which translates each program
 * once into JavaScript (`new Function`) with the same observable behaviour, several times faster on
 * loops. Pages whose Content-Security-Policy forbids `unsafe-eval` must use the interpreter.
 */
export type Engine = "interpreter" | "compiled";

/** Every `Engine`, for front ends that take one by name. */
export const ENGINES: readonly Engine[] = ["interpreter", "compiled"];

export interface VmOptions {
  /** Execution engine of every run (default `"interpreter"`). */
  engine?: Engine;
  /**
   * With the compiled engine: instructions a program first runs on the interpreter, summed over
   * this VM's runs, before it is translated (default 0: at once). Generated code is slow until V8
   * has optimized it, so 100,000 or so keeps programs that run briefly (tests, one-shot tools) on
   * the interpreter. A program another VM has already translated runs compiled at once.
   */
  compileAfter?: number;
  /** Shared guest memory; a new one by default. The VM maps its 8 stack regions into it. */
  memory?: Memory;
  /** Default instruction budget of each run (default: unlimited). */
  maxInsns?: number;
  /** Default wall-time budget of each run in milliseconds (default: unlimited). */
  timeLimitMs?: number;
  /**
   * Resolves `bpf_tail_call(ctx, prog_array, index)`: the program in slot `index` of the prog array
   * at guest address `progArray`, or undefined for an empty slot (the call then falls through).
   */
  resolveTailCall?: (progArray: bigint, index: number) => Program | undefined;
  /**
   * `may_goto` iterations each frame may take before the jump is taken (default MAY_GOTO_BUDGET,
   * Linux 6.12's counter). Linux 6.18's x86 JIT refills the counter on a time budget instead, so a
   * may_goto loop there runs for a fixed time (about 240 million iterations of a 3-insn loop here).
   */
  mayGotoBudget?: number;
}

export interface RunOptions {
  /** r1..r5 at entry (r1 is usually the context pointer). */
  args?: readonly bigint[];
  maxInsns?: number;
  timeLimitMs?: number;
  /** The packet that legacy `LD_ABS`/`LD_IND` loads read (socket filters). */
  packet?: Region;
  /**
   * Called before every instruction with the slot index and frame depth (slow; for `--debug`).
   * A traced run always uses the interpreter.
   */
  trace?: (slot: number, depth: number, program: Program) => void;
  /** Execution engine of this run (default: the VM's). */
  engine?: Engine;
}

export interface RunResult {
  /** r0 at the final exit, unsigned. */
  r0: bigint;
  stats: RunStats;
}

/**
 * The interpreter. Registers are an `Int32Array` of (lo, hi) word pairs; 64-bit arithmetic works on
 * the halves with plain numbers, and only rare 64-bit divisions fall back to bigint. Memory
 * accesses go through `Memory`'s region table with a bounds-and-permission check that cannot be
 * skipped. Helpers and kfuncs are the embedder's functions, registered by id.
 */
export class Vm {
  readonly memory: Memory;
  /** Stack regions of frames 0..7. */
  readonly stacks: readonly Region[];
  /**
   * The register file (words 0..21: lo word of rN at 2N, hi word at 2N+1) followed, from CODE_BASE
   * on, by the running program's pre-decoded code. Sharing one array halves the typed-array checks
   * the optimizing compiler emits per instruction; #use swaps the code part when the program changes.
   */
  #core = new Int32Array(CODE_BASE + 64);
  #coreCode: Int32Array | undefined;
  #regs = this.#core.subarray(0, CODE_BASE);
  readonly #helpers: (CallFn | undefined)[] = [];
  readonly #helperNames: (string | undefined)[] = [];
  readonly #kfuncs = new Map<number, CallFn>();
  readonly #call: CallContext;
  readonly #options: VmOptions;
  // Frame records: return slot, program, saved r6..r10 words, may_goto budget.
  readonly #frameRet = new Int32Array(MAX_FRAMES);
  readonly #frameProg: (Program | undefined)[] = new Array(MAX_FRAMES).fill(undefined);
  readonly #frameSaved = new Int32Array(MAX_FRAMES * 10);
  readonly #mayGoto = new Int32Array(MAX_FRAMES);
  // State shared between the interpreter loop and its slow paths.
  #prog: Program | undefined;
  #depth = 0;
  // Instructions executed: #nBase (folded at limit checks) plus #n, which the loop keeps in an int32.
  #nBase = 0;
  #n = 0;
  #lim = Number.POSITIVE_INFINITY;
  #maxInsns = Number.POSITIVE_INFINITY;
  #deadline = Number.POSITIVE_INFINITY;
  #timeLimitMs: number | undefined;
  #packet: Region | undefined;
  #running = false;
  #stats: RunStats = emptyStats();
  /** Whether the current run uses the compiled engine. */
  #compiled = false;
  /** The program the current run started with, and instructions interpreted per program (compileAfter). */
  #entry: Program | undefined;
  readonly #interpreted = new WeakMap<Program, number>();
  #host: EngineHost | undefined;

  constructor(options: VmOptions = {}) {
    this.#options = options;
    this.memory = options.memory ?? new Memory();
    const stacks: Region[] = [];
    for (let i = 0; i < MAX_FRAMES; i++)
      stacks.push(this.memory.map(STACK_SIZE, { name: `stack[${i}]`, kind: "stack" }));
    this.stacks = stacks;
    this.#call = new CallContext(this, this.memory, this.#regs);
  }

  /** Registers helper `id` (the imm of `call`, src_reg 0). */
  registerHelper(id: number, fn: CallFn, name?: string): this {
    this.#helpers[id] = fn;
    this.#helperNames[id] = name;
    return this;
  }

  /** Registers a kfunc by its BTF id (the imm of `call`, src_reg 2). */
  registerKfunc(btfId: number, fn: CallFn): this {
    this.#kfuncs.set(btfId, fn);
    return this;
  }

  /** rN as an unsigned bigint (after a run: the final registers). */
  register(n: number): bigint {
    const r = this.#regs;
    return (BigInt((r[2 * n + 1] as number) >>> 0) << 32n) | BigInt((r[2 * n] as number) >>> 0);
  }

  /** Sets rN (modulo 2^64). */
  setRegister(n: number, value: bigint): void {
    const v = BigInt.asUintN(64, value);
    this.#regs[2 * n] = Number(v & 0xffffffffn);
    this.#regs[2 * n + 1] = Number(v >> 32n);
  }

  /** Runs `program` from slot 0 until its final `exit`; throws `VmError` on a fault. */
  run(program: Program, options: RunOptions = {}): RunResult {
    if (this.#running) throw new Error("Vm.run is not reentrant; use CallContext.invoke from a helper");
    const regs = this.#regs;
    regs.fill(0);
    const args = options.args ?? [];
    for (let i = 0; i < args.length && i < 5; i++) this.setRegister(i + 1, args[i] as bigint);
    this.#enterFrame(0);
    this.#prog = program;
    this.#depth = 0;
    this.#nBase = 0;
    this.#n = 0;
    this.#stats = emptyStats();
    this.#packet = options.packet;
    this.#maxInsns = options.maxInsns ?? this.#options.maxInsns ?? Number.POSITIVE_INFINITY;
    this.#timeLimitMs = options.timeLimitMs ?? this.#options.timeLimitMs;
    const start = performance.now();
    this.#deadline =
      this.#timeLimitMs === undefined ? Number.POSITIVE_INFINITY : performance.now() + this.#timeLimitMs;
    this.#lim = this.#nextLimit();
    this.#running = true;
    this.#entry = program;
    this.#compiled =
      (options.engine ?? this.#options.engine ?? "interpreter") === "compiled" &&
      options.trace === undefined &&
      this.#warm(program);
    try {
      this.#tracer = options.trace;
      this.#executeWith(program, 0, 0);
    } catch (error) {
      if (error instanceof VmError) error.stats = this.#finish(start);
      throw error;
    } finally {
      this.#running = false;
      this.#tracer = undefined;
    }
    return { r0: this.register(0), stats: this.#finish(start) };
  }

  /** Whether `program` may run compiled now (see VmOptions.compileAfter). */
  #warm(program: Program): boolean {
    const after = this.#options.compileAfter ?? 0;
    return after <= 0 || isCompiled(program) || (this.#interpreted.get(program) ?? 0) >= after;
  }

  #finish(start: number): RunStats {
    const s = this.#stats;
    s.insns = this.#nBase + this.#n;
    const prog = this.#entry;
    if (!this.#compiled && prog !== undefined && (this.#options.compileAfter ?? 0) > 0)
      this.#interpreted.set(prog, (this.#interpreted.get(prog) ?? 0) + s.insns);
    s.wallNs = Math.round((performance.now() - start) * 1e6);
    return { ...s };
  }

  /** @internal Runs a callback subprogram for `CallContext.invoke`. */
  invoke(codeAddress: bigint, args: readonly bigint[]): bigint {
    const prog = this.#prog;
    if (!this.#running || prog === undefined) throw new Error("invoke is only valid during a helper call");
    const a = BigInt.asUintN(64, codeAddress);
    const target = this.#codeTarget(prog, Number(a >> 32n) | 0, Number(a & 0xffffffffn) | 0);
    if (target < 0)
      throw this.#fault("call", `callback address 0x${a.toString(16)} is not a subprogram`, this.#call.insn);
    const saved = this.#regs.slice();
    const depth = this.#depth;
    for (let i = 0; i < 5; i++) this.setRegister(i + 1, args[i] ?? 0n);
    this.#pushFrame(prog, -1, depth, this.#call.insn);
    const call = this.#call;
    const insn = call.insn;
    const id = call.id;
    this.#executeWith(prog, target, depth + 1);
    call.insn = insn;
    call.id = id;
    this.#depth = depth;
    const r0 = this.register(0);
    this.#regs.set(saved);
    return r0;
  }

  /** Runs until frame `baseDepth` exits, with the engine chosen for this run. */
  #executeWith(program: Program, startSlot: number, baseDepth: number): void {
    if (this.#compiled) runCompiled(this.#engineHost(), program, startSlot, baseDepth);
    else this.#execute(program, startSlot, baseDepth);
  }

  /** The compiled engine's view of this VM (see compile/host.ts), made on first use. */
  #engineHost(): EngineHost {
    if (this.#host !== undefined) return this.#host;
    const vm = this;
    // A helper or kfunc sees the VM's counters; compiled code keeps them in `host.counters`. The
    // register array stays the same during a compiled run: #use, which can replace it, only runs
    // in the interpreter, and a run uses one engine throughout.
    const callOut = (call: () => number): number => {
      host.commit();
      const r = call();
      host.load();
      return r;
    };
    const host: EngineHost = {
      memory: this.memory,
      regs: this.#regs,
      mayGoto: this.#mayGoto,
      frameRet: this.#frameRet,
      // The counters live in a Float64Array, copied to and from the VM around every slow path:
      // compiled code writes and reads them on each call out, where accessors cost several times
      // the call itself and a plain field would box 2^30 (above the small-integer range) on every store.
      counters: new Float64Array(2),
      get prog() {
        return vm.#prog as Program;
      },
      pc: 0,
      depth: 0,
      next: undefined,
      pending: undefined,
      load() {
        host.counters[0] = vm.#n;
        host.counters[1] = vm.#lim;
        host.regs = vm.#regs;
      },
      commit() {
        vm.#n = (host.counters[0] as number) | 0;
        vm.#lim = host.counters[1] as number;
      },
      checkLimits(n, slot) {
        try {
          return Math.ceil(vm.#checkLimits(n, slot));
        } catch (error) {
          if (!(error instanceof VmError)) throw error;
          host.pending = error;
          return -1;
        }
      },
      callHelper: (id, slot, depth) => callOut(() => vm.#callHelper(id, slot, depth)),
      callKfunc: (btfId, slot, depth) => callOut(() => vm.#callKfunc(btfId, slot, depth)),
      pushFrame(prog, retSlot, depth, slot) {
        vm.#n = (host.counters[0] as number) | 0;
        vm.#pushFrame(prog, retSlot, depth, slot);
      },
      popFrame: (depth) => vm.#popFrame(depth),
      codeTarget: (prog, hi, lo) => vm.#codeTarget(prog, hi, lo),
      fault(kind, why, slot, n) {
        vm.#n = n;
        return vm.#fault(kind, why, slot);
      },
      memFault: (hi, lo, size, write, slot, n) => vm.#memFault(hi, lo, size, write, slot, n),
      atomic(code, i, slot, n) {
        vm.#n = n;
        return atomic(vm.#regs, vm.memory, code, i, slot);
      },
      ldPacket(code, i, indirect, slot) {
        vm.#n = (host.counters[0] as number) | 0;
        return ldPacket(vm.#regs, vm.#packet, code, i, indirect, slot);
      },
    };
    this.#host = host;
    return host;
  }

  /** Makes `code` the code part of the core array (copying only when it changed) and returns the array. */
  #use(code: Int32Array): Int32Array {
    let core = this.#core;
    if (this.#coreCode === code) return core;
    if (core.length < CODE_BASE + code.length) {
      const grown = new Int32Array(CODE_BASE + Math.max(code.length, 2 * (core.length - CODE_BASE)));
      grown.set(core.subarray(0, CODE_BASE));
      core = grown;
      this.#core = grown;
      this.#regs = grown.subarray(0, CODE_BASE);
      this.#call.regs = this.#regs;
    }
    core.set(code, CODE_BASE);
    this.#coreCode = code;
    return core;
  }

  /** How many more instructions (relative to #nBase) may run before the next limit check. */
  #nextLimit(): number {
    const budget = this.#maxInsns + 1 - this.#nBase;
    const interval = this.#deadline === Number.POSITIVE_INFINITY ? FOLD_INTERVAL : TIME_CHECK_INTERVAL;
    return Math.min(budget, interval);
  }

  /**
   * Called on taken jumps and calls once `n` reaches the current limit: folds `n` into #nBase (the
   * caller then restarts `n` at 0), enforces the budgets and returns the next limit.
   */
  #checkLimits(n: number, slot: number): number {
    this.#nBase += n;
    this.#n = 0;
    if (this.#nBase > this.#maxInsns)
      throw this.#fault("budget", `instruction budget of ${this.#maxInsns} exhausted`, slot);
    if (performance.now() > this.#deadline)
      throw this.#fault("time", `time limit of ${this.#timeLimitMs} ms exceeded`, slot);
    return this.#nextLimit();
  }

  #fault(kind: VmError["kind"], why: string, slot: number): VmError {
    return new VmError(`${why} at insn ${slot}`, { kind, insn: slot });
  }

  #memFault(hi: number, lo: number, size: number, write: boolean, slot: number, n: number): VmError {
    this.#n = n;
    return this.memory.fault(hi, lo, size, write, slot);
  }

  /** Prepares frame `depth`: its stack zeroed, r10 at its top, a fresh may_goto budget. */
  #enterFrame(depth: number): void {
    (this.stacks[depth] as Region).bytes.fill(0);
    this.#regs[20] = STACK_SIZE;
    this.#regs[21] = HB + depth;
    this.#mayGoto[depth] = this.#options.mayGotoBudget ?? MAY_GOTO_BUDGET;
    if (depth + 1 > this.#stats.maxFrames) this.#stats.maxFrames = depth + 1;
  }

  /** Saves the caller's state (r6..r10, return slot) at `depth` and enters frame depth + 1. */
  #pushFrame(prog: Program, retSlot: number, depth: number, slot: number): void {
    if (depth + 1 >= MAX_FRAMES)
      throw this.#fault("depth", `the call stack of ${depth + 2} frames is too deep`, slot);
    const r = this.#regs;
    const f = depth * 10;
    const saved = this.#frameSaved;
    for (let k = 0; k < 10; k++) saved[f + k] = r[12 + k] as number;
    this.#frameRet[depth] = retSlot;
    this.#frameProg[depth] = prog;
    this.#stats.localCalls++;
    this.#enterFrame(depth + 1);
  }

  /** Restores r6..r10 of frame `depth` (the caller) and returns its program. */
  #popFrame(depth: number): Program {
    const r = this.#regs;
    const f = depth * 10;
    const saved = this.#frameSaved;
    for (let k = 0; k < 10; k++) r[12 + k] = saved[f + k] as number;
    return this.#frameProg[depth] as Program;
  }

  /** Slot of the subprogram at code address (hi, lo), or -1. */
  #codeTarget(prog: Program, hi: number, lo: number): number {
    if (hi !== CODE_HI_I32 || lo < 0 || lo >= prog.slots) return -1;
    // Any instruction start is a valid target, but never the high half of an lddw.
    if (((prog.code[lo * 4] as number) & 0xff) === 135) return -1;
    return lo;
  }

  #result(value: CallResult): void {
    const r = this.#regs;
    if (typeof value === "number") {
      r[0] = value | 0;
      r[1] = Math.floor(value / 0x100000000) | 0;
    } else if (typeof value === "bigint") {
      const v = BigInt.asUintN(64, value);
      r[0] = Number(v & 0xffffffffn);
      r[1] = Number(v >> 32n);
    } else {
      r[0] = value === true ? 1 : 0;
      r[1] = 0;
    }
  }

  /** Calls helper `id`; returns CONTINUE, STOP (the helper ended the program) or SWITCHED (tail call). */
  #callHelper(id: number, slot: number, depth: number): number {
    this.#depth = depth;
    this.#stats.helperCalls++;
    const fn = this.#helpers[id];
    if (fn === undefined) {
      if (id === BPF_FUNC_TAIL_CALL && this.#options.resolveTailCall) return this.#tailCall();
      throw this.#fault("call", `call to unknown helper ${id}`, slot);
    }
    return this.#invokeFn(fn, id, slot, `helper ${this.#helperNames[id] ?? id}`);
  }

  #callKfunc(btfId: number, slot: number, depth: number): number {
    this.#depth = depth;
    this.#stats.kfuncCalls++;
    const fn = this.#kfuncs.get(btfId);
    if (fn === undefined) throw this.#fault("call", `call to unknown kfunc with BTF id ${btfId}`, slot);
    return this.#invokeFn(fn, btfId, slot, `kfunc ${btfId}`);
  }

  #invokeFn(fn: CallFn, id: number, slot: number, what: string): number {
    const call = this.#call;
    call.insn = slot;
    call.id = id;
    call.stopped = false;
    let value: CallResult;
    try {
      value = fn(call);
    } catch (error) {
      if (error instanceof VmError) {
        if (error.insn !== undefined) throw error;
        const e = new VmError(`${error.message} in ${what} at insn ${slot}`, {
          kind: error.kind,
          insn: slot,
          address: error.address,
          size: error.size,
          region: error.region,
          access: error.access,
        });
        throw e;
      }
      const e = new VmError(`${what} failed at insn ${slot}: ${(error as Error).message ?? error}`, {
        kind: "call",
        insn: slot,
      });
      e.cause = error;
      throw e;
    }
    if (call.stopped) return STOP;
    this.#result(value);
    return CONTINUE;
  }

  /** `bpf_tail_call(ctx, map, index)`: on success the current frame continues in the new program. */
  #tailCall(): number {
    const call = this.#call;
    const index = call.argU32(3);
    const target =
      this.#stats.tailCalls < MAX_TAIL_CALLS
        ? this.#options.resolveTailCall?.(call.arg(2), index)
        : undefined;
    // A failed tail call falls through to the next instruction (the helper returns no value).
    if (target === undefined) return CONTINUE;
    this.#stats.tailCalls++;
    this.#prog = target;
    // The callee reuses the frame (and its stack) but starts with its own loop budget.
    this.#mayGoto[this.#depth] = this.#options.mayGotoBudget ?? MAY_GOTO_BUDGET;
    return SWITCHED;
  }

  /** Called before each instruction when `RunOptions.trace` is set. */
  #tracer: RunOptions["trace"];

  /**
   * The interpreter loop. `code` holds SLOT_WORDS words per slot; `w & 0xff` is the internal op
   * (see ops.ts; the literals below are checked against it by a test), `(w >>> 8) & 0xff` the dst
   * register-file index, `w >>> 16` the src index. Returns when frame `baseDepth` exits.
   */
  #execute(program: Program, startSlot: number, baseDepth: number): void {
    const mem = this.memory;
    const bytes = mem.bytes;
    const views = mem.views;
    const rl = mem.readLimit;
    const wl = mem.writeLimit;
    const mg = this.#mayGoto;
    const tracer = this.#tracer;
    let prog = program;
    let C = prog.code;
    // `| 0` keeps these int32 in optimized code (a tagged phi costs a tag check per instruction).
    let pc = startSlot | 0;
    let depth = baseDepth | 0;
    let n = this.#n | 0;
    let lim = this.#lim;
    // Trace mode runs a copy of the code whose every op is TRACE (137): it reports the slot, then
    // re-dispatches the original word from T. Normal runs never see op 137 and pay nothing.
    let T = prog.code;
    if (tracer !== undefined) C = tracedCode(prog);
    // Registers and code share one array (see #core), so each instruction checks one typed array.
    let R = this.#use(C);
    next: for (;;) {
      // Programs have at most 2^24 slots, so i + 3 cannot overflow and needs no check.
      const i = ((pc & 0xffffff) << 2) + CODE_BASE;
      let w = R[i] as number;
      n = (n + 1) | 0;
      for (;;) {
        switch (w & 0xff) {
          case 0: {
            // ADD64_K
            const d = (w >>> 8) & 0xff;
            const lo = ((R[d] as number) >>> 0) + ((R[i + 2] as number) >>> 0);
            R[d] = lo | 0;
            R[d + 1] = ((R[d + 1] as number) + (R[i + 3] as number) + (lo > 0xffffffff ? 1 : 0)) | 0;
            pc = (pc + 1) | 0;
            continue next;
          }
          case 1: {
            // SUB64_K
            const d = (w >>> 8) & 0xff;
            const lo = ((R[d] as number) >>> 0) - ((R[i + 2] as number) >>> 0);
            R[d] = lo | 0;
            R[d + 1] = ((R[d + 1] as number) - (R[i + 3] as number) - (lo < 0 ? 1 : 0)) | 0;
            pc = (pc + 1) | 0;
            continue next;
          }
          case 2: {
            // MUL64_K
            const d = (w >>> 8) & 0xff;
            const al = R[d] as number;
            const bl = R[i + 2] as number;
            const a0 = al & 0xffff;
            const a1 = al >>> 16;
            const b0 = bl & 0xffff;
            const b1 = bl >>> 16;
            const t = a1 * b0 + ((a0 * b0) >>> 16);
            const u = a0 * b1 + (t & 0xffff);
            const mh = a1 * b1 + (t >>> 16) + (u >>> 16);
            R[d + 1] = (mh + Math.imul(al, R[i + 3] as number) + Math.imul(R[d + 1] as number, bl)) | 0;
            R[d] = Math.imul(al, bl);
            pc = (pc + 1) | 0;
            continue next;
          }
          case 3: // DIV64_K
          case 4: // SDIV64_K
          case 9: // MOD64_K
          case 10: // SMOD64_K
            divmod64(R, (w >>> 8) & 0xff, R[i + 2] as number, R[i + 3] as number, w & 0xff);
            pc = (pc + 1) | 0;
            continue next;
          case 5: {
            // OR64_K
            const d = (w >>> 8) & 0xff;
            R[d] = (R[d] as number) | (R[i + 2] as number);
            R[d + 1] = (R[d + 1] as number) | (R[i + 3] as number);
            pc = (pc + 1) | 0;
            continue next;
          }
          case 6: {
            // AND64_K
            const d = (w >>> 8) & 0xff;
            R[d] = (R[d] as number) & (R[i + 2] as number);
            R[d + 1] = (R[d + 1] as number) & (R[i + 3] as number);
            pc = (pc + 1) | 0;
            continue next;
          }
          case 7: {
            // LSH64_K
            const d = (w >>> 8) & 0xff;
            const k = (R[i + 2] as number) & 63;
            const lo = R[d] as number;
            if (k >= 32) {
              R[d + 1] = lo << (k - 32);
              R[d] = 0;
            } else if (k !== 0) {
              R[d + 1] = ((R[d + 1] as number) << k) | (lo >>> (32 - k));
              R[d] = lo << k;
            }
            pc = (pc + 1) | 0;
            continue next;
          }
          case 8: {
            // RSH64_K
            const d = (w >>> 8) & 0xff;
            const k = (R[i + 2] as number) & 63;
            const hi = R[d + 1] as number;
            if (k >= 32) {
              R[d] = hi >>> (k - 32);
              R[d + 1] = 0;
            } else if (k !== 0) {
              R[d] = ((R[d] as number) >>> k) | (hi << (32 - k));
              R[d + 1] = hi >>> k;
            }
            pc = (pc + 1) | 0;
            continue next;
          }
          case 11: {
            // XOR64_K
            const d = (w >>> 8) & 0xff;
            R[d] = (R[d] as number) ^ (R[i + 2] as number);
            R[d + 1] = (R[d + 1] as number) ^ (R[i + 3] as number);
            pc = (pc + 1) | 0;
            continue next;
          }
          case 12: {
            // MOV64_K
            const d = (w >>> 8) & 0xff;
            R[d] = R[i + 2] as number;
            R[d + 1] = R[i + 3] as number;
            pc = (pc + 1) | 0;
            continue next;
          }
          case 13: {
            // ARSH64_K
            const d = (w >>> 8) & 0xff;
            const k = (R[i + 2] as number) & 63;
            const hi = R[d + 1] as number;
            if (k >= 32) {
              R[d] = hi >> (k - 32);
              R[d + 1] = hi >> 31;
            } else if (k !== 0) {
              R[d] = ((R[d] as number) >>> k) | (hi << (32 - k));
              R[d + 1] = hi >> k;
            }
            pc = (pc + 1) | 0;
            continue next;
          }
          case 14: {
            // ADD64_X
            const d = (w >>> 8) & 0xff;
            const s = w >>> 16;
            const lo = ((R[d] as number) >>> 0) + ((R[s] as number) >>> 0);
            R[d] = lo | 0;
            R[d + 1] = ((R[d + 1] as number) + (R[s + 1] as number) + (lo > 0xffffffff ? 1 : 0)) | 0;
            pc = (pc + 1) | 0;
            continue next;
          }
          case 15: {
            // SUB64_X
            const d = (w >>> 8) & 0xff;
            const s = w >>> 16;
            const lo = ((R[d] as number) >>> 0) - ((R[s] as number) >>> 0);
            R[d] = lo | 0;
            R[d + 1] = ((R[d + 1] as number) - (R[s + 1] as number) - (lo < 0 ? 1 : 0)) | 0;
            pc = (pc + 1) | 0;
            continue next;
          }
          case 16: {
            // MUL64_X
            const d = (w >>> 8) & 0xff;
            const s = w >>> 16;
            const al = R[d] as number;
            const bl = R[s] as number;
            const a0 = al & 0xffff;
            const a1 = al >>> 16;
            const b0 = bl & 0xffff;
            const b1 = bl >>> 16;
            const t = a1 * b0 + ((a0 * b0) >>> 16);
            const u = a0 * b1 + (t & 0xffff);
            const mh = a1 * b1 + (t >>> 16) + (u >>> 16);
            R[d + 1] = (mh + Math.imul(al, R[s + 1] as number) + Math.imul(R[d + 1] as number, bl)) | 0;
            R[d] = Math.imul(al, bl);
            pc = (pc + 1) | 0;
            continue next;
          }
          case 17: // DIV64_X
          case 18: // SDIV64_X
          case 23: // MOD64_X
          case 24: {
            // SMOD64_X
            const s = w >>> 16;
            divmod64(R, (w >>> 8) & 0xff, R[s] as number, R[s + 1] as number, (w & 0xff) - 14);
            pc = (pc + 1) | 0;
            continue next;
          }
          case 19: {
            // OR64_X
            const d = (w >>> 8) & 0xff;
            const s = w >>> 16;
            R[d] = (R[d] as number) | (R[s] as number);
            R[d + 1] = (R[d + 1] as number) | (R[s + 1] as number);
            pc = (pc + 1) | 0;
            continue next;
          }
          case 20: {
            // AND64_X
            const d = (w >>> 8) & 0xff;
            const s = w >>> 16;
            R[d] = (R[d] as number) & (R[s] as number);
            R[d + 1] = (R[d + 1] as number) & (R[s + 1] as number);
            pc = (pc + 1) | 0;
            continue next;
          }
          case 21: {
            // LSH64_X
            const d = (w >>> 8) & 0xff;
            const k = (R[w >>> 16] as number) & 63;
            const lo = R[d] as number;
            if (k >= 32) {
              R[d + 1] = lo << (k - 32);
              R[d] = 0;
            } else if (k !== 0) {
              R[d + 1] = ((R[d + 1] as number) << k) | (lo >>> (32 - k));
              R[d] = lo << k;
            }
            pc = (pc + 1) | 0;
            continue next;
          }
          case 22: {
            // RSH64_X
            const d = (w >>> 8) & 0xff;
            const k = (R[w >>> 16] as number) & 63;
            const hi = R[d + 1] as number;
            if (k >= 32) {
              R[d] = hi >>> (k - 32);
              R[d + 1] = 0;
            } else if (k !== 0) {
              R[d] = ((R[d] as number) >>> k) | (hi << (32 - k));
              R[d + 1] = hi >>> k;
            }
            pc = (pc + 1) | 0;
            continue next;
          }
          case 25: {
            // XOR64_X
            const d = (w >>> 8) & 0xff;
            const s = w >>> 16;
            R[d] = (R[d] as number) ^ (R[s] as number);
            R[d + 1] = (R[d + 1] as number) ^ (R[s + 1] as number);
            pc = (pc + 1) | 0;
            continue next;
          }
          case 26: {
            // MOV64_X
            const d = (w >>> 8) & 0xff;
            const s = w >>> 16;
            R[d] = R[s] as number;
            R[d + 1] = R[s + 1] as number;
            pc = (pc + 1) | 0;
            continue next;
          }
          case 27: {
            // ARSH64_X
            const d = (w >>> 8) & 0xff;
            const k = (R[w >>> 16] as number) & 63;
            const hi = R[d + 1] as number;
            if (k >= 32) {
              R[d] = hi >> (k - 32);
              R[d + 1] = hi >> 31;
            } else if (k !== 0) {
              R[d] = ((R[d] as number) >>> k) | (hi << (32 - k));
              R[d + 1] = hi >> k;
            }
            pc = (pc + 1) | 0;
            continue next;
          }
          case 28: {
            // NEG64
            const d = (w >>> 8) & 0xff;
            const lo = R[d] as number;
            R[d] = -lo | 0;
            R[d + 1] = (~(R[d + 1] as number) + (lo === 0 ? 1 : 0)) | 0;
            pc = (pc + 1) | 0;
            continue next;
          }
          case 29: {
            // MOVSX64
            const d = (w >>> 8) & 0xff;
            const k = R[i + 2] as number;
            const v = ((R[w >>> 16] as number) << k) >> k;
            R[d] = v;
            R[d + 1] = v >> 31;
            pc = (pc + 1) | 0;
            continue next;
          }
          case 30: {
            // BSWAP16
            const d = (w >>> 8) & 0xff;
            const v = R[d] as number;
            R[d] = ((v & 0xff) << 8) | ((v >>> 8) & 0xff);
            R[d + 1] = 0;
            pc = (pc + 1) | 0;
            continue next;
          }
          case 31: {
            // BSWAP32
            const d = (w >>> 8) & 0xff;
            const v = R[d] as number;
            R[d] = ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
            R[d + 1] = 0;
            pc = (pc + 1) | 0;
            continue next;
          }
          case 32: {
            // BSWAP64
            const d = (w >>> 8) & 0xff;
            const v = R[d] as number;
            const h = R[d + 1] as number;
            R[d] = ((h & 0xff) << 24) | ((h & 0xff00) << 8) | ((h >>> 8) & 0xff00) | (h >>> 24);
            R[d + 1] = ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
            pc = (pc + 1) | 0;
            continue next;
          }
          case 33: {
            // ADD32_K
            const d = (w >>> 8) & 0xff;
            R[d] = ((R[d] as number) + (R[i + 2] as number)) | 0;
            R[d + 1] = 0;
            pc = (pc + 1) | 0;
            continue next;
          }
          case 34: {
            // SUB32_K
            const d = (w >>> 8) & 0xff;
            R[d] = ((R[d] as number) - (R[i + 2] as number)) | 0;
            R[d + 1] = 0;
            pc = (pc + 1) | 0;
            continue next;
          }
          case 35: {
            // MUL32_K
            const d = (w >>> 8) & 0xff;
            R[d] = Math.imul(R[d] as number, R[i + 2] as number);
            R[d + 1] = 0;
            pc = (pc + 1) | 0;
            continue next;
          }
          case 36: {
            // DIV32_K
            const d = (w >>> 8) & 0xff;
            const b = (R[i + 2] as number) >>> 0;
            R[d] = b === 0 ? 0 : ((R[d] as number) >>> 0) / b;
            R[d + 1] = 0;
            pc = (pc + 1) | 0;
            continue next;
          }
          case 37: {
            // SDIV32_K
            const d = (w >>> 8) & 0xff;
            const b = R[i + 2] as number;
            R[d] = b === 0 ? 0 : ((R[d] as number) / b) | 0;
            R[d + 1] = 0;
            pc = (pc + 1) | 0;
            continue next;
          }
          case 38: {
            // OR32_K
            const d = (w >>> 8) & 0xff;
            R[d] = (R[d] as number) | (R[i + 2] as number);
            R[d + 1] = 0;
            pc = (pc + 1) | 0;
            continue next;
          }
          case 39: {
            // AND32_K
            const d = (w >>> 8) & 0xff;
            R[d] = (R[d] as number) & (R[i + 2] as number);
            R[d + 1] = 0;
            pc = (pc + 1) | 0;
            continue next;
          }
          case 40: {
            // LSH32_K
            const d = (w >>> 8) & 0xff;
            R[d] = (R[d] as number) << ((R[i + 2] as number) & 31);
            R[d + 1] = 0;
            pc = (pc + 1) | 0;
            continue next;
          }
          case 41: {
            // RSH32_K
            const d = (w >>> 8) & 0xff;
            R[d] = (R[d] as number) >>> ((R[i + 2] as number) & 31);
            R[d + 1] = 0;
            pc = (pc + 1) | 0;
            continue next;
          }
          case 42: {
            // MOD32_K
            const d = (w >>> 8) & 0xff;
            const b = (R[i + 2] as number) >>> 0;
            if (b !== 0) R[d] = ((R[d] as number) >>> 0) % b;
            R[d + 1] = 0;
            pc = (pc + 1) | 0;
            continue next;
          }
          case 43: {
            // SMOD32_K
            const d = (w >>> 8) & 0xff;
            const b = R[i + 2] as number;
            if (b !== 0) R[d] = ((R[d] as number) % b) | 0;
            R[d + 1] = 0;
            pc = (pc + 1) | 0;
            continue next;
          }
          case 44: {
            // XOR32_K
            const d = (w >>> 8) & 0xff;
            R[d] = (R[d] as number) ^ (R[i + 2] as number);
            R[d + 1] = 0;
            pc = (pc + 1) | 0;
            continue next;
          }
          case 45: {
            // MOV32_K
            const d = (w >>> 8) & 0xff;
            R[d] = R[i + 2] as number;
            R[d + 1] = 0;
            pc = (pc + 1) | 0;
            continue next;
          }
          case 46: {
            // ARSH32_K
            const d = (w >>> 8) & 0xff;
            R[d] = (R[d] as number) >> ((R[i + 2] as number) & 31);
            R[d + 1] = 0;
            pc = (pc + 1) | 0;
            continue next;
          }
          case 47: {
            // ADD32_X
            const d = (w >>> 8) & 0xff;
            R[d] = ((R[d] as number) + (R[w >>> 16] as number)) | 0;
            R[d + 1] = 0;
            pc = (pc + 1) | 0;
            continue next;
          }
          case 48: {
            // SUB32_X
            const d = (w >>> 8) & 0xff;
            R[d] = ((R[d] as number) - (R[w >>> 16] as number)) | 0;
            R[d + 1] = 0;
            pc = (pc + 1) | 0;
            continue next;
          }
          case 49: {
            // MUL32_X
            const d = (w >>> 8) & 0xff;
            R[d] = Math.imul(R[d] as number, R[w >>> 16] as number);
            R[d + 1] = 0;
            pc = (pc + 1) | 0;
            continue next;
          }
          case 50: {
            // DIV32_X
            const d = (w >>> 8) & 0xff;
            const b = (R[w >>> 16] as number) >>> 0;
            R[d] = b === 0 ? 0 : ((R[d] as number) >>> 0) / b;
            R[d + 1] = 0;
            pc = (pc + 1) | 0;
            continue next;
          }
          case 51: {
            // SDIV32_X
            const d = (w >>> 8) & 0xff;
            const b = R[w >>> 16] as number;
            R[d] = b === 0 ? 0 : ((R[d] as number) / b) | 0;
            R[d + 1] = 0;
            pc = (pc + 1) | 0;
            continue next;
          }
          case 52: {
            // OR32_X
            const d = (w >>> 8) & 0xff;
            R[d] = (R[d] as number) | (R[w >>> 16] as number);
            R[d + 1] = 0;
            pc = (pc + 1) | 0;
            continue next;
          }
          case 53: {
            // AND32_X
            const d = (w >>> 8) & 0xff;
            R[d] = (R[d] as number) & (R[w >>> 16] as number);
            R[d + 1] = 0;
            pc = (pc + 1) | 0;
            continue next;
          }
          case 54: {
            // LSH32_X
            const d = (w >>> 8) & 0xff;
            R[d] = (R[d] as number) << ((R[w >>> 16] as number) & 31);
            R[d + 1] = 0;
            pc = (pc + 1) | 0;
            continue next;
          }
          case 55: {
            // RSH32_X
            const d = (w >>> 8) & 0xff;
            R[d] = (R[d] as number) >>> ((R[w >>> 16] as number) & 31);
            R[d + 1] = 0;
            pc = (pc + 1) | 0;
            continue next;
          }
          case 56: {
            // MOD32_X
            const d = (w >>> 8) & 0xff;
            const b = (R[w >>> 16] as number) >>> 0;
            if (b !== 0) R[d] = ((R[d] as number) >>> 0) % b;
            R[d + 1] = 0;
            pc = (pc + 1) | 0;
            continue next;
          }
          case 57: {
            // SMOD32_X
            const d = (w >>> 8) & 0xff;
            const b = R[w >>> 16] as number;
            if (b !== 0) R[d] = ((R[d] as number) % b) | 0;
            R[d + 1] = 0;
            pc = (pc + 1) | 0;
            continue next;
          }
          case 58: {
            // XOR32_X
            const d = (w >>> 8) & 0xff;
            R[d] = (R[d] as number) ^ (R[w >>> 16] as number);
            R[d + 1] = 0;
            pc = (pc + 1) | 0;
            continue next;
          }
          case 59: {
            // MOV32_X
            const d = (w >>> 8) & 0xff;
            R[d] = R[w >>> 16] as number;
            R[d + 1] = 0;
            pc = (pc + 1) | 0;
            continue next;
          }
          case 60: {
            // ARSH32_X
            const d = (w >>> 8) & 0xff;
            R[d] = (R[d] as number) >> ((R[w >>> 16] as number) & 31);
            R[d + 1] = 0;
            pc = (pc + 1) | 0;
            continue next;
          }
          case 61: {
            // NEG32
            const d = (w >>> 8) & 0xff;
            R[d] = -(R[d] as number) | 0;
            R[d + 1] = 0;
            pc = (pc + 1) | 0;
            continue next;
          }
          case 62: {
            // MOVSX32
            const d = (w >>> 8) & 0xff;
            const k = R[i + 2] as number;
            R[d] = ((R[w >>> 16] as number) << k) >> k;
            R[d + 1] = 0;
            pc = (pc + 1) | 0;
            continue next;
          }
          case 63: {
            // LE16
            const d = (w >>> 8) & 0xff;
            R[d] = (R[d] as number) & 0xffff;
            R[d + 1] = 0;
            pc = (pc + 1) | 0;
            continue next;
          }
          case 64: {
            // LE32
            R[((w >>> 8) & 0xff) + 1] = 0;
            pc = (pc + 1) | 0;
            continue next;
          }
          case 65: // NOP
            pc = (pc + 1) | 0;
            continue next;
          case 66: // JA
            pc = R[i + 1] as number;
            if (n >= lim) {
              lim = this.#checkLimits(n, pc);
              n = 0;
            }
            continue next;
          case 67: {
            // JEQ_K
            const d = (w >>> 8) & 0xff;
            if (R[d] === R[i + 2] && R[d + 1] === R[i + 3]) {
              pc = R[i + 1] as number;
              if (n >= lim) {
                lim = this.#checkLimits(n, pc);
                n = 0;
              }
            } else pc = (pc + 1) | 0;
            continue next;
          }
          case 68: {
            // JGT_K
            const d = (w >>> 8) & 0xff;
            const ah = (R[d + 1] as number) >>> 0;
            const bh = (R[i + 3] as number) >>> 0;
            if (ah > bh || (ah === bh && (R[d] as number) >>> 0 > (R[i + 2] as number) >>> 0)) {
              pc = R[i + 1] as number;
              if (n >= lim) {
                lim = this.#checkLimits(n, pc);
                n = 0;
              }
            } else pc = (pc + 1) | 0;
            continue next;
          }
          case 69: {
            // JGE_K
            const d = (w >>> 8) & 0xff;
            const ah = (R[d + 1] as number) >>> 0;
            const bh = (R[i + 3] as number) >>> 0;
            if (ah > bh || (ah === bh && (R[d] as number) >>> 0 >= (R[i + 2] as number) >>> 0)) {
              pc = R[i + 1] as number;
              if (n >= lim) {
                lim = this.#checkLimits(n, pc);
                n = 0;
              }
            } else pc = (pc + 1) | 0;
            continue next;
          }
          case 70: {
            // JSET_K
            const d = (w >>> 8) & 0xff;
            if (
              ((R[d] as number) & (R[i + 2] as number)) !== 0 ||
              ((R[d + 1] as number) & (R[i + 3] as number)) !== 0
            ) {
              pc = R[i + 1] as number;
              if (n >= lim) {
                lim = this.#checkLimits(n, pc);
                n = 0;
              }
            } else pc = (pc + 1) | 0;
            continue next;
          }
          case 71: {
            // JNE_K
            const d = (w >>> 8) & 0xff;
            if (R[d] !== R[i + 2] || R[d + 1] !== R[i + 3]) {
              pc = R[i + 1] as number;
              if (n >= lim) {
                lim = this.#checkLimits(n, pc);
                n = 0;
              }
            } else pc = (pc + 1) | 0;
            continue next;
          }
          case 72: {
            // JSGT_K
            const d = (w >>> 8) & 0xff;
            const ah = R[d + 1] as number;
            const bh = R[i + 3] as number;
            if (ah > bh || (ah === bh && (R[d] as number) >>> 0 > (R[i + 2] as number) >>> 0)) {
              pc = R[i + 1] as number;
              if (n >= lim) {
                lim = this.#checkLimits(n, pc);
                n = 0;
              }
            } else pc = (pc + 1) | 0;
            continue next;
          }
          case 73: {
            // JSGE_K
            const d = (w >>> 8) & 0xff;
            const ah = R[d + 1] as number;
            const bh = R[i + 3] as number;
            if (ah > bh || (ah === bh && (R[d] as number) >>> 0 >= (R[i + 2] as number) >>> 0)) {
              pc = R[i + 1] as number;
              if (n >= lim) {
                lim = this.#checkLimits(n, pc);
                n = 0;
              }
            } else pc = (pc + 1) | 0;
            continue next;
          }
          case 74: {
            // JLT_K
            const d = (w >>> 8) & 0xff;
            const ah = (R[d + 1] as number) >>> 0;
            const bh = (R[i + 3] as number) >>> 0;
            if (ah < bh || (ah === bh && (R[d] as number) >>> 0 < (R[i + 2] as number) >>> 0)) {
              pc = R[i + 1] as number;
              if (n >= lim) {
                lim = this.#checkLimits(n, pc);
                n = 0;
              }
            } else pc = (pc + 1) | 0;
            continue next;
          }
          case 75: {
            // JLE_K
            const d = (w >>> 8) & 0xff;
            const ah = (R[d + 1] as number) >>> 0;
            const bh = (R[i + 3] as number) >>> 0;
            if (ah < bh || (ah === bh && (R[d] as number) >>> 0 <= (R[i + 2] as number) >>> 0)) {
              pc = R[i + 1] as number;
              if (n >= lim) {
                lim = this.#checkLimits(n, pc);
                n = 0;
              }
            } else pc = (pc + 1) | 0;
            continue next;
          }
          case 76: {
            // JSLT_K
            const d = (w >>> 8) & 0xff;
            const ah = R[d + 1] as number;
            const bh = R[i + 3] as number;
            if (ah < bh || (ah === bh && (R[d] as number) >>> 0 < (R[i + 2] as number) >>> 0)) {
              pc = R[i + 1] as number;
              if (n >= lim) {
                lim = this.#checkLimits(n, pc);
                n = 0;
              }
            } else pc = (pc + 1) | 0;
            continue next;
          }
          case 77: {
            // JSLE_K
            const d = (w >>> 8) & 0xff;
            const ah = R[d + 1] as number;
            const bh = R[i + 3] as number;
            if (ah < bh || (ah === bh && (R[d] as number) >>> 0 <= (R[i + 2] as number) >>> 0)) {
              pc = R[i + 1] as number;
              if (n >= lim) {
                lim = this.#checkLimits(n, pc);
                n = 0;
              }
            } else pc = (pc + 1) | 0;
            continue next;
          }
          case 78: {
            // JEQ_X
            const d = (w >>> 8) & 0xff;
            const s = w >>> 16;
            if (R[d] === R[s] && R[d + 1] === R[s + 1]) {
              pc = R[i + 1] as number;
              if (n >= lim) {
                lim = this.#checkLimits(n, pc);
                n = 0;
              }
            } else pc = (pc + 1) | 0;
            continue next;
          }
          case 79: {
            // JGT_X
            const d = (w >>> 8) & 0xff;
            const s = w >>> 16;
            const ah = (R[d + 1] as number) >>> 0;
            const bh = (R[s + 1] as number) >>> 0;
            if (ah > bh || (ah === bh && (R[d] as number) >>> 0 > (R[s] as number) >>> 0)) {
              pc = R[i + 1] as number;
              if (n >= lim) {
                lim = this.#checkLimits(n, pc);
                n = 0;
              }
            } else pc = (pc + 1) | 0;
            continue next;
          }
          case 80: {
            // JGE_X
            const d = (w >>> 8) & 0xff;
            const s = w >>> 16;
            const ah = (R[d + 1] as number) >>> 0;
            const bh = (R[s + 1] as number) >>> 0;
            if (ah > bh || (ah === bh && (R[d] as number) >>> 0 >= (R[s] as number) >>> 0)) {
              pc = R[i + 1] as number;
              if (n >= lim) {
                lim = this.#checkLimits(n, pc);
                n = 0;
              }
            } else pc = (pc + 1) | 0;
            continue next;
          }
          case 81: {
            // JSET_X
            const d = (w >>> 8) & 0xff;
            const s = w >>> 16;
            if (
              ((R[d] as number) & (R[s] as number)) !== 0 ||
              ((R[d + 1] as number) & (R[s + 1] as number)) !== 0
            ) {
              pc = R[i + 1] as number;
              if (n >= lim) {
                lim = this.#checkLimits(n, pc);
                n = 0;
              }
            } else pc = (pc + 1) | 0;
            continue next;
          }
          case 82: {
            // JNE_X
            const d = (w >>> 8) & 0xff;
            const s = w >>> 16;
            if (R[d] !== R[s] || R[d + 1] !== R[s + 1]) {
              pc = R[i + 1] as number;
              if (n >= lim) {
                lim = this.#checkLimits(n, pc);
                n = 0;
              }
            } else pc = (pc + 1) | 0;
            continue next;
          }
          case 83: {
            // JSGT_X
            const d = (w >>> 8) & 0xff;
            const s = w >>> 16;
            const ah = R[d + 1] as number;
            const bh = R[s + 1] as number;
            if (ah > bh || (ah === bh && (R[d] as number) >>> 0 > (R[s] as number) >>> 0)) {
              pc = R[i + 1] as number;
              if (n >= lim) {
                lim = this.#checkLimits(n, pc);
                n = 0;
              }
            } else pc = (pc + 1) | 0;
            continue next;
          }
          case 84: {
            // JSGE_X
            const d = (w >>> 8) & 0xff;
            const s = w >>> 16;
            const ah = R[d + 1] as number;
            const bh = R[s + 1] as number;
            if (ah > bh || (ah === bh && (R[d] as number) >>> 0 >= (R[s] as number) >>> 0)) {
              pc = R[i + 1] as number;
              if (n >= lim) {
                lim = this.#checkLimits(n, pc);
                n = 0;
              }
            } else pc = (pc + 1) | 0;
            continue next;
          }
          case 85: {
            // JLT_X
            const d = (w >>> 8) & 0xff;
            const s = w >>> 16;
            const ah = (R[d + 1] as number) >>> 0;
            const bh = (R[s + 1] as number) >>> 0;
            if (ah < bh || (ah === bh && (R[d] as number) >>> 0 < (R[s] as number) >>> 0)) {
              pc = R[i + 1] as number;
              if (n >= lim) {
                lim = this.#checkLimits(n, pc);
                n = 0;
              }
            } else pc = (pc + 1) | 0;
            continue next;
          }
          case 86: {
            // JLE_X
            const d = (w >>> 8) & 0xff;
            const s = w >>> 16;
            const ah = (R[d + 1] as number) >>> 0;
            const bh = (R[s + 1] as number) >>> 0;
            if (ah < bh || (ah === bh && (R[d] as number) >>> 0 <= (R[s] as number) >>> 0)) {
              pc = R[i + 1] as number;
              if (n >= lim) {
                lim = this.#checkLimits(n, pc);
                n = 0;
              }
            } else pc = (pc + 1) | 0;
            continue next;
          }
          case 87: {
            // JSLT_X
            const d = (w >>> 8) & 0xff;
            const s = w >>> 16;
            const ah = R[d + 1] as number;
            const bh = R[s + 1] as number;
            if (ah < bh || (ah === bh && (R[d] as number) >>> 0 < (R[s] as number) >>> 0)) {
              pc = R[i + 1] as number;
              if (n >= lim) {
                lim = this.#checkLimits(n, pc);
                n = 0;
              }
            } else pc = (pc + 1) | 0;
            continue next;
          }
          case 88: {
            // JSLE_X
            const d = (w >>> 8) & 0xff;
            const s = w >>> 16;
            const ah = R[d + 1] as number;
            const bh = R[s + 1] as number;
            if (ah < bh || (ah === bh && (R[d] as number) >>> 0 <= (R[s] as number) >>> 0)) {
              pc = R[i + 1] as number;
              if (n >= lim) {
                lim = this.#checkLimits(n, pc);
                n = 0;
              }
            } else pc = (pc + 1) | 0;
            continue next;
          }
          case 89: // JEQ32_K
            if (R[(w >>> 8) & 0xff] === R[i + 2]) {
              pc = R[i + 1] as number;
              if (n >= lim) {
                lim = this.#checkLimits(n, pc);
                n = 0;
              }
            } else pc = (pc + 1) | 0;
            continue next;
          case 90: // JGT32_K
            if ((R[(w >>> 8) & 0xff] as number) >>> 0 > (R[i + 2] as number) >>> 0) {
              pc = R[i + 1] as number;
              if (n >= lim) {
                lim = this.#checkLimits(n, pc);
                n = 0;
              }
            } else pc = (pc + 1) | 0;
            continue next;
          case 91: // JGE32_K
            if ((R[(w >>> 8) & 0xff] as number) >>> 0 >= (R[i + 2] as number) >>> 0) {
              pc = R[i + 1] as number;
              if (n >= lim) {
                lim = this.#checkLimits(n, pc);
                n = 0;
              }
            } else pc = (pc + 1) | 0;
            continue next;
          case 92: // JSET32_K
            if (((R[(w >>> 8) & 0xff] as number) & (R[i + 2] as number)) !== 0) {
              pc = R[i + 1] as number;
              if (n >= lim) {
                lim = this.#checkLimits(n, pc);
                n = 0;
              }
            } else pc = (pc + 1) | 0;
            continue next;
          case 93: // JNE32_K
            if (R[(w >>> 8) & 0xff] !== R[i + 2]) {
              pc = R[i + 1] as number;
              if (n >= lim) {
                lim = this.#checkLimits(n, pc);
                n = 0;
              }
            } else pc = (pc + 1) | 0;
            continue next;
          case 94: // JSGT32_K
            if ((R[(w >>> 8) & 0xff] as number) > (R[i + 2] as number)) {
              pc = R[i + 1] as number;
              if (n >= lim) {
                lim = this.#checkLimits(n, pc);
                n = 0;
              }
            } else pc = (pc + 1) | 0;
            continue next;
          case 95: // JSGE32_K
            if ((R[(w >>> 8) & 0xff] as number) >= (R[i + 2] as number)) {
              pc = R[i + 1] as number;
              if (n >= lim) {
                lim = this.#checkLimits(n, pc);
                n = 0;
              }
            } else pc = (pc + 1) | 0;
            continue next;
          case 96: // JLT32_K
            if ((R[(w >>> 8) & 0xff] as number) >>> 0 < (R[i + 2] as number) >>> 0) {
              pc = R[i + 1] as number;
              if (n >= lim) {
                lim = this.#checkLimits(n, pc);
                n = 0;
              }
            } else pc = (pc + 1) | 0;
            continue next;
          case 97: // JLE32_K
            if ((R[(w >>> 8) & 0xff] as number) >>> 0 <= (R[i + 2] as number) >>> 0) {
              pc = R[i + 1] as number;
              if (n >= lim) {
                lim = this.#checkLimits(n, pc);
                n = 0;
              }
            } else pc = (pc + 1) | 0;
            continue next;
          case 98: // JSLT32_K
            if ((R[(w >>> 8) & 0xff] as number) < (R[i + 2] as number)) {
              pc = R[i + 1] as number;
              if (n >= lim) {
                lim = this.#checkLimits(n, pc);
                n = 0;
              }
            } else pc = (pc + 1) | 0;
            continue next;
          case 99: // JSLE32_K
            if ((R[(w >>> 8) & 0xff] as number) <= (R[i + 2] as number)) {
              pc = R[i + 1] as number;
              if (n >= lim) {
                lim = this.#checkLimits(n, pc);
                n = 0;
              }
            } else pc = (pc + 1) | 0;
            continue next;
          case 100: // JEQ32_X
            if (R[(w >>> 8) & 0xff] === R[w >>> 16]) {
              pc = R[i + 1] as number;
              if (n >= lim) {
                lim = this.#checkLimits(n, pc);
                n = 0;
              }
            } else pc = (pc + 1) | 0;
            continue next;
          case 101: // JGT32_X
            if ((R[(w >>> 8) & 0xff] as number) >>> 0 > (R[w >>> 16] as number) >>> 0) {
              pc = R[i + 1] as number;
              if (n >= lim) {
                lim = this.#checkLimits(n, pc);
                n = 0;
              }
            } else pc = (pc + 1) | 0;
            continue next;
          case 102: // JGE32_X
            if ((R[(w >>> 8) & 0xff] as number) >>> 0 >= (R[w >>> 16] as number) >>> 0) {
              pc = R[i + 1] as number;
              if (n >= lim) {
                lim = this.#checkLimits(n, pc);
                n = 0;
              }
            } else pc = (pc + 1) | 0;
            continue next;
          case 103: // JSET32_X
            if (((R[(w >>> 8) & 0xff] as number) & (R[w >>> 16] as number)) !== 0) {
              pc = R[i + 1] as number;
              if (n >= lim) {
                lim = this.#checkLimits(n, pc);
                n = 0;
              }
            } else pc = (pc + 1) | 0;
            continue next;
          case 104: // JNE32_X
            if (R[(w >>> 8) & 0xff] !== R[w >>> 16]) {
              pc = R[i + 1] as number;
              if (n >= lim) {
                lim = this.#checkLimits(n, pc);
                n = 0;
              }
            } else pc = (pc + 1) | 0;
            continue next;
          case 105: // JSGT32_X
            if ((R[(w >>> 8) & 0xff] as number) > (R[w >>> 16] as number)) {
              pc = R[i + 1] as number;
              if (n >= lim) {
                lim = this.#checkLimits(n, pc);
                n = 0;
              }
            } else pc = (pc + 1) | 0;
            continue next;
          case 106: // JSGE32_X
            if ((R[(w >>> 8) & 0xff] as number) >= (R[w >>> 16] as number)) {
              pc = R[i + 1] as number;
              if (n >= lim) {
                lim = this.#checkLimits(n, pc);
                n = 0;
              }
            } else pc = (pc + 1) | 0;
            continue next;
          case 107: // JLT32_X
            if ((R[(w >>> 8) & 0xff] as number) >>> 0 < (R[w >>> 16] as number) >>> 0) {
              pc = R[i + 1] as number;
              if (n >= lim) {
                lim = this.#checkLimits(n, pc);
                n = 0;
              }
            } else pc = (pc + 1) | 0;
            continue next;
          case 108: // JLE32_X
            if ((R[(w >>> 8) & 0xff] as number) >>> 0 <= (R[w >>> 16] as number) >>> 0) {
              pc = R[i + 1] as number;
              if (n >= lim) {
                lim = this.#checkLimits(n, pc);
                n = 0;
              }
            } else pc = (pc + 1) | 0;
            continue next;
          case 109: // JSLT32_X
            if ((R[(w >>> 8) & 0xff] as number) < (R[w >>> 16] as number)) {
              pc = R[i + 1] as number;
              if (n >= lim) {
                lim = this.#checkLimits(n, pc);
                n = 0;
              }
            } else pc = (pc + 1) | 0;
            continue next;
          case 110: // JSLE32_X
            if ((R[(w >>> 8) & 0xff] as number) <= (R[w >>> 16] as number)) {
              pc = R[i + 1] as number;
              if (n >= lim) {
                lim = this.#checkLimits(n, pc);
                n = 0;
              }
            } else pc = (pc + 1) | 0;
            continue next;
          case 111: {
            // MAY_GOTO: taken once this frame's loop budget is used up.
            const left = mg[depth] as number;
            if (left === 0) {
              pc = R[i + 1] as number;
              if (n >= lim) {
                lim = this.#checkLimits(n, pc);
                n = 0;
              }
            } else {
              mg[depth] = left - 1;
              pc = (pc + 1) | 0;
            }
            continue next;
          }
          case 112: {
            // CALL_HELPER
            this.#n = n;
            this.#lim = lim;
            const r = this.#callHelper(R[i + 2] as number, pc, depth);
            n = this.#n | 0;
            lim = this.#lim;
            R = this.#use(C);
            if (r === CONTINUE) {
              pc = (pc + 1) | 0;
              continue next;
            }
            if (r === STOP) return;
            prog = this.#prog as Program;
            T = prog.code;
            C = tracer === undefined ? T : tracedCode(prog);
            R = this.#use(C);
            pc = 0;
            continue next;
          }
          case 113: // CALL_LOCAL
            this.#n = n;
            this.#pushFrame(prog, pc + 1, depth, pc);
            depth++;
            pc = R[i + 1] as number;
            if (n >= lim) {
              lim = this.#checkLimits(n, pc);
              n = 0;
            }
            continue next;
          case 114: {
            // CALL_KFUNC
            this.#n = n;
            this.#lim = lim;
            const r = this.#callKfunc(R[i + 2] as number, pc, depth);
            n = this.#n | 0;
            lim = this.#lim;
            R = this.#use(C);
            if (r === STOP) return;
            pc = (pc + 1) | 0;
            continue next;
          }
          case 115: {
            // CALLX: a code address calls a subprogram; a small number calls that helper (uBPF).
            const s = w >>> 16;
            const hi = R[s + 1] as number;
            const lo = R[s] as number;
            if (hi === 0) {
              this.#n = n;
              this.#lim = lim;
              const r = this.#callHelper(lo, pc, depth);
              n = this.#n | 0;
              lim = this.#lim;
              R = this.#use(C);
              if (r === CONTINUE) {
                pc = (pc + 1) | 0;
                continue next;
              }
              if (r === STOP) return;
              prog = this.#prog as Program;
              T = prog.code;
              C = tracer === undefined ? T : tracedCode(prog);
              R = this.#use(C);
              pc = 0;
              continue next;
            }
            const t = this.#codeTarget(prog, hi, lo);
            if (t < 0) {
              this.#n = n;
              const a = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
              throw this.#fault("call", `callx to 0x${a.toString(16)}, which is not a subprogram`, pc);
            }
            this.#n = n;
            this.#pushFrame(prog, pc + 1, depth, pc);
            depth++;
            pc = t | 0;
            if (n >= lim) {
              lim = this.#checkLimits(n, pc);
              n = 0;
            }
            continue next;
          }
          case 116: // EXIT
            if (depth === baseDepth) {
              this.#n = n;
              this.#lim = lim;
              return;
            }
            depth--;
            pc = this.#frameRet[depth] as number;
            {
              const caller = this.#popFrame(depth);
              if (caller !== prog) {
                prog = caller;
                T = prog.code;
                C = tracer === undefined ? T : tracedCode(prog);
                R = this.#use(C);
              }
            }
            continue next;
          case 117: {
            // LDXB
            const s = w >>> 16;
            const a = ((R[s] as number) >>> 0) + (R[i + 1] as number);
            const ri = ((R[s + 1] as number) - HB) >>> 0;
            if (ri < rl.length && a >= 0 && a + 1 <= (rl[ri] as number)) {
              const d = (w >>> 8) & 0xff;
              R[d] = (bytes[ri] as Uint8Array)[a] as number;
              R[d + 1] = 0;
              pc = (pc + 1) | 0;
              continue next;
            }
            throw this.#memFault(R[s + 1] as number, a, 1, false, pc, n);
          }
          case 118: {
            // LDXH
            const s = w >>> 16;
            const a = ((R[s] as number) >>> 0) + (R[i + 1] as number);
            const ri = ((R[s + 1] as number) - HB) >>> 0;
            if (ri < rl.length && a >= 0 && a + 2 <= (rl[ri] as number)) {
              const d = (w >>> 8) & 0xff;
              R[d] = (views[ri] as DataView).getUint16(a, true);
              R[d + 1] = 0;
              pc = (pc + 1) | 0;
              continue next;
            }
            throw this.#memFault(R[s + 1] as number, a, 2, false, pc, n);
          }
          case 119: {
            // LDXW
            const s = w >>> 16;
            const a = ((R[s] as number) >>> 0) + (R[i + 1] as number);
            const ri = ((R[s + 1] as number) - HB) >>> 0;
            if (ri < rl.length && a >= 0 && a + 4 <= (rl[ri] as number)) {
              const d = (w >>> 8) & 0xff;
              R[d] = (views[ri] as DataView).getInt32(a, true);
              R[d + 1] = 0;
              pc = (pc + 1) | 0;
              continue next;
            }
            throw this.#memFault(R[s + 1] as number, a, 4, false, pc, n);
          }
          case 120: {
            // LDXDW
            const s = w >>> 16;
            const a = ((R[s] as number) >>> 0) + (R[i + 1] as number);
            const ri = ((R[s + 1] as number) - HB) >>> 0;
            if (ri < rl.length && a >= 0 && a + 8 <= (rl[ri] as number)) {
              const d = (w >>> 8) & 0xff;
              const v = views[ri] as DataView;
              R[d] = v.getInt32(a, true);
              R[d + 1] = v.getInt32(a + 4, true);
              pc = (pc + 1) | 0;
              continue next;
            }
            throw this.#memFault(R[s + 1] as number, a, 8, false, pc, n);
          }
          case 121: {
            // LDXSB
            const s = w >>> 16;
            const a = ((R[s] as number) >>> 0) + (R[i + 1] as number);
            const ri = ((R[s + 1] as number) - HB) >>> 0;
            if (ri < rl.length && a >= 0 && a + 1 <= (rl[ri] as number)) {
              const d = (w >>> 8) & 0xff;
              const v = (((bytes[ri] as Uint8Array)[a] as number) << 24) >> 24;
              R[d] = v;
              R[d + 1] = v >> 31;
              pc = (pc + 1) | 0;
              continue next;
            }
            throw this.#memFault(R[s + 1] as number, a, 1, false, pc, n);
          }
          case 122: {
            // LDXSH
            const s = w >>> 16;
            const a = ((R[s] as number) >>> 0) + (R[i + 1] as number);
            const ri = ((R[s + 1] as number) - HB) >>> 0;
            if (ri < rl.length && a >= 0 && a + 2 <= (rl[ri] as number)) {
              const d = (w >>> 8) & 0xff;
              const v = (views[ri] as DataView).getInt16(a, true);
              R[d] = v;
              R[d + 1] = v >> 31;
              pc = (pc + 1) | 0;
              continue next;
            }
            throw this.#memFault(R[s + 1] as number, a, 2, false, pc, n);
          }
          case 123: {
            // LDXSW
            const s = w >>> 16;
            const a = ((R[s] as number) >>> 0) + (R[i + 1] as number);
            const ri = ((R[s + 1] as number) - HB) >>> 0;
            if (ri < rl.length && a >= 0 && a + 4 <= (rl[ri] as number)) {
              const d = (w >>> 8) & 0xff;
              const v = (views[ri] as DataView).getInt32(a, true);
              R[d] = v;
              R[d + 1] = v >> 31;
              pc = (pc + 1) | 0;
              continue next;
            }
            throw this.#memFault(R[s + 1] as number, a, 4, false, pc, n);
          }
          case 124: {
            // STB
            const d = (w >>> 8) & 0xff;
            const a = ((R[d] as number) >>> 0) + (R[i + 1] as number);
            const ri = ((R[d + 1] as number) - HB) >>> 0;
            if (ri < wl.length && a >= 0 && a + 1 <= (wl[ri] as number)) {
              (bytes[ri] as Uint8Array)[a] = R[i + 2] as number;
              pc = (pc + 1) | 0;
              continue next;
            }
            throw this.#memFault(R[d + 1] as number, a, 1, true, pc, n);
          }
          case 125: {
            // STH
            const d = (w >>> 8) & 0xff;
            const a = ((R[d] as number) >>> 0) + (R[i + 1] as number);
            const ri = ((R[d + 1] as number) - HB) >>> 0;
            if (ri < wl.length && a >= 0 && a + 2 <= (wl[ri] as number)) {
              (views[ri] as DataView).setInt16(a, R[i + 2] as number, true);
              pc = (pc + 1) | 0;
              continue next;
            }
            throw this.#memFault(R[d + 1] as number, a, 2, true, pc, n);
          }
          case 126: {
            // STW
            const d = (w >>> 8) & 0xff;
            const a = ((R[d] as number) >>> 0) + (R[i + 1] as number);
            const ri = ((R[d + 1] as number) - HB) >>> 0;
            if (ri < wl.length && a >= 0 && a + 4 <= (wl[ri] as number)) {
              (views[ri] as DataView).setInt32(a, R[i + 2] as number, true);
              pc = (pc + 1) | 0;
              continue next;
            }
            throw this.#memFault(R[d + 1] as number, a, 4, true, pc, n);
          }
          case 127: {
            // STDW
            const d = (w >>> 8) & 0xff;
            const a = ((R[d] as number) >>> 0) + (R[i + 1] as number);
            const ri = ((R[d + 1] as number) - HB) >>> 0;
            if (ri < wl.length && a >= 0 && a + 8 <= (wl[ri] as number)) {
              const v = views[ri] as DataView;
              v.setInt32(a, R[i + 2] as number, true);
              v.setInt32(a + 4, R[i + 3] as number, true);
              pc = (pc + 1) | 0;
              continue next;
            }
            throw this.#memFault(R[d + 1] as number, a, 8, true, pc, n);
          }
          case 128: {
            // STXB
            const d = (w >>> 8) & 0xff;
            const a = ((R[d] as number) >>> 0) + (R[i + 1] as number);
            const ri = ((R[d + 1] as number) - HB) >>> 0;
            if (ri < wl.length && a >= 0 && a + 1 <= (wl[ri] as number)) {
              (bytes[ri] as Uint8Array)[a] = R[w >>> 16] as number;
              pc = (pc + 1) | 0;
              continue next;
            }
            throw this.#memFault(R[d + 1] as number, a, 1, true, pc, n);
          }
          case 129: {
            // STXH
            const d = (w >>> 8) & 0xff;
            const a = ((R[d] as number) >>> 0) + (R[i + 1] as number);
            const ri = ((R[d + 1] as number) - HB) >>> 0;
            if (ri < wl.length && a >= 0 && a + 2 <= (wl[ri] as number)) {
              (views[ri] as DataView).setInt16(a, R[w >>> 16] as number, true);
              pc = (pc + 1) | 0;
              continue next;
            }
            throw this.#memFault(R[d + 1] as number, a, 2, true, pc, n);
          }
          case 130: {
            // STXW
            const d = (w >>> 8) & 0xff;
            const a = ((R[d] as number) >>> 0) + (R[i + 1] as number);
            const ri = ((R[d + 1] as number) - HB) >>> 0;
            if (ri < wl.length && a >= 0 && a + 4 <= (wl[ri] as number)) {
              (views[ri] as DataView).setInt32(a, R[w >>> 16] as number, true);
              pc = (pc + 1) | 0;
              continue next;
            }
            throw this.#memFault(R[d + 1] as number, a, 4, true, pc, n);
          }
          case 131: {
            // STXDW
            const d = (w >>> 8) & 0xff;
            const a = ((R[d] as number) >>> 0) + (R[i + 1] as number);
            const ri = ((R[d + 1] as number) - HB) >>> 0;
            if (ri < wl.length && a >= 0 && a + 8 <= (wl[ri] as number)) {
              const v = views[ri] as DataView;
              const s = w >>> 16;
              v.setInt32(a, R[s] as number, true);
              v.setInt32(a + 4, R[s + 1] as number, true);
              pc = (pc + 1) | 0;
              continue next;
            }
            throw this.#memFault(R[d + 1] as number, a, 8, true, pc, n);
          }
          case 132: {
            // ATOMIC
            this.#n = n;
            const err = atomic(R, mem, R, i, pc);
            if (err !== undefined) throw err;
            pc = (pc + 1) | 0;
            continue next;
          }
          case 133: // LD_ABS
          case 134: {
            // LD_IND
            this.#n = n;
            const ok = ldPacket(R, this.#packet, R, i, (w & 0xff) === 134, pc);
            if (!ok) {
              // Linux ends the program with r0 = 0 when a legacy packet load is out of bounds.
              R[0] = 0;
              R[1] = 0;
              if (depth === baseDepth) return;
              throw this.#fault("access", "legacy packet load out of bounds inside a subprogram", pc);
            }
            pc = (pc + 1) | 0;
            continue next;
          }
          case 136: {
            // LDDW
            const d = (w >>> 8) & 0xff;
            R[d] = R[i + 2] as number;
            R[d + 1] = R[i + 3] as number;
            pc += 2;
            continue next;
          }
          case 137:
            // TRACE
            this.#n = n;
            (tracer as NonNullable<RunOptions["trace"]>)(pc, depth, prog);
            w = T[i - CODE_BASE] as number;
            continue;
          default:
            // LDDW_HI (135): the high half of an lddw or the sentinel past the last slot.
            this.#n = n;
            throw this.#fault(
              "access",
              pc >= prog.slots
                ? "execution ran past the last instruction"
                : "execution reached the high half of an lddw",
              pc,
            );
        }
      }
    }
  }
}

const traced = new WeakMap<Program, Int32Array>();

/** The code of `prog` with every op replaced by TRACE (137), made once per program. */
function tracedCode(prog: Program): Int32Array {
  let code = traced.get(prog);
  if (code === undefined) {
    code = prog.code.slice();
    for (let i = 0; i < code.length; i += 4) code[i] = ((code[i] as number) & ~0xff) | 137;
    traced.set(prog, code);
  }
  return code;
}

function emptyStats(): RunStats {
  return { insns: 0, wallNs: 0, helperCalls: 0, kfuncCalls: 0, localCalls: 0, tailCalls: 0, maxFrames: 1 };
}
