import { BpfMemAlloc, ZERO_SIZE_PTR } from "../allocator.js";
import type { MemCache } from "../cache.js";
import { MemAllocError } from "../errors.js";
import type { AllocatorHost, GracePeriodKind } from "../host.js";
import type { AllocStats, FailureCause } from "../stats.js";
import type {
  ContextKind,
  InvocationInfo,
  ProgramSpec,
  ResolvedSimConfig,
  SimConfig,
  WorkloadSpec,
} from "./config.js";
import { resolveConfig } from "./config.js";
import { EventQueue } from "./event-queue.js";
import { Prng } from "./prng.js";

/** A frame on a CPU's context stack: a program invocation, or the refill irq_work. */
export type FrameKind = ContextKind | "irq_work";

/** Per-workload counters of one simulation. */
export interface WorkloadStats {
  name: string;
  context: ContextKind;
  arrived: number;
  started: number;
  completed: number;
  /** NMIs that arrived while one was running and another was already latched (x86 latches one). */
  droppedNmis: number;
  allocs: number;
  allocOk: number;
  failures: Record<FailureCause, number>;
  /** Invocations with at least one failed allocation. */
  failedInvocations: number;
  /** Longest wait between arrival and start (masked interrupts, busy CPU). */
  maxStartDelayNs: number;
  /** Sum and maximum of start-to-end times of completed invocations, interruptions included. */
  busyNs: number;
  maxDurationNs: number;
  /** Counts of the `outcome` labels of the programs that ran. */
  outcomes: Record<string, number>;
}

/** One line of the optional trace. */
export interface TraceEvent {
  time: number;
  cpu: number;
  event: "start" | "end";
  kind: FrameKind;
  workload?: string;
  /** Stack depth with this frame on it (1 = nothing interrupted). */
  depth: number;
}

export interface SimResult {
  config: ResolvedSimConfig;
  /** Events processed. */
  events: number;
  allocator: AllocStats;
  workloads: WorkloadStats[];
  /** Refill irq_work runs per cache, and the delay from queueing to running. */
  irqWork: { runs: number; maxDelayNs: number; meanDelayNs: number };
  trace?: TraceEvent[];
}

// Program operations, precomputed per workload.
const OP_ALLOC = 0;
const OP_WORK = 1;
const OP_FREE = 2;

interface Op {
  code: number;
  /** Request size (alloc) or duration (work). */
  n: number;
}

// What the frame is doing in its current step.
const STEP_NONE = 0;
const STEP_WORK = 1;
const STEP_ALLOC = 2;
const STEP_FREE = 3;
const STEP_FREE_RCU = 4;
const STEP_REFILL = 5;

interface Invocation {
  workload: number;
  arrivedAt: number;
  startedAt: number;
  failed: boolean;
}

interface Frame {
  kind: FrameKind;
  irqsOff: boolean;
  /** Inside an `active` section: interrupts are off for its length (only an NMI gets in). */
  inSection: boolean;
  inv: Invocation | null;
  ops: readonly Op[];
  rcuFree: boolean;
  pc: number;
  held: number[];
  /** The refill in progress (irq_work frames). */
  work: Generator<MemCache | null, void, void> | null;
  step: number;
  stepCache: MemCache | null;
  stepId: number;
  endsAt: number;
  remaining: number;
  gen: number;
}

interface StepEnd {
  type: 0;
  cpu: CpuState;
  frame: Frame;
  gen: number;
}

interface ArrivalStream {
  type: 1;
  workload: number;
  cpu: number;
  prng: Prng;
  perNs: number;
  periodic: boolean;
}

interface FixedArrival {
  type: 2;
  workload: number;
  cpu: number;
}

interface Delivery {
  type: 3;
  cpu: CpuState;
  mode: "raise" | "rt";
}

interface GraceEnd {
  type: 4;
  done: () => void;
}

type SimEvent = StepEnd | ArrivalStream | FixedArrival | Delivery | GraceEnd;

interface CpuState {
  id: number;
  stack: Frame[];
  taskQ: Invocation[];
  softQ: Invocation[];
  hardQ: Invocation[];
  nmiLatched: Invocation | null;
  /** Frames of kind NMI on the stack (0 or 1). */
  nmiDepth: number;
  irqWork: MemCache[];
  queuedAt: number[];
  /** The irq_work interrupt is raised and waits for interrupts to be enabled. */
  irqWorkRaised: boolean;
  deliveryScheduled: boolean;
  /** PREEMPT_RT: the irq_work thread is runnable. */
  rtReady: boolean;
}

const CONTEXTS: readonly ContextKind[] = ["task", "softirq", "hardirq", "irqsoff", "nmi"];

/**
 * Discrete-event simulator of BPF programs allocating from one `bpf_mem_alloc` on several CPUs
 * (spec mem-alloc.md section 15). Time is in nanoseconds; every random draw comes from seeded
 * {@link Prng} streams, so a configuration and a seed give the same result on every run.
 *
 * Each CPU keeps a stack of frames. Allocator operations are `active` sections of
 * `activeWindowNs` with interrupts off; an NMI arriving inside one nests in it and meets the busy
 * counter. Refills run as irq_work frames when the CPU next has interrupts on (or at the next
 * tick, or from the RT thread); grace periods end after their configured lengths.
 */
export class Simulator {
  readonly config: ResolvedSimConfig;
  readonly allocator: BpfMemAlloc;
  private now = 0;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly cpus: CpuState[] = [];
  private readonly stats: WorkloadStats[];
  /** Compiled operations of static programs (null: a function chooses per invocation). */
  private readonly programs: (Op[] | null)[];
  private readonly slabPrng: Prng;
  private readonly trace: TraceEvent[] | undefined;
  private irqWorkRuns = 0;
  private irqWorkDelayMax = 0;
  private irqWorkDelaySum = 0;
  private ran = false;
  /** The frame whose allocator operation is restoring interrupts (see `restore`). */
  private restoring: Frame | null = null;
  private readonly restore = (): void => {
    if (this.restoring !== null) this.restoring.inSection = false;
  };

  constructor(config: SimConfig) {
    const c = resolveConfig(config);
    validate(c);
    this.config = c;
    this.slabPrng = new Prng(c.seed, 0x51ab);
    this.trace = c.trace ? [] : undefined;
    for (let id = 0; id < c.cpus; id++) {
      this.cpus.push({
        id,
        stack: [],
        taskQ: [],
        softQ: [],
        hardQ: [],
        nmiLatched: null,
        nmiDepth: 0,
        irqWork: [],
        queuedAt: [],
        irqWorkRaised: false,
        deliveryScheduled: false,
        rtReady: false,
      });
    }
    this.stats = c.workloads.map((w, i) => ({
      name: w.name ?? `${w.context}#${i}`,
      context: w.context,
      arrived: 0,
      started: 0,
      completed: 0,
      droppedNmis: 0,
      allocs: 0,
      allocOk: 0,
      failures: { noClass: 0, empty: 0, reentrant: 0 },
      failedInvocations: 0,
      maxStartDelayNs: 0,
      busyNs: 0,
      maxDurationNs: 0,
      outcomes: {},
    }));
    this.programs = c.workloads.map((w) =>
      typeof w.program === "function" ? null : compileProgram(w.program),
    );
    const host: AllocatorHost = {
      queueRefill: (cache, sectionOpen) => this.queueRefill(cache, sectionOpen),
      irqRestored: () => {
        // The frame machine notices interrupts coming back at the end of each step.
      },
      startGracePeriod: (kind, cache, done) => this.startGracePeriod(kind, cache, done),
      slabAlloc: () => this.slabPrng.next() >= c.slabFailProbability,
    };
    this.allocator = new BpfMemAlloc({
      cpus: c.cpus,
      kind: c.allocatorKind,
      profile: c.profile,
      host,
      ...(c.allocatorSize === undefined ? {} : { size: c.allocatorSize }),
    });
  }

  /** Run to `durationNs` and return the statistics. A simulator runs once. */
  run(): SimResult {
    if (this.ran)
      throw new MemAllocError("simulate", "bad-config", "this simulator has already run; create a new one");
    this.ran = true;
    const c = this.config;
    c.workloads.forEach((w, wi) => {
      const cpus = w.cpus ?? this.cpus.map((cpu) => cpu.id);
      for (const cpu of cpus) this.scheduleArrivals(w, wi, cpu);
    });
    let events = 0;
    const queue = this.queue;
    while (queue.size > 0 && queue.peekTime() <= c.durationNs) {
      const event = queue.pop();
      if (event === undefined) break;
      this.now = event.time;
      this.dispatch(event.payload);
      events++;
    }
    const result: SimResult = {
      config: c,
      events,
      allocator: structuredClone(this.allocator.stats),
      workloads: this.stats,
      irqWork: {
        runs: this.irqWorkRuns,
        maxDelayNs: this.irqWorkDelayMax,
        meanDelayNs: this.irqWorkRuns === 0 ? 0 : this.irqWorkDelaySum / this.irqWorkRuns,
      },
    };
    if (this.trace !== undefined) result.trace = this.trace;
    return result;
  }

  private dispatch(e: SimEvent): void {
    switch (e.type) {
      case 0:
        if (e.frame.gen === e.gen && e.cpu.stack.at(-1) === e.frame && !this.endStep(e.cpu, e.frame))
          this.advance(e.cpu, e.frame);
        return;
      case 1: {
        this.arrive(e.workload, e.cpu);
        const next = this.now + (e.periodic ? 1 / e.perNs : e.prng.exponential(e.perNs));
        if (next <= this.config.durationNs) this.queue.push(next, e);
        return;
      }
      case 2:
        this.arrive(e.workload, e.cpu);
        return;
      case 3:
        e.cpu.deliveryScheduled = false;
        if (e.mode === "raise") e.cpu.irqWorkRaised = true;
        else e.cpu.rtReady = true;
        this.deliverPending(e.cpu);
        return;
      case 4:
        e.done();
        return;
    }
  }

  // ---- arrivals ----

  private scheduleArrivals(w: WorkloadSpec, wi: number, cpu: number): void {
    const c = this.config;
    if (w.at !== undefined) {
      for (const t of w.at) if (t <= c.durationNs) this.queue.push(t, { type: 2, workload: wi, cpu });
      return;
    }
    const rate = w.ratePerSec ?? 0;
    if (rate <= 0) return;
    const stream: ArrivalStream = {
      type: 1,
      workload: wi,
      cpu,
      prng: new Prng(c.seed, (wi + 1) * 1024 + cpu),
      perNs: rate / 1e9,
      periodic: w.arrival === "periodic",
    };
    // Periodic sources start at a random phase so CPUs do not fire in lockstep.
    const first = stream.periodic ? stream.prng.next() / stream.perNs : stream.prng.exponential(stream.perNs);
    if (first <= c.durationNs) this.queue.push(first, stream);
  }

  private arrive(wi: number, cpuId: number): void {
    const cpu = this.cpus[cpuId] as CpuState;
    const w = this.config.workloads[wi] as WorkloadSpec;
    const stats = this.stats[wi] as WorkloadStats;
    stats.arrived++;
    const inv: Invocation = { workload: wi, arrivedAt: this.now, startedAt: 0, failed: false };
    switch (w.context) {
      case "nmi":
        if (cpu.nmiDepth === 0) this.pushInvocation(cpu, inv);
        else if (cpu.nmiLatched === null) cpu.nmiLatched = inv;
        else stats.droppedNmis++;
        return;
      case "hardirq":
        if (irqsOn(cpu)) this.pushInvocation(cpu, inv);
        else cpu.hardQ.push(inv);
        return;
      case "softirq":
        if (softirqCanRun(cpu)) this.pushInvocation(cpu, inv);
        else cpu.softQ.push(inv);
        return;
      default:
        if (cpu.stack.length === 0) this.pushInvocation(cpu, inv);
        else cpu.taskQ.push(inv);
    }
  }

  // ---- the frame machine ----

  private pushInvocation(cpu: CpuState, inv: Invocation): void {
    const w = this.config.workloads[inv.workload] as WorkloadSpec;
    const stats = this.stats[inv.workload] as WorkloadStats;
    stats.started++;
    const delay = this.now - inv.arrivedAt;
    if (delay > stats.maxStartDelayNs) stats.maxStartDelayNs = delay;
    inv.startedAt = this.now;
    const irqsOff = w.context === "hardirq" || w.context === "irqsoff" || w.context === "nmi";
    const frame = newFrame(w.context, irqsOff, inv);
    let spec: ProgramSpec;
    if (typeof w.program === "function") {
      const info: InvocationInfo = {
        cpu: cpu.id,
        context: w.context,
        irqsOff,
        interrupted: cpu.stack.length,
        timeNs: this.now,
      };
      spec = w.program(info);
      frame.ops = compileProgram(spec);
    } else {
      spec = w.program;
      frame.ops = this.programs[inv.workload] ?? [];
    }
    frame.rcuFree = spec.free === "rcu";
    if (spec.outcome !== undefined) stats.outcomes[spec.outcome] = (stats.outcomes[spec.outcome] ?? 0) + 1;
    this.push(cpu, frame);
  }

  private push(cpu: CpuState, frame: Frame): void {
    const top = cpu.stack.at(-1);
    if (top !== undefined && top.step !== STEP_NONE) {
      top.remaining = top.endsAt - this.now;
      top.gen++; // its pending step-end event is now stale
    }
    cpu.stack.push(frame);
    if (frame.kind === "nmi") cpu.nmiDepth++;
    this.record(cpu, frame, "start");
    this.advance(cpu, frame);
  }

  private advance(cpu: CpuState, frame: Frame): void {
    for (;;) {
      const ns = this.startStep(cpu, frame);
      if (ns < 0) {
        this.pop(cpu, frame);
        return;
      }
      if (ns > 0) {
        this.scheduleStepEnd(cpu, frame, ns);
        return;
      }
      if (this.endStep(cpu, frame)) return;
    }
  }

  /** Begin the frame's next step; returns its length, or -1 when the frame is done. */
  private startStep(cpu: CpuState, frame: Frame): number {
    const alloc = this.allocator;
    const window = this.config.activeWindowNs;
    if (frame.kind === "irq_work") {
      for (;;) {
        if (frame.work === null) {
          const cache = cpu.irqWork.shift();
          if (cache === undefined) return -1;
          const delay = this.now - (cpu.queuedAt.shift() ?? this.now);
          this.irqWorkRuns++;
          this.irqWorkDelaySum += delay;
          if (delay > this.irqWorkDelayMax) this.irqWorkDelayMax = delay;
          frame.work = alloc.refill(cache);
        }
        const r = frame.work.next();
        if (r.done === true) {
          frame.work = null;
          continue;
        }
        frame.step = STEP_REFILL;
        if (r.value === null) return 0; // a section just closed: an interrupt may land here
        frame.inSection = true;
        return window;
      }
    }
    const op = frame.ops[frame.pc++];
    if (op === undefined) return -1;
    const inv = frame.inv as Invocation;
    if (op.code === OP_WORK) {
      frame.step = STEP_WORK;
      return op.n;
    }
    if (op.code === OP_ALLOC) {
      const stats = this.stats[inv.workload] as WorkloadStats;
      stats.allocs++;
      const cache = alloc.allocCache(cpu.id, op.n);
      frame.step = STEP_WORK;
      if (cache === null) {
        const id = alloc.alloc(cpu.id, op.n); // no class (or the 2023 zero-size pointer): no section
        if (id === null) {
          stats.failures.noClass++;
          inv.failed = true;
        } else stats.allocOk++;
        return 0;
      }
      alloc.enter(cache);
      frame.step = STEP_ALLOC;
      frame.stepCache = cache;
      frame.inSection = true;
      return window;
    }
    // OP_FREE: the most recent live object (failed allocations left nothing to free).
    const id = frame.held.pop();
    frame.step = STEP_WORK;
    if (id === undefined || id === ZERO_SIZE_PTR) return 0;
    const rcu = frame.rcuFree;
    const cache = rcu ? alloc.freeRcuCache(cpu.id, id) : alloc.freeCache(cpu.id, id);
    alloc.enter(cache);
    frame.step = rcu ? STEP_FREE_RCU : STEP_FREE;
    frame.stepCache = cache;
    frame.stepId = id;
    frame.inSection = true;
    return window;
  }

  private scheduleStepEnd(cpu: CpuState, frame: Frame, ns: number): void {
    frame.endsAt = this.now + ns;
    this.queue.push(frame.endsAt, { type: 0, cpu, frame, gen: frame.gen });
  }

  /** Finish the current step; true when something else now runs on top of the frame. */
  private endStep(cpu: CpuState, frame: Frame): boolean {
    const step = frame.step;
    const cache = frame.stepCache;
    frame.step = STEP_NONE;
    frame.stepCache = null;
    if (cache !== null) {
      const alloc = this.allocator;
      this.restoring = frame;
      if (step === STEP_ALLOC) {
        const inv = frame.inv as Invocation;
        const stats = this.stats[inv.workload] as WorkloadStats;
        const nested = cache.active !== 1;
        const id = alloc.leaveAlloc(cache, this.restore);
        if (id !== null) {
          frame.held.push(id);
          stats.allocOk++;
        } else {
          stats.failures[nested ? "reentrant" : "empty"]++;
          inv.failed = true;
        }
      } else if (step === STEP_FREE) {
        alloc.leaveFree(cache, frame.stepId, this.restore);
      } else if (step === STEP_FREE_RCU) {
        alloc.leaveFreeRcu(cache, frame.stepId, this.restore);
      }
      this.restoring = null;
    }
    frame.inSection = false;
    return this.deliverPending(cpu);
  }

  private pop(cpu: CpuState, frame: Frame): void {
    cpu.stack.pop();
    if (frame.kind === "nmi") cpu.nmiDepth--;
    this.record(cpu, frame, "end");
    if (frame.inv !== null) {
      const stats = this.stats[frame.inv.workload] as WorkloadStats;
      stats.completed++;
      if (frame.inv.failed) stats.failedInvocations++;
      const duration = this.now - frame.inv.startedAt;
      stats.busyNs += duration;
      if (duration > stats.maxDurationNs) stats.maxDurationNs = duration;
    }
    if (this.deliverPending(cpu)) return;
    const top = cpu.stack.at(-1);
    if (top === undefined) return;
    if (top.step !== STEP_NONE) this.scheduleStepEnd(cpu, top, top.remaining);
    else this.advance(cpu, top);
  }

  /** Start whatever became runnable on `cpu` (latched NMI, irq_work, masked interrupts, queued tasks). */
  private deliverPending(cpu: CpuState): boolean {
    if (cpu.nmiLatched !== null && cpu.nmiDepth === 0) {
      const inv = cpu.nmiLatched;
      cpu.nmiLatched = null;
      this.pushInvocation(cpu, inv);
      return true;
    }
    if (!irqsOn(cpu)) return false;
    if (cpu.irqWorkRaised) {
      cpu.irqWorkRaised = false;
      if (cpu.irqWork.length > 0) {
        this.push(cpu, newFrame("irq_work", true, null));
        return true;
      }
    }
    const hard = cpu.hardQ.shift();
    if (hard !== undefined) {
      this.pushInvocation(cpu, hard);
      return true;
    }
    if (softirqCanRun(cpu)) {
      if (cpu.rtReady) {
        cpu.rtReady = false;
        if (cpu.irqWork.length > 0) {
          this.push(cpu, newFrame("irq_work", false, null));
          return true;
        }
      }
      const soft = cpu.softQ.shift();
      if (soft !== undefined) {
        this.pushInvocation(cpu, soft);
        return true;
      }
    }
    if (cpu.stack.length === 0) {
      const task = cpu.taskQ.shift();
      if (task !== undefined) {
        this.pushInvocation(cpu, task);
        return true;
      }
    }
    return false;
  }

  // ---- host side ----

  private queueRefill(cache: MemCache, sectionOpen: boolean): void {
    const cpu = this.cpus[cache.cpu] as CpuState;
    cpu.irqWork.push(cache);
    cpu.queuedAt.push(this.now);
    const c = this.config;
    if (c.irqWork === "ipi") {
      if (sectionOpen || !irqsOn(cpu))
        cpu.irqWorkRaised = true; // the self-IPI waits for interrupts to come back
      else this.scheduleDelivery(cpu, this.now + c.irqWorkLatencyNs, "raise");
    } else if (c.irqWork === "tick") {
      this.scheduleDelivery(cpu, (Math.floor(this.now / c.tickNs) + 1) * c.tickNs, "raise");
    } else {
      this.scheduleDelivery(cpu, this.now + c.irqWorkLatencyNs, "rt");
    }
  }

  private scheduleDelivery(cpu: CpuState, at: number, mode: "raise" | "rt"): void {
    if (cpu.deliveryScheduled) return;
    cpu.deliveryScheduled = true;
    this.queue.push(at, { type: 3, cpu, mode });
  }

  private startGracePeriod(kind: GracePeriodKind, _cache: MemCache, done: () => void): void {
    const c = this.config;
    this.queue.push(this.now + (kind === "rcu" ? c.rcuGpNs : c.tasksTraceGpNs), { type: 4, done });
  }

  private record(cpu: CpuState, frame: Frame, event: "start" | "end"): void {
    if (this.trace === undefined) return;
    const line: TraceEvent = {
      time: this.now,
      cpu: cpu.id,
      event,
      kind: frame.kind,
      depth: cpu.stack.length + (event === "end" ? 1 : 0),
    };
    if (frame.inv !== null) line.workload = (this.stats[frame.inv.workload] as WorkloadStats).name;
    this.trace.push(line);
  }
}

function newFrame(kind: FrameKind, irqsOff: boolean, inv: Invocation | null): Frame {
  return {
    kind,
    irqsOff,
    inSection: false,
    inv,
    ops: [],
    rcuFree: false,
    pc: 0,
    held: [],
    work: null,
    step: STEP_NONE,
    stepCache: null,
    stepId: 0,
    endsAt: 0,
    remaining: 0,
    gen: 0,
  };
}

/** The operations of one invocation: per round, allocations, the body, then frees in reverse order. */
function compileProgram(program: ProgramSpec): Op[] {
  const ops: Op[] = [];
  const gap = program.gapNs ?? 0;
  const hold = program.holdNs ?? 0;
  for (let round = 0; round < (program.rounds ?? 1); round++) {
    for (const size of program.allocs) {
      if (gap > 0) ops.push({ code: OP_WORK, n: gap });
      ops.push({ code: OP_ALLOC, n: size });
    }
    if (hold > 0) ops.push({ code: OP_WORK, n: hold });
    for (let i = 0; i < program.allocs.length; i++) {
      if (gap > 0) ops.push({ code: OP_WORK, n: gap });
      ops.push({ code: OP_FREE, n: 0 });
    }
  }
  return ops;
}

function irqsOn(cpu: CpuState): boolean {
  const top = cpu.stack.at(-1);
  return top === undefined || (!top.irqsOff && !top.inSection);
}

function softirqCanRun(cpu: CpuState): boolean {
  if (!irqsOn(cpu)) return false;
  for (const f of cpu.stack) if (f.kind !== "task") return false;
  return true;
}

/** Run one simulation: `new Simulator(config).run()`. */
export function simulate(config: SimConfig): SimResult {
  return new Simulator(config).run();
}

function validate(c: ResolvedSimConfig): void {
  const bad = (message: string): never => {
    throw new MemAllocError("simulate", "bad-config", message);
  };
  if (!Number.isInteger(c.cpus) || c.cpus < 1) bad(`cpu count ${c.cpus} is not a positive integer`);
  if (!(c.durationNs > 0)) bad(`duration ${c.durationNs} ns is not positive`);
  if (!(c.activeWindowNs >= 0)) bad(`active window ${c.activeWindowNs} ns is negative`);
  if (!(c.slabFailProbability >= 0 && c.slabFailProbability <= 1))
    bad(`slab failure probability ${c.slabFailProbability} is not in [0, 1]`);
  if (!["ipi", "tick", "rt"].includes(c.irqWork)) bad(`irq_work mode ${c.irqWork} is not ipi, tick or rt`);
  c.workloads.forEach((w, i) => {
    const where = `workload ${w.name ?? i}`;
    if (!CONTEXTS.includes(w.context))
      bad(`${where}: context ${w.context} is not one of ${CONTEXTS.join(", ")}`);
    if (w.at === undefined && !((w.ratePerSec ?? 0) >= 0)) bad(`${where}: rate ${w.ratePerSec} is negative`);
    for (const cpu of w.cpus ?? [])
      if (!Number.isInteger(cpu) || cpu < 0 || cpu >= c.cpus)
        bad(`${where}: cpu ${cpu} is not in 0..${c.cpus - 1}`);
    if (typeof w.program !== "function" && w.program.allocs.some((s) => !Number.isInteger(s) || s < 0))
      bad(`${where}: allocation sizes must be non-negative integers`);
  });
}
