import type { Btf } from "@bpfkit/btf";
import { MmStruct } from "@bpfkit/kernel-mm";
import { BpfMemAlloc, ManualHost } from "@bpfkit/mem-alloc";
import type { Runtime, Task } from "@bpfkit/runtime";
import type { Region } from "@bpfkit/vm";
import { LAYOUT_6_18, layoutFromBtf, type TaskVmaLayout } from "./layout.js";
import { KernelObjects } from "./objects.js";

/** `PF_KTHREAD` in `task_struct.flags`. */
export const PF_KTHREAD = 0x00200000;

/** How a CPU is executing when a program calls the kfuncs (spec 4.1 step 4, 5.1 step 2). */
export interface CpuContext {
  /** Interrupts disabled: hard IRQ, NMI, irqs-off tracepoints, IPI-delivered test runs. */
  irqsDisabled: boolean;
  /** Inside an NMI (implies interrupts off). */
  nmi: boolean;
}

/** One CPU's single deferred mmap-unlock slot (`mmap_unlock_work`), spec 4.3/4.4. */
export interface UnlockSlot {
  /** Guest address of the slot (what kern_data's `work` holds). */
  address: bigint;
  /** The mm the queued irq_work will unlock. */
  mm: MmStruct | null;
  /** irq_work queued and not yet run. */
  pending: boolean;
}

/** What the designs measure, for the lab (spec 10) and for tests. */
export interface TaskVmaStats {
  news: number;
  newFailures: Record<"ENOMEM" | "ENOENT" | "EBUSY" | "EOPNOTSUPP", number>;
  vmasReturned: number;
  /** Wall time inside `_next` calls that returned a VMA. */
  nextNs: number;
  /** mmap read lock (A, C) or per-VMA read lock (B) held, summed. */
  lockHoldNs: number;
  /** Read locks dropped by a queued irq_work, and unlocks lost to an overwritten slot. */
  deferredUnlocks: number;
  lostUnlocks: number;
  /** B: VMAs skipped because their per-VMA lock failed. */
  skipped: number;
}

export interface TaskVmaSystemOptions {
  /** Target kernel BTF (offsets of every object the kfuncs place); default: Linux 6.18's offsets. */
  btf?: Btf;
  /** Possible CPUs (allocator caches, unlock slots). Default 1. */
  cpus?: number;
  /** The address space of a task's process; default: an empty mm per thread group. */
  mmOf?: (task: Task) => MmStruct | undefined;
  /** The `bpf_global_ma` model; default: prefilled 6.18 allocator with a manual host. */
  allocator?: BpfMemAlloc;
  /** Kernel built with per-VMA locks (B needs them; without: -EOPNOTSUPP). Default true. */
  perVmaLocks?: boolean;
  /** PREEMPT_RT kernel (A/C refuse irqs-off callers). Default false. */
  preemptRt?: boolean;
  /** Monotonic nanoseconds for lock hold times; default `process.hrtime`. */
  now?: () => number;
  /** Time `_next` and lock holds (costs a clock read per call). Default false. */
  measure?: boolean;
}

const hrNow = (): number => Number(process.hrtime.bigint());

/**
 * The kernel state the task_vma kfuncs share across designs: CPU contexts, the allocator,
 * deferred-unlock slots, task `alloc_lock`s, references, the address spaces and the guest objects.
 * One instance serves one runtime (bound on the first kfunc call).
 */
export class TaskVmaSystem {
  readonly layout: TaskVmaLayout;
  readonly allocator: BpfMemAlloc;
  readonly host: ManualHost | undefined;
  readonly cpus: number;
  readonly perVmaLocks: boolean;
  readonly preemptRt: boolean;
  readonly now: () => number;
  measure: boolean;
  readonly stats: TaskVmaStats = {
    news: 0,
    newFailures: { ENOMEM: 0, ENOENT: 0, EBUSY: 0, EOPNOTSUPP: 0 },
    vmasReturned: 0,
    nextNs: 0,
    lockHoldNs: 0,
    deferredUnlocks: 0,
    lostUnlocks: 0,
    skipped: 0,
  };
  /** Tasks whose `alloc_lock` another CPU holds (B's trylock fails). */
  readonly busyAllocLocks = new Set<number>();
  /** References the iterators hold on tasks, by pid. */
  readonly taskRefs = new Map<number, number>();
  readonly #contexts: CpuContext[];
  readonly #slots: UnlockSlot[] = [];
  readonly #mmOf: (task: Task) => MmStruct | undefined;
  readonly #mms = new Map<number, MmStruct>();
  readonly #kernData = new Map<number, Region>();
  #runtime: Runtime | undefined;
  #objects: KernelObjects | undefined;

  constructor(options: TaskVmaSystemOptions = {}) {
    this.layout = options.btf ? layoutFromBtf(options.btf) : LAYOUT_6_18;
    this.cpus = options.cpus ?? 1;
    if (options.allocator) this.allocator = options.allocator;
    else {
      this.host = new ManualHost();
      this.allocator = new BpfMemAlloc({ cpus: this.cpus, profile: "6.18", host: this.host });
    }
    this.perVmaLocks = options.perVmaLocks ?? true;
    this.preemptRt = options.preemptRt ?? false;
    this.now = options.now ?? hrNow;
    this.measure = options.measure ?? false;
    this.#contexts = Array.from({ length: this.cpus }, () => ({ irqsDisabled: false, nmi: false }));
    this.#mmOf =
      options.mmOf ??
      ((task) => {
        let mm = this.#mms.get(task.info.tgid);
        if (!mm) {
          mm = new MmStruct();
          this.#mms.set(task.info.tgid, mm);
        }
        return mm;
      });
  }

  /** Binds the runtime whose memory holds the objects (the first kfunc call does it). */
  bind(runtime: Runtime): KernelObjects {
    if (this.#runtime !== runtime || !this.#objects) {
      this.#runtime = runtime;
      this.#objects = new KernelObjects(runtime.memory, this.layout);
      this.#kernData.clear();
      this.#slots.length = 0;
    }
    return this.#objects;
  }

  get objects(): KernelObjects | undefined {
    return this.#objects;
  }

  context(cpu: number): CpuContext {
    const c = this.#contexts[cpu];
    if (!c) throw new RangeError(`cpu ${cpu} is not one of the ${this.cpus} possible CPUs`);
    return c;
  }

  /** Enter an irqs-off section (hard IRQ, NMI with `nmi`) on `cpu`. */
  disableIrqs(cpu: number, nmi = false): void {
    const c = this.context(cpu);
    c.irqsDisabled = true;
    c.nmi = nmi;
    this.host?.disableIrqs(cpu);
  }

  /** Interrupts back on: this CPU's queued irq_work runs (deferred mmap unlock, allocator refill). */
  enableIrqs(cpu: number): void {
    const c = this.context(cpu);
    c.irqsDisabled = false;
    c.nmi = false;
    const slot = this.#slots[cpu];
    if (slot?.pending) {
      slot.pending = false;
      if (slot.mm) {
        slot.mm.mmapReadUnlockAndWake();
        this.stats.deferredUnlocks++;
      }
      slot.mm = null;
    }
    this.host?.enableIrqs(cpu);
  }

  /** This CPU's deferred-unlock slot. */
  slot(objects: KernelObjects, cpu: number): UnlockSlot {
    let s = this.#slots[cpu];
    if (!s) {
      const r = objects.memory.map(16, { name: `mmap_unlock_work[${cpu}]`, kind: "kernel", writable: false });
      s = { address: r.base, mm: null, pending: false };
      this.#slots[cpu] = s;
    }
    return s;
  }

  /** The task's mm as `task->mm` says (NULL for kernel threads and exited tasks), bound to its guest address. */
  mmOf(objects: KernelObjects, task: Task, tasksMmOffset: number): MmStruct | null {
    const addr = task.region.view.getBigUint64(tasksMmOffset, true);
    if (addr === 0n) return null;
    const mm = this.#mmOf(task) ?? null;
    if (mm && objects.mmAddress(mm) !== addr) objects.bindMm(mm, addr);
    return mm;
  }

  /** The mm a task's process has in the model, whatever `task->mm` says. */
  mmOfTask(task: Task): MmStruct | undefined {
    return this.#mmOf(task);
  }

  /** Guest memory of an allocator object: one region per object id, so LIFO reuse gives the same address. */
  kernData(objects: KernelObjects, id: number, size: number): Region {
    let r = this.#kernData.get(id);
    if (!r) {
      r = objects.memory.map(size, { name: `kern_data#${id}`, kind: "kernel", writable: false });
      this.#kernData.set(id, r);
    }
    return r;
  }

  taskGet(task: Task): void {
    this.taskRefs.set(task.pid, (this.taskRefs.get(task.pid) ?? 0) + 1);
  }

  taskPut(task: Task): void {
    const n = (this.taskRefs.get(task.pid) ?? 0) - 1;
    if (n <= 0) this.taskRefs.delete(task.pid);
    else this.taskRefs.set(task.pid, n);
  }
}
