import type { AllocatorKind } from "../allocator.js";
import type { KernelProfileName } from "../profile.js";

/**
 * Contexts a BPF program runs in (spec mem-alloc.md section 15.3). `irqsoff` is task-level code
 * with interrupts disabled: an irqs-off tracepoint or kprobe, or a test run delivered by IPI.
 * Nesting: an NMI interrupts anything but another NMI; a hard IRQ interrupts code that has
 * interrupts enabled (task, softirq); a softirq interrupts task code with interrupts enabled;
 * task-level invocations never interrupt each other.
 */
export type ContextKind = "task" | "softirq" | "hardirq" | "irqsoff" | "nmi";

/**
 * Where the refill irq_work runs (spec section 8.1): `ipi` = self-IPI, at the next interrupts-on
 * instant; `tick` = arches without an irq_work interrupt, at the next timer tick; `rt` =
 * PREEMPT_RT's per-CPU irq_work thread, which runs like a softirq after a wake-up latency.
 */
export type IrqWorkMode = "ipi" | "tick" | "rt";

/** What one invocation of a program does with the allocator. */
export interface ProgramSpec {
  /** Request sizes allocated one after the other; all stay live until the frees (nesting). */
  allocs: readonly number[];
  /** Program body between the last allocation and the first free. Default 0. */
  holdNs?: number;
  /** Time outside allocator sections before each allocation and free. Default 0. */
  gapNs?: number;
  /** Repeat allocate-hold-free this many times in one invocation. Default 1. */
  rounds?: number;
  /** `free` = bpf_mem_free (what task_vma uses); `rcu` = bpf_mem_free_rcu. Default `free`. */
  free?: "free" | "rcu";
  /** A name for what this invocation did (e.g. `ebusy`), counted in the workload's `outcomes`. */
  outcome?: string;
}

/** What a program-choosing function learns about the invocation it is about to run. */
export interface InvocationInfo {
  cpu: number;
  context: ContextKind;
  /** Interrupts are disabled for the whole invocation (hard IRQ, NMI, irqs-off task code). */
  irqsOff: boolean;
  /** Frames already on the CPU's stack: 0 when nothing was interrupted. */
  interrupted: number;
  timeNs: number;
}

export interface WorkloadSpec {
  name?: string;
  context: ContextKind;
  /** Invocations per second on each CPU it runs on (ignored when `at` is given). */
  ratePerSec?: number;
  /** `poisson` (default; e.g. perf sampling NMIs) or `periodic`. */
  arrival?: "poisson" | "periodic";
  /** Explicit arrival times (ns) on each of its CPUs, instead of a rate. */
  at?: readonly number[];
  /** CPUs it runs on; default all. */
  cpus?: readonly number[];
  /**
   * What each invocation does; a function is asked at the start of every invocation, so a caller
   * can model context-dependent kfunc behaviour (refusing irqs-off callers, per-CPU slots...).
   */
  program: ProgramSpec | ((info: InvocationInfo) => ProgramSpec);
}

export interface SimConfig {
  cpus: number;
  durationNs: number;
  workloads: readonly WorkloadSpec[];
  /** Default 1. */
  seed?: number | string;
  /** Default 6.18. */
  profile?: KernelProfileName;
  /** Default `kmalloc` (bpf_global_ma). */
  allocatorKind?: AllocatorKind;
  /** Object size for fixed-size allocator kinds. */
  allocatorSize?: number;
  /** Length of one `active` critical section (tens of ns). Default 30. */
  activeWindowNs?: number;
  /** Default `ipi`. */
  irqWork?: IrqWorkMode;
  /** Self-IPI delivery delay when the work is queued with interrupts on (2023 order), and RT thread wake-up. Default 1000. */
  irqWorkLatencyNs?: number;
  /** Timer tick for `tick` mode. Default 4 ms (HZ=250). */
  tickNs?: number;
  /** Probability that one slab allocation of a refill fails. Default 0. */
  slabFailProbability?: number;
  /** Normal RCU grace period. Default 20 ms. */
  rcuGpNs?: number;
  /** RCU tasks-trace grace period (longer). Default 100 ms. */
  tasksTraceGpNs?: number;
  /** Record a trace of frame starts and ends (for tests and small runs). */
  trace?: boolean;
}

/** A `SimConfig` with every default filled in. */
export type ResolvedSimConfig = Required<Omit<SimConfig, "allocatorSize">> & {
  allocatorSize: number | undefined;
};

export function resolveConfig(config: SimConfig): ResolvedSimConfig {
  return {
    cpus: config.cpus,
    durationNs: config.durationNs,
    workloads: config.workloads,
    seed: config.seed ?? 1,
    profile: config.profile ?? "6.18",
    allocatorKind: config.allocatorKind ?? "kmalloc",
    allocatorSize: config.allocatorSize,
    activeWindowNs: config.activeWindowNs ?? 30,
    irqWork: config.irqWork ?? "ipi",
    irqWorkLatencyNs: config.irqWorkLatencyNs ?? 1000,
    tickNs: config.tickNs ?? 4_000_000,
    slabFailProbability: config.slabFailProbability ?? 0,
    rcuGpNs: config.rcuGpNs ?? 20_000_000,
    tasksTraceGpNs: config.tasksTraceGpNs ?? 100_000_000,
    trace: config.trace ?? false,
  };
}
