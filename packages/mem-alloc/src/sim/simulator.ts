import { BpfMemAlloc, ZERO_SIZE_PTR } from "../allocator.js";
import type { MemCache } from "../cache.js";
import { MemAllocError } from "../errors.js";
import type { AllocatorHost, GracePeriodKind } from "../host.js";
import type { AllocStats, FailureCause } from "../stats.js";
import type { ContextKind, ProgramSpec, ResolvedSimConfig, SimConfig, WorkloadSpec } from "./config.js";
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

interface Step {
  ns: number;
  /** An `active` section: interrupts are off for its length (only an NMI gets in). */
  section: boolean;
  start?: () => void;
  end?: () => void;
}

interface Invocation {
  workload: number;
  arrivedAt: number;
  failed: boolean;
}

interface Frame {
  kind: FrameKind;
  irqsOff: boolean;
  inSection: boolean;
  steps: Iterator<Step, void, void>;
  step: Step | null;
  endsAt: number;
  remaining: number;
  gen: number;
  inv: Invocation | null;
}

interface CpuState {
  id: number;
  stack: Frame[];
  taskQ: Invocation[];
  softQ: Invocation[];
  hardQ: Invocation[];
  nmiLatched: Invocation | null;
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
  private readonly queue = new EventQueue();
  private readonly cpus: CpuState[] = [];
  private readonly stats: WorkloadStats[];
  private readonly slabPrng: Prng;
  private readonly trace: TraceEvent[] | undefined;
  private irqWorkRuns = 0;
  private irqWorkDelayMax = 0;
  private irqWorkDelaySum = 0;
  private ran = false;

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
    }));
    const host: AllocatorHost = {
      queueRefill: (cache, sectionOpen) => this.queueRefill(cache, sectionOpen),
      irqRestored: () => {
        // The frame driver notices interrupts coming back at the end of each step.
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
    while (this.queue.size > 0 && this.queue.peekTime() <= c.durationNs) {
      const event = this.queue.pop();
      if (event === undefined) break;
      this.now = event.time;
      event.run();
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

  // ---- arrivals ----

  private scheduleArrivals(w: WorkloadSpec, wi: number, cpu: number): void {
    const c = this.config;
    if (w.at !== undefined) {
      for (const t of w.at) if (t <= c.durationNs) this.queue.push(t, () => this.arrive(wi, cpu));
      return;
    }
    const rate = w.ratePerSec ?? 0;
    if (rate <= 0) return;
    const prng = new Prng(c.seed, (wi + 1) * 1024 + cpu);
    const perNs = rate / 1e9;
    const periodic = w.arrival === "periodic";
    const next = (from: number): number => from + (periodic ? 1 / perNs : prng.exponential(perNs));
    const fire = (t: number): void => {
      this.queue.push(t, () => {
        this.arrive(wi, cpu);
        const following = next(t);
        if (following <= c.durationNs) fire(following);
      });
    };
    const first = periodic ? prng.next() / perNs : next(0);
    if (first <= c.durationNs) fire(first);
  }

  private arrive(wi: number, cpuId: number): void {
    const cpu = this.cpus[cpuId] as CpuState;
    const w = this.config.workloads[wi] as WorkloadSpec;
    const stats = this.stats[wi] as WorkloadStats;
    stats.arrived++;
    const inv: Invocation = { workload: wi, arrivedAt: this.now, failed: false };
    switch (w.context) {
      case "nmi":
        if (!cpu.stack.some((f) => f.kind === "nmi")) this.pushInvocation(cpu, inv);
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
    const frame = this.newFrame(
      w.context,
      w.context === "hardirq" || w.context === "irqsoff" || w.context === "nmi",
      inv,
    );
    frame.steps = this.programSteps(cpu, frame, inv, w.program);
    this.push(cpu, frame);
  }

  private newFrame(kind: FrameKind, irqsOff: boolean, inv: Invocation | null): Frame {
    const none: Iterator<Step, void, void> = { next: () => ({ done: true, value: undefined }) };
    return { kind, irqsOff, inSection: false, steps: none, step: null, endsAt: 0, remaining: 0, gen: 0, inv };
  }

  private push(cpu: CpuState, frame: Frame): void {
    const top = cpu.stack.at(-1);
    if (top?.step) {
      top.remaining = top.endsAt - this.now;
      top.gen++; // its pending step-end event is now stale
    }
    cpu.stack.push(frame);
    this.record(cpu, frame, "start");
    this.advance(cpu, frame);
  }

  private advance(cpu: CpuState, frame: Frame): void {
    for (;;) {
      const r = frame.steps.next();
      if (r.done) {
        this.pop(cpu, frame);
        return;
      }
      const step = r.value;
      frame.step = step;
      if (step.section) frame.inSection = true;
      step.start?.();
      if (step.ns > 0) {
        this.scheduleStepEnd(cpu, frame, step.ns);
        return;
      }
      if (this.endStep(cpu, frame)) return;
    }
  }

  private scheduleStepEnd(cpu: CpuState, frame: Frame, ns: number): void {
    frame.endsAt = this.now + ns;
    const gen = frame.gen;
    this.queue.push(frame.endsAt, () => {
      if (frame.gen !== gen || cpu.stack.at(-1) !== frame) return;
      if (!this.endStep(cpu, frame)) this.advance(cpu, frame);
    });
  }

  /** Finish the current step; true when something else now runs on top of the frame. */
  private endStep(cpu: CpuState, frame: Frame): boolean {
    const step = frame.step;
    frame.step = null;
    step?.end?.();
    frame.inSection = false;
    return this.deliverPending(cpu);
  }

  private pop(cpu: CpuState, frame: Frame): void {
    cpu.stack.pop();
    this.record(cpu, frame, "end");
    if (frame.inv !== null) {
      const stats = this.stats[frame.inv.workload] as WorkloadStats;
      stats.completed++;
      if (frame.inv.failed) stats.failedInvocations++;
    }
    if (this.deliverPending(cpu)) return;
    const top = cpu.stack.at(-1);
    if (top === undefined) return;
    if (top.step) this.scheduleStepEnd(cpu, top, top.remaining);
    else this.advance(cpu, top);
  }

  /** Start whatever became runnable on `cpu` (latched NMI, irq_work, masked interrupts, queued tasks). */
  private deliverPending(cpu: CpuState): boolean {
    if (cpu.nmiLatched !== null && !cpu.stack.some((f) => f.kind === "nmi")) {
      const inv = cpu.nmiLatched;
      cpu.nmiLatched = null;
      this.pushInvocation(cpu, inv);
      return true;
    }
    if (!irqsOn(cpu)) return false;
    if (cpu.irqWorkRaised) {
      cpu.irqWorkRaised = false;
      if (cpu.irqWork.length > 0) {
        this.pushIrqWork(cpu, true);
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
          this.pushIrqWork(cpu, false);
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

  // ---- steps ----

  private *programSteps(
    cpu: CpuState,
    frame: Frame,
    inv: Invocation,
    program: ProgramSpec,
  ): Generator<Step, void, void> {
    const alloc = this.allocator;
    const stats = this.stats[inv.workload] as WorkloadStats;
    const window = this.config.activeWindowNs;
    const gap = program.gapNs ?? 0;
    const rcu = program.free === "rcu";
    const restore = (): void => {
      frame.inSection = false;
    };
    for (let round = 0; round < (program.rounds ?? 1); round++) {
      const held: number[] = [];
      for (const size of program.allocs) {
        if (gap > 0) yield { ns: gap, section: false };
        stats.allocs++;
        const cache = alloc.allocCache(cpu.id, size);
        if (cache === null) {
          const id = alloc.alloc(cpu.id, size); // no class (or the 2023 zero-size pointer): no section
          if (id === null) {
            stats.failures.noClass++;
            inv.failed = true;
          } else stats.allocOk++;
          continue;
        }
        yield {
          ns: window,
          section: true,
          start: () => {
            alloc.enter(cache);
          },
          end: () => {
            const nested = cache.active !== 1;
            const id = alloc.leaveAlloc(cache, restore);
            if (id !== null) {
              held.push(id);
              stats.allocOk++;
            } else {
              stats.failures[nested ? "reentrant" : "empty"]++;
              inv.failed = true;
            }
          },
        };
      }
      const hold = program.holdNs ?? 0;
      if (hold > 0) yield { ns: hold, section: false };
      for (let i = held.length - 1; i >= 0; i--) {
        const id = held[i] as number;
        if (id === ZERO_SIZE_PTR) continue;
        if (gap > 0) yield { ns: gap, section: false };
        let cache: MemCache | undefined;
        yield {
          ns: window,
          section: true,
          start: () => {
            cache = rcu ? alloc.freeRcuCache(cpu.id, id) : alloc.freeCache(cpu.id, id);
            alloc.enter(cache);
          },
          end: () => {
            if (rcu) alloc.leaveFreeRcu(cache as MemCache, id, restore);
            else alloc.leaveFree(cache as MemCache, id, restore);
          },
        };
      }
    }
  }

  private pushIrqWork(cpu: CpuState, hardIrq: boolean): void {
    const frame = this.newFrame("irq_work", hardIrq, null);
    frame.steps = this.irqWorkSteps(cpu);
    this.push(cpu, frame);
  }

  private *irqWorkSteps(cpu: CpuState): Generator<Step, void, void> {
    const window = this.config.activeWindowNs;
    for (let cache = cpu.irqWork.shift(); cache !== undefined; cache = cpu.irqWork.shift()) {
      const delay = this.now - (cpu.queuedAt.shift() ?? this.now);
      this.irqWorkRuns++;
      this.irqWorkDelaySum += delay;
      if (delay > this.irqWorkDelayMax) this.irqWorkDelayMax = delay;
      const work = this.allocator.refill(cache);
      const state = { done: work.next().done === true };
      while (!state.done) {
        yield {
          ns: window,
          section: true,
          end: () => {
            state.done = work.next().done === true;
          },
        };
      }
    }
  }

  // ---- host side ----

  private queueRefill(cache: MemCache, sectionOpen: boolean): void {
    const cpu = this.cpus[cache.cpu] as CpuState;
    cpu.irqWork.push(cache);
    cpu.queuedAt.push(this.now);
    const c = this.config;
    if (c.irqWork === "ipi") {
      if (sectionOpen || !irqsOn(cpu)) {
        cpu.irqWorkRaised = true; // the self-IPI is pending until interrupts come back
        return;
      }
      this.scheduleDelivery(cpu, this.now + c.irqWorkLatencyNs, () => {
        cpu.irqWorkRaised = true;
      });
    } else if (c.irqWork === "tick") {
      this.scheduleDelivery(cpu, (Math.floor(this.now / c.tickNs) + 1) * c.tickNs, () => {
        cpu.irqWorkRaised = true;
      });
    } else {
      this.scheduleDelivery(cpu, this.now + c.irqWorkLatencyNs, () => {
        cpu.rtReady = true;
      });
    }
  }

  private scheduleDelivery(cpu: CpuState, at: number, raise: () => void): void {
    if (cpu.deliveryScheduled) return;
    cpu.deliveryScheduled = true;
    this.queue.push(at, () => {
      cpu.deliveryScheduled = false;
      raise();
      this.deliverPending(cpu);
    });
  }

  private startGracePeriod(kind: GracePeriodKind, _cache: MemCache, done: () => void): void {
    const c = this.config;
    this.queue.push(this.now + (kind === "rcu" ? c.rcuGpNs : c.tasksTraceGpNs), done);
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

function irqsOn(cpu: CpuState): boolean {
  const top = cpu.stack.at(-1);
  return top === undefined || (!top.irqsOff && !top.inSection);
}

function softirqCanRun(cpu: CpuState): boolean {
  return irqsOn(cpu) && !cpu.stack.some((f) => f.kind !== "task");
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
    if (w.program.allocs.some((s) => !Number.isInteger(s) || s < 0))
      bad(`${where}: allocation sizes must be non-negative integers`);
  });
}
