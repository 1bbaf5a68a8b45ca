import type { Instruction } from "@bpfkit/bpf-isa";
import { classify, decode, HELPER_MAX_ID, helperId, helperName } from "@bpfkit/bpf-isa";
import type { Btf } from "@bpfkit/btf";
import {
  BPF_FUNC_TAIL_CALL,
  type Engine,
  loadProgram,
  Memory,
  type Program,
  type Region,
  type RunStats,
  Vm,
} from "@bpfkit/vm";
import { type ContextSpec, contextFor, rewriteContextAccess } from "./context.js";
import { RuntimeError } from "./error.js";
import { HELPERS_BY_NAME } from "./helpers/index.js";
import { GENERIC_KFUNCS } from "./kfuncs/generic.js";
import { type KfuncDef, KfuncRegistry } from "./kfuncs/registry.js";
import { ArrayMap } from "./maps/array.js";
import { createMap } from "./maps/create.js";
import { type DumpEntry, dumpMap } from "./maps/dump.js";
import { FdMap, type FdTarget } from "./maps/fd-maps.js";
import type { BpfMap, MapSpec } from "./maps/map.js";
import { type SystemSnapshot, TaskTable } from "./tasks.js";

/** Time sources of the time helpers; fixed clocks make runs reproducible. */
export interface Clock {
  monotonicNs(): bigint;
  bootNs(): bigint;
}

/** A clock that starts at `startNs` and advances `stepNs` per reading. */
export function steppingClock(startNs = 1_000_000_000n, stepNs = 1000n): Clock {
  let t = startNs;
  const tick = (): bigint => {
    const v = t;
    t += stepNs;
    return v;
  };
  return { monotonicNs: tick, bootNs: tick };
}

/** The host's clock (monotonic and boot time both from `process.hrtime`). */
export const hostClock: Clock = {
  monotonicNs: () => process.hrtime.bigint(),
  bootNs: () => process.hrtime.bigint(),
};

export interface RuntimeOptions {
  /** Target kernel BTF: kfunc ids and prototypes, task_struct layout, map value formatting. */
  btf?: Btf;
  /** Tasks and the current task; default: one task, pid 1 "init". */
  snapshot?: SystemSnapshot;
  /** Possible CPUs (per-CPU map copies); default: the snapshot's, else 1. */
  cpus?: number;
  /** CPU the program runs on (bpf_get_smp_processor_id). Default 0. */
  cpu?: number;
  /** Seed of bpf_get_prandom_u32. Default 1. */
  seed?: number;
  clock?: Clock;
  /** Kfuncs to bind; default: the generic kfuncs. Extend with `defaultKfuncs().register(...)`. */
  kfuncs?: KfuncRegistry;
  /** Instruction budget per run (default 100M, so a runaway loop ends with an error). */
  maxInsns?: number;
  /** The VM's execution engine (default `"interpreter"`; `"compiled"` translates programs to JavaScript). */
  engine?: Engine;
}

/** Program types the runtime gives a context for. */
export type ProgType =
  | "syscall"
  | "xdp"
  | "socket_filter"
  | "sched_cls"
  | "tracing"
  | "raw_tracepoint"
  | "kprobe"
  | "iter";

/** A program as a loader hands it over: instructions with map references still as fds or indices. */
export interface ProgramSpec {
  name: string;
  type: ProgType;
  insns: readonly Instruction[] | Uint8Array;
  /** Maps for `BPF_PSEUDO_MAP_IDX(_VALUE)` (the fd_array); `BPF_PSEUDO_MAP_FD` uses `Runtime.fd`. */
  maps?: readonly BpfMap[];
}

/** A loaded program: runnable, and a prog_array target. */
export class RuntimeProgram implements FdTarget {
  constructor(
    readonly id: number,
    readonly name: string,
    readonly type: ProgType,
    readonly program: Program,
  ) {}
}

export interface RunInput {
  /** Context bytes (syscall: the whole ctx; others: ignored or the ctx_in of BPF_PROG_TEST_RUN). */
  ctx?: Uint8Array;
  /** Packet bytes (xdp, socket filter, tc). */
  data?: Uint8Array;
  /** Runs, like BPF_PROG_TEST_RUN's repeat (default 1); the output is the last run's. */
  repeat?: number;
}

export interface RunOutput {
  /** r0 of the last run, truncated to 32 bits and signed (as BPF_PROG_TEST_RUN reports it). */
  retval: number;
  /** Full 64-bit r0. */
  r0: bigint;
  ctxOut: Uint8Array | undefined;
  dataOut: Uint8Array | undefined;
  stats: { insns: number; nsPerRun: number; runs: RunStats };
}

/** Fd ids for the runtime's objects start here, like a process's first free fds. */
const FIRST_FD = 3;
/** Synthetic kfunc ids when there is no target BTF (above any vmlinux id). */
const SYNTHETIC_KFUNC_BASE = 0x7f000000;

/** A copy of the generic kfuncs, ready to extend. */
export function defaultKfuncs(): KfuncRegistry {
  return new KfuncRegistry().registerAll(GENERIC_KFUNCS);
}

/**
 * The kernel around programs: guest memory shared by maps, tasks and the VM; an fd table; helpers
 * and kfuncs bound to the VM; program types and their contexts.
 */
export class Runtime {
  readonly memory = new Memory();
  readonly vm: Vm;
  readonly tasks: TaskTable;
  readonly maps: BpfMap[] = [];
  readonly programs: RuntimeProgram[] = [];
  /** Text from bpf_trace_printk / bpf_trace_vprintk, one entry per call. */
  readonly output: string[] = [];
  /** What bpf_seq_printf / bpf_seq_write wrote during `runTaskIter` (the file user space reads). */
  iterOutput = "";
  /** @internal The seq_file stand-in of the running iterator, or undefined outside one. */
  iterSeq: bigint | undefined;
  /**
   * Kernel state the kfuncs track: RCU read-side depth, and the bit copies of multi-word bits
   * iterators by iterator address (the kernel keeps them in bpf_mem_alloc memory).
   */
  readonly state = { rcuDepth: 0, iterBits: new Map<bigint, Uint8Array>() };
  readonly btf: Btf | undefined;
  readonly kfuncs: KfuncRegistry;
  readonly nrCpus: number;
  cpu: number;
  clock: Clock;
  readonly #fds = new Map<number, FdTarget>();
  readonly #fdOf = new Map<FdTarget, number>();
  readonly #mapsByAddress = new Map<bigint, BpfMap>();
  readonly #kfuncIds = new Map<string, number>();
  readonly #kfuncById = new Map<number, KfuncDef>();
  #rng: number;
  #mapIds = 0;
  #progIds = 0;
  #scratch: Region | undefined;

  constructor(options: RuntimeOptions = {}) {
    this.btf = options.btf;
    const snapshot = options.snapshot ?? { tasks: [{ pid: 1, tgid: 1, comm: "init" }] };
    this.nrCpus = options.cpus ?? snapshot.cpus ?? 1;
    this.cpu = options.cpu ?? 0;
    this.clock = options.clock ?? hostClock;
    this.#rng = (options.seed ?? 1) >>> 0 || 1;
    this.vm = new Vm({
      memory: this.memory,
      engine: options.engine,
      maxInsns: options.maxInsns ?? 100_000_000,
      resolveTailCall: (address, index) => {
        const map = this.#mapsByAddress.get(address);
        if (!(map instanceof FdMap)) return undefined;
        const target = map.at(index);
        return target instanceof RuntimeProgram ? target.program : undefined;
      },
    });
    this.tasks = new TaskTable(this.memory, snapshot, options.btf);
    this.kfuncs = options.kfuncs ?? defaultKfuncs();
    this.#bindHelpers();
    this.#bindKfuncs();
  }

  #bindHelpers(): void {
    for (let id = 1; id <= HELPER_MAX_ID; id++) {
      if (id === BPF_FUNC_TAIL_CALL) continue;
      const name = (helperName(id) ?? `bpf_#${id}`).slice(4);
      const impl = HELPERS_BY_NAME[name];
      if (impl) this.vm.registerHelper(id, (call) => impl(call, this), `bpf_${name}`);
      else
        this.vm.registerHelper(
          id,
          () => {
            throw new RuntimeError(`helper bpf_${name} (id ${id}) is not implemented by the runtime`, {
              kind: "helper",
              name: `bpf_${name}`,
            });
          },
          `bpf_${name}`,
        );
    }
  }

  #bindKfuncs(): void {
    let synthetic = SYNTHETIC_KFUNC_BASE;
    for (const name of this.kfuncs.names) {
      const def = this.kfuncs.require(name);
      const id = this.btf?.find(name, 12) ?? synthetic++;
      this.#kfuncIds.set(name, id);
      this.#kfuncById.set(id, def);
      this.vm.registerKfunc(id, (call) => def.impl(call, this));
    }
  }

  /** The id `call` instructions use for kfunc `name` (its BTF id in the target BTF). */
  kfuncId(name: string): number {
    const id = this.#kfuncIds.get(name);
    if (id === undefined) throw new RuntimeError(`kfunc ${name} is not registered`, { kind: "kfunc", name });
    return id;
  }

  /** The BTF FUNC_PROTO id of a bound kfunc, when the target BTF has it. */
  kfuncProto(name: string): number | undefined {
    const id = this.#kfuncIds.get(name);
    return id !== undefined && id < SYNTHETIC_KFUNC_BASE && this.btf ? this.btf.sizeOrType(id) : undefined;
  }

  nextMapId(): number {
    return ++this.#mapIds;
  }

  /** Creates a map (kernel checks included) and gives it an fd. */
  createMap(spec: MapSpec): BpfMap {
    const map = createMap(spec, {
      memory: this.memory,
      nrCpus: this.nrCpus,
      cpu: () => this.cpu,
      nextMapId: () => this.nextMapId(),
      resolveFd: (fd) => this.#fds.get(fd),
      taskByPid: (pid) => this.tasks.get(pid),
      isProgram: (t) => t instanceof RuntimeProgram,
    });
    this.maps.push(map);
    this.#mapsByAddress.set(map.address, map);
    this.fd(map);
    return map;
  }

  /**
   * A global data map (.data, .rodata, .bss, .kconfig): a one-element array holding `initial`,
   * frozen and read-only to programs when `readonly` (libbpf's treatment of .rodata).
   */
  createGlobalData(
    name: string,
    initial: Uint8Array,
    options: { readonly?: boolean; btf?: Btf; btfValueTypeId?: number; valueSize?: number } = {},
  ): ArrayMap {
    const map = this.createMap({
      name,
      type: 2,
      keySize: 4,
      valueSize: options.valueSize ?? Math.max(initial.length, 1),
      maxEntries: 1,
      flags: (options.readonly ? 1 << 7 : 0) | (1 << 10),
      btf: options.btf,
      btfValueTypeId: options.btfValueTypeId,
    }) as ArrayMap;
    map.element(0).set(initial.subarray(0, map.valueSize));
    if (options.readonly) map.freeze();
    return map;
  }

  /** The fd of a map or program (allocated on first use). */
  fd(target: FdTarget): number {
    let fd = this.#fdOf.get(target);
    if (fd === undefined) {
      fd = FIRST_FD + this.#fds.size;
      this.#fds.set(fd, target);
      this.#fdOf.set(target, fd);
    }
    return fd;
  }

  /** The map or program behind an fd. */
  byFd(fd: number): FdTarget | undefined {
    return this.#fds.get(fd);
  }

  /** The map whose `struct bpf_map` is at `address`; a RuntimeError otherwise. */
  mapAt(address: bigint): BpfMap {
    const map = this.#mapsByAddress.get(BigInt.asUintN(64, address));
    if (!map)
      throw new RuntimeError(`0x${address.toString(16)} is not a map`, {
        kind: "helper",
        name: "map argument",
      });
    return map;
  }

  map(name: string): BpfMap | undefined {
    return this.maps.find((m) => m.name === name);
  }

  /** Next value of bpf_get_prandom_u32 (xorshift32 from the seed). */
  random(): number {
    let x = this.#rng;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#rng = x >>> 0;
    return this.#rng;
  }

  /** Copies `bytes` into a read-only scratch region (keys handed to callbacks); returns its address. */
  scratch(bytes: Uint8Array): bigint {
    if (!this.#scratch || this.#scratch.size < bytes.length) {
      if (this.#scratch) this.memory.unmap(this.#scratch);
      this.#scratch = this.memory.map(Math.max(64, bytes.length), {
        name: "key",
        kind: "kernel",
        writable: false,
      });
    }
    this.#scratch.bytes.set(bytes);
    return this.#scratch.base;
  }

  /** Loads a program: resolves map references, checks its helper and kfunc calls, prepares its context. */
  load(spec: ProgramSpec): RuntimeProgram {
    let insns = spec.insns instanceof Uint8Array ? decode(spec.insns) : spec.insns;
    insns = rewriteContextAccess(spec.type, insns);
    for (const [i, insn] of insns.entries()) {
      const d = classify(insn);
      if (d.kind === "call_kfunc" && !this.#kfuncById.has(d.btfId)) {
        const name = this.btf && d.btfId < this.btf.length ? this.btf.name(d.btfId) : `BTF id ${d.btfId}`;
        throw new RuntimeError(
          `program ${spec.name}: insn ${i} calls kfunc ${name}, which the runtime does not implement`,
          {
            kind: "kfunc",
            name,
          },
        );
      }
      const def = d.kind === "call_kfunc" ? this.#kfuncById.get(d.btfId) : undefined;
      if (def?.progTypes && !def.progTypes.includes(spec.type))
        throw new RuntimeError(
          `program ${spec.name}: insn ${i} calls kfunc ${def.name}, which ${spec.type} programs may not call (allowed: ${def.progTypes.join(", ")})`,
          { kind: "kfunc", name: def.name },
        );
    }
    const byIndex = spec.maps ?? [];
    const mapOf = (subtype: number, imm: number): BpfMap => {
      const m = subtype >= 5 ? byIndex[imm] : this.#fds.get(imm);
      if (!m || !(this.maps as FdTarget[]).includes(m))
        throw new RuntimeError(
          `program ${spec.name}: lddw refers to ${subtype >= 5 ? "map index" : "fd"} ${imm}, which is not a map`,
          {
            kind: "program",
            name: spec.name,
          },
        );
      return m as BpfMap;
    };
    const program = loadProgram(insns, {
      name: spec.name,
      resolveLddw: (subtype, imm, nextImm) => {
        const map = mapOf(subtype, imm);
        if (subtype === 1 || subtype === 5) return map.address;
        if (subtype === 2 || subtype === 6) {
          if (!(map instanceof ArrayMap))
            throw new RuntimeError(
              `program ${spec.name}: direct value access into ${map.typeName} map ${map.name}`,
              {
                kind: "program",
                name: spec.name,
              },
            );
          return map.values.address(nextImm >>> 0);
        }
        throw new RuntimeError(`program ${spec.name}: lddw subtype ${subtype} is not supported`, {
          kind: "program",
          name: spec.name,
        });
      },
    });
    const prog = new RuntimeProgram(++this.#progIds, spec.name, spec.type, program);
    this.programs.push(prog);
    this.fd(prog);
    return prog;
  }

  /** Runs a program once per `repeat` like BPF_PROG_TEST_RUN and reports the last run. */
  run(prog: RuntimeProgram, input: RunInput = {}): RunOutput {
    const repeat = Math.max(1, input.repeat ?? 1);
    let total = 0;
    let insns = 0;
    let last: { r0: bigint; stats: RunStats } | undefined;
    let ctx: ContextSpec | undefined;
    for (let i = 0; i < repeat; i++) {
      if (ctx) ctx.release();
      ctx = contextFor(prog.type, this.memory, input);
      let result: { r0: bigint; stats: RunStats };
      try {
        result = this.vm.run(prog.program, { args: [ctx.r1], packet: ctx.packet });
      } catch (error) {
        // A faulting run leaves no context regions behind.
        ctx.release();
        throw error;
      }
      total += result.stats.wallNs;
      insns = result.stats.insns;
      last = result;
    }
    const r = last as { r0: bigint; stats: RunStats };
    const out = ctx as ContextSpec;
    const output: RunOutput = {
      retval: Number(BigInt.asIntN(32, r.r0)),
      r0: r.r0,
      ctxOut: out.ctxOut(),
      dataOut: out.dataOut(),
      stats: { insns, nsPerRun: Math.round(total / repeat), runs: r.stats },
    };
    out.release();
    return output;
  }

  /**
   * Runs an `iter/task` program like reading its bpf_iter file: once per task of the snapshot in
   * pid order with `ctx->task` set, then once more with `ctx->task == NULL` (the kernel's stop
   * call). Returns the text the program wrote with bpf_seq_printf/bpf_seq_write.
   */
  runTaskIter(prog: RuntimeProgram): string {
    const L = this.#iterLayout();
    const seq = this.memory.map(8, { name: "seq_file", kind: "kernel", readable: false, writable: false });
    const meta = this.memory.map(L.metaSize, { name: "bpf_iter_meta", kind: "kernel", writable: false });
    const ctx = this.memory.map(16, { name: "ctx", kind: "context", writable: false });
    meta.view.setBigUint64(L.seq, seq.base, true);
    ctx.view.setBigUint64(0, meta.base, true);
    this.iterOutput = "";
    this.iterSeq = seq.base;
    try {
      const pids = this.tasks.infos.map((t) => t.pid).sort((a, b) => a - b);
      let seqNum = 0n;
      for (const pid of [...pids, undefined]) {
        meta.view.setBigUint64(L.seqNum, seqNum++, true);
        ctx.view.setBigUint64(8, pid === undefined ? 0n : (this.tasks.get(pid)?.address ?? 0n), true);
        this.vm.run(prog.program, { args: [ctx.base] });
      }
    } finally {
      this.iterSeq = undefined;
      for (const r of [seq, meta, ctx]) this.memory.unmap(r);
    }
    return this.iterOutput;
  }

  /** Offsets in struct bpf_iter_meta (seq, seq_num) and its size, from the target BTF when it has them. */
  #iterLayout(): { seq: number; seqNum: number; metaSize: number } {
    const btf = this.btf;
    const id = btf?.find("bpf_iter_meta", 4);
    if (btf && id !== undefined) {
      const at = (n: string) => (btf.findMember(id, n)?.bitOffset ?? 0) / 8;
      return { seq: at("seq"), seqNum: at("seq_num"), metaSize: btf.sizeof(id) };
    }
    return { seq: 0, seqNum: 16, metaSize: 24 };
  }

  /** Every map, dumped like `bpftool map dump -j`. */
  dumpMaps(): Record<string, DumpEntry[]> {
    const out: Record<string, DumpEntry[]> = {};
    for (const m of this.maps) out[m.name] = dumpMap(m);
    return out;
  }
}

/** A runtime for `options` (the facade's `createKernel` composes this with a verifier and a loader). */
export function createRuntime(options: RuntimeOptions = {}): Runtime {
  return new Runtime(options);
}

/** Looks up a helper id by name with or without the `bpf_` prefix. */
export function helperIdOf(name: string): number | undefined {
  return helperId(name.replace(/^bpf_/, ""));
}
