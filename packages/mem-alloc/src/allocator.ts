import { MemCache } from "./cache.js";
import { MemAllocError } from "./errors.js";
import type { AllocatorHost } from "./host.js";
import { ManualHost } from "./manual-host.js";
import type { KernelProfile, KernelProfileName } from "./profile.js";
import { KERNEL_PROFILES } from "./profile.js";
import {
  classIndexForPadded,
  classIndexForRequest,
  HEADER_SIZE,
  NUM_CACHES,
  PERCPU_HOLDER_SIZE,
  SIZE_CLASSES,
} from "./size-classes.js";
import type { AllocStats } from "./stats.js";
import { emptyStats } from "./stats.js";
import { watermarksFor } from "./watermarks.js";

/**
 * The four allocator kinds of spec mem-alloc.md section 2: kmalloc-like (`bpf_global_ma`),
 * fixed-size (hash maps), per-CPU kmalloc-like (`bpf_global_percpu_ma`) and per-CPU fixed-size.
 */
export type AllocatorKind = "kmalloc" | "fixed" | "percpu-kmalloc" | "percpu-fixed";

export interface MemAllocOptions {
  cpus: number;
  /** Default `kmalloc`, the kind of `bpf_global_ma`. */
  kind?: AllocatorKind;
  /** Object size of the fixed-size kinds (without the header). */
  size?: number;
  /** Default 6.18. */
  profile?: KernelProfileName | KernelProfile;
  /** Default: a {@link ManualHost} (refills run when interrupts are restored, grace periods on request). */
  host?: AllocatorHost;
}

/**
 * Stands for the kernel's special zero-size pointer, which the mid-2023 allocator returned for a
 * size-0 request; never a real object id.
 */
export const ZERO_SIZE_PTR = 0;

/** Where an object is, as the model tracks it. */
export const ObjectState = {
  /** Not taken from slab (or given back). */
  slab: 0,
  allocated: 1,
  free: 2,
  extra: 3,
  /** On a normal-RCU list: free_by_rcu, free_llist_extra_rcu or waiting_for_gp. */
  rcu: 4,
  /** On a tasks-trace list: free_by_rcu_ttrace or waiting_for_gp_ttrace. */
  ttrace: 5,
} as const;
export type ObjectState = (typeof ObjectState)[keyof typeof ObjectState];

/**
 * A `struct bpf_mem_alloc` with its per-CPU caches. Objects are small integer ids (the caller's
 * pointer, object + 8 in the kernel). Allocation failures are `null`, as the kernel's NULL.
 *
 * The one-shot operations (`alloc`, `free`, `freeRcu`) open and close the `active` section at once.
 * A simulator that lets an NMI land inside a section uses the split form instead:
 * `allocCache` + `enter` + `leaveAlloc`, `freeCache` + `enter` + `leaveFree`, and `refill` as a
 * generator that yields at every section it opens and closes.
 */
export class BpfMemAlloc {
  readonly cpus: number;
  readonly kind: AllocatorKind;
  readonly profile: KernelProfile;
  readonly host: AllocatorHost;
  readonly stats: AllocStats = emptyStats();
  readonly percpu: boolean;
  private readonly fixed: boolean;
  /** `caches[cpu][classIndex]` for kmalloc-like kinds, `caches[cpu][0]` for fixed-size ones. */
  private readonly caches: (MemCache | undefined)[][] = [];
  private readonly home: (MemCache | undefined)[] = [undefined];
  private readonly state: number[] = [ObjectState.slab];
  /** Caller-visible bytes per object, created on first access (a fresh slab object reads as zeros). */
  private readonly bytes: (Uint8Array | undefined)[] = [undefined];
  private readonly recycledIds: number[] = [];

  constructor(options: MemAllocOptions) {
    const { cpus } = options;
    if (!Number.isInteger(cpus) || cpus < 1)
      throw new MemAllocError("init", "bad-config", `cpu count ${cpus} is not a positive integer`);
    this.cpus = cpus;
    this.kind = options.kind ?? "kmalloc";
    this.percpu = this.kind === "percpu-kmalloc" || this.kind === "percpu-fixed";
    this.fixed = this.kind === "fixed" || this.kind === "percpu-fixed";
    const profile = options.profile ?? "6.18";
    this.profile = typeof profile === "string" ? KERNEL_PROFILES[profile] : profile;
    if (this.profile === undefined)
      throw new MemAllocError("init", "bad-config", `unknown kernel profile ${String(profile)}`);
    this.host = options.host ?? new ManualHost();
    if (this.host instanceof ManualHost) this.host.attach(this);
    for (let cpu = 0; cpu < cpus; cpu++) this.caches.push([]);

    if (this.kind === "fixed" || this.kind === "percpu-fixed") {
      const size = options.size ?? 0;
      if (!Number.isInteger(size) || size <= 0)
        throw new MemAllocError(
          "init",
          "bad-config",
          `fixed-size allocator needs a positive size, got ${size}`,
        );
      // Fixed-size units are exact, not rounded to a class (section 2); per-CPU: the area is the size.
      const unit = this.percpu ? size : size + HEADER_SIZE;
      for (let cpu = 0; cpu < cpus; cpu++) this.addCache(cpu, 0, -1, unit);
    } else if (this.kind === "kmalloc") {
      for (let cpu = 0; cpu < cpus; cpu++) {
        for (let idx = 0; idx < NUM_CACHES; idx++) this.addCache(cpu, idx, idx, SIZE_CLASSES[idx] ?? 0);
      }
    }
    // percpu-kmalloc: classes appear with initPercpuClass, as bpf_mem_alloc_percpu_unit_init does.
  }

  /** `bpf_mem_alloc_percpu_unit_init`: set up (and prefill) the class holding `size` on every CPU. */
  initPercpuClass(size: number): void {
    if (this.kind !== "percpu-kmalloc")
      throw new MemAllocError(
        "initPercpuClass",
        "unsupported",
        `a ${this.kind} allocator has no lazily initialised classes`,
      );
    const idx = classIndexForRequest(size, true);
    if (idx < 0)
      throw new MemAllocError(
        "initPercpuClass",
        "bad-config",
        `no class holds a per-CPU object of ${size} bytes`,
      );
    for (let cpu = 0; cpu < this.cpus; cpu++) {
      if (this.caches[cpu]?.[idx] === undefined) this.addCache(cpu, idx, idx, SIZE_CLASSES[idx] ?? 0);
    }
  }

  private addCache(cpu: number, slot: number, classIndex: number, unit: number): void {
    const marks = watermarksFor(unit, this.percpu, this.profile.percpuWatermarks);
    const cache = new MemCache(cpu, classIndex, unit, this.percpu, marks);
    (this.caches[cpu] as (MemCache | undefined)[])[slot] = cache;
    // Prefill (section 5): 6.12 on may sleep and so always gets its objects; mid-2023 could fail.
    for (let i = 0; i < cache.prefill; i++) {
      const id = this.takeFromSlab(cache, !this.profile.sleepingPrefill);
      if (id === null) break;
      cache.free.push(id);
      this.state[id] = ObjectState.free;
    }
  }

  /** This CPU's cache of class `classIndex` (0 for fixed-size kinds), if it exists. */
  cache(cpu: number, classIndex: number): MemCache | undefined {
    this.checkCpu(cpu, "cache");
    return this.caches[cpu]?.[this.kind === "fixed" || this.kind === "percpu-fixed" ? 0 : classIndex];
  }

  /** Every cache on `cpu` (class order for kmalloc-like kinds). */
  cachesOf(cpu: number): MemCache[] {
    this.checkCpu(cpu, "cachesOf");
    return (this.caches[cpu] ?? []).filter((c): c is MemCache => c !== undefined);
  }

  /** Where object `id` currently is. */
  objectState(id: number): ObjectState {
    return (this.state[id] ?? ObjectState.slab) as ObjectState;
  }

  /** The cache that last handed `id` out (the hidden header), or the one it was made for if never allocated. */
  homeOf(id: number): MemCache | undefined {
    return this.home[id];
  }

  /**
   * The caller's bytes of object `id` (object + 8 for normal objects, the per-CPU area for per-CPU
   * data; section 4.3). Objects fresh from slab are zero-filled; recycled objects keep whatever the
   * previous owner wrote, and reads after a free see those stale bytes until someone reuses the object.
   */
  data(id: number): Uint8Array {
    const home = this.home[id];
    const state = this.state[id];
    if (state === undefined || state === ObjectState.slab || home === undefined) {
      throw new MemAllocError("data", "unknown-object", `object ${id} is not held by this allocator`);
    }
    let bytes = this.bytes[id];
    if (bytes === undefined) {
      bytes = new Uint8Array(home.percpu ? home.unitSize : home.unitSize - HEADER_SIZE);
      this.bytes[id] = bytes;
    }
    return bytes;
  }

  // ---- allocation (section 6) ----

  /**
   * `bpf_mem_alloc` (kmalloc-like kinds; `bpf_mem_cache_alloc` for fixed-size ones, which ignore
   * `size`). Returns an object id, `ZERO_SIZE_PTR` for size 0 on the 2023 profile, or null.
   */
  alloc(cpu: number, size: number): number | null {
    const cache = this.allocCache(cpu, size);
    if (cache === null) {
      this.stats.allocs++;
      if (size === 0 && !this.profile.zeroSizeIsNull && !this.fixed) {
        this.stats.allocOk++;
        return ZERO_SIZE_PTR;
      }
      this.stats.failures.noClass++;
      return null;
    }
    cache.active++;
    return this.leaveAlloc(cache);
  }

  /**
   * `bpf_mem_cache_alloc_flags(ma, GFP_KERNEL)` for fixed-size kinds (section 6.1): the normal
   * allocation, and when it returns NULL (empty list or a collision), one sleeping slab allocation,
   * which fails only if slab does. The kmalloc-like kinds have no such variant.
   */
  allocSleepable(cpu: number): number | null {
    if (!this.fixed) {
      throw new MemAllocError(
        "allocSleepable",
        "unsupported",
        `a ${this.kind} allocator has no sleeping fallback`,
      );
    }
    const cache = this.allocCache(cpu, 0) as MemCache;
    const nested = ++cache.active !== 1;
    const id = this.leaveAlloc(cache);
    if (id !== null) return id;
    const fresh = this.takeFromSlab(cache, true);
    if (fresh === null) return null;
    const stats = this.stats;
    stats.failures[nested ? "reentrant" : "empty"]--; // the caller got an object after all
    stats.allocOk++;
    stats.slabFallbacks++;
    this.state[fresh] = ObjectState.allocated;
    this.home[fresh] = cache;
    return fresh;
  }

  /** Steps 1–2 of section 6: the cache an allocation of `size` on `cpu` uses, or null when none holds it. */
  allocCache(cpu: number, size: number): MemCache | null {
    const row = this.caches[cpu];
    if (row === undefined) return this.badCpu(cpu, "alloc");
    if (this.fixed) return row[0] ?? null;
    if (size === 0) return null;
    const idx = classIndexForRequest(size, this.percpu);
    if (idx < 0) return null;
    const cache = row[idx];
    if (cache === undefined)
      throw new MemAllocError(
        "alloc",
        "class-not-initialised",
        `per-CPU class ${SIZE_CLASSES[idx]} was never initialised (request ${size})`,
      );
    return cache;
  }

  /** Open an `active` section (interrupts are already off); returns the new counter value. */
  enter(cache: MemCache): number {
    return ++cache.active;
  }

  /**
   * Steps 4–8 of section 6 for a section opened with `enter`. `restore` re-enables interrupts
   * (default: tell the host); it runs after the refill is queued on 6.12+, before on 2023.
   */
  leaveAlloc(cache: MemCache, restore?: () => void): number | null {
    const stats = this.stats;
    stats.allocs++;
    let id: number | null = null;
    let count = 0;
    if (cache.active === 1) {
      const top = cache.free.pop();
      if (top !== undefined) {
        id = top;
        count = cache.free.length;
        this.state[top] = ObjectState.allocated;
        this.home[top] = cache;
        stats.allocOk++;
      } else {
        stats.failures.empty++;
      }
    } else {
      stats.failures.reentrant++;
    }
    cache.active--;
    this.finish(cache, count < cache.low, restore);
    return id;
  }

  // ---- free (section 7) ----

  /** `bpf_mem_free` (or `bpf_mem_cache_free`): the object joins `cpu`'s list, at its head. */
  free(cpu: number, id: number | null): void {
    if (id === null || id === ZERO_SIZE_PTR) return;
    const cache = this.freeCache(cpu, id);
    cache.active++;
    this.leaveFree(cache, id);
  }

  /** Steps 2–3 of section 7: this CPU's cache for `id`'s class; records the home cache in `tgt`. */
  freeCache(cpu: number, id: number): MemCache {
    const row = this.caches[cpu];
    if (row === undefined) return this.badCpu(cpu, "free");
    const home = this.home[id];
    if (home === undefined)
      throw new MemAllocError("free", "unknown-object", `object ${id} was never allocated`);
    if (this.state[id] !== ObjectState.allocated)
      throw new MemAllocError("free", "double-free", `object ${id} is not allocated (double free?)`);
    const cache = this.fixed
      ? row[0]
      : row[home.classIndex < 0 ? classIndexForPadded(home.unitSize) : home.classIndex];
    if (cache === undefined)
      throw new MemAllocError(
        "free",
        "class-not-initialised",
        `cpu ${cpu} has no cache for unit ${home.unitSize}`,
      );
    cache.tgt = home;
    return cache;
  }

  /** Steps 4–5 of section 7 for a section opened with `enter`. */
  leaveFree(cache: MemCache, id: number, restore?: () => void): void {
    this.stats.frees++;
    let count = 0;
    if (cache.active === 1) {
      cache.free.push(id);
      this.state[id] = ObjectState.free;
      count = cache.free.length;
    } else {
      cache.extra.push(id);
      this.state[id] = ObjectState.extra;
      this.stats.freesToExtra++;
    }
    cache.active--;
    this.finish(cache, count > cache.high, restore);
  }

  /** `bpf_mem_free_rcu` (section 9.2 step 1); not in the 2023 profile. */
  freeRcu(cpu: number, id: number | null): void {
    if (id === null || id === ZERO_SIZE_PTR) return;
    const cache = this.freeRcuCache(cpu, id);
    cache.active++;
    this.leaveFreeRcu(cache, id);
  }

  /** Like `freeCache`, for the RCU-deferred free. */
  freeRcuCache(cpu: number, id: number): MemCache {
    if (!this.profile.rcuDeferredFree)
      throw new MemAllocError(
        "freeRcu",
        "unsupported",
        `kernel profile ${this.profile.name} has no bpf_mem_free_rcu`,
      );
    return this.freeCache(cpu, id);
  }

  leaveFreeRcu(cache: MemCache, id: number, restore?: () => void): void {
    this.stats.freesRcu++;
    if (cache.active === 1) cache.freeByRcu.push(id);
    else cache.extraRcu.push(id);
    this.state[id] = ObjectState.rcu;
    cache.active--;
    this.finish(cache, !cache.rcuInFlight, restore);
  }

  private finish(cache: MemCache, raise: boolean, restore: (() => void) | undefined): void {
    if (this.profile.queueBeforeRestore) {
      if (raise) this.raise(cache, true);
      if (restore === undefined) this.host.irqRestored(cache.cpu);
      else restore();
    } else {
      if (restore === undefined) this.host.irqRestored(cache.cpu);
      else restore();
      if (raise) this.raise(cache, false);
    }
  }

  private raise(cache: MemCache, sectionOpen: boolean): void {
    if (cache.pending) return; // irq_work_queue on a pending work is a no-op (section 8.1)
    cache.pending = true;
    this.host.queueRefill(cache, sectionOpen);
  }

  // ---- refill work (section 8) and reclaim (section 9) ----

  /** Run `bpf_mem_refill` for `cache` to completion (what the irq_work does when nothing interrupts it). */
  runRefill(cache: MemCache): void {
    for (const _ of this.refill(cache)) {
      // each yield is a section boundary; nothing interrupts it here
    }
  }

  /**
   * `bpf_mem_refill` as a generator: it yields the cache each time it has just opened an `active`
   * section, and null each time it has just closed one, so a simulator can let time pass (and an
   * NMI land) inside a section or between two.
   */
  *refill(cache: MemCache): Generator<MemCache | null, void, void> {
    cache.pending = false; // the irq_work is claimed before its function runs
    this.stats.refillRuns++;
    const count = cache.free.length; // read once, racily, as the kernel does
    if (count < cache.low) yield* this.allocBulk(cache, cache.batch);
    else if (count > cache.high) yield* this.freeBulk(cache);
    yield* this.checkFreeByRcu(cache);
  }

  private *allocBulk(cache: MemCache, n: number): Generator<MemCache | null, void, void> {
    const stats = this.stats;
    stats.refills++;
    for (let i = 0; i < n; i++) {
      let id = cache.ttraceFree.pop() ?? cache.ttraceWait.pop();
      if (id !== undefined) {
        stats.refillFromTtrace++;
      } else {
        const fresh = this.takeFromSlab(cache, true);
        if (fresh === null) {
          stats.partialRefills++;
          return;
        }
        id = fresh;
        stats.refillFromSlab++;
      }
      cache.active++;
      yield cache;
      cache.free.push(id);
      this.state[id] = ObjectState.free;
      cache.active--;
      yield null;
    }
  }

  private *freeBulk(cache: MemCache): Generator<MemCache | null, void, void> {
    this.stats.trims++;
    const tgt = cache.tgt;
    let count: number;
    do {
      cache.active++;
      yield cache;
      const id = cache.free.pop();
      count = cache.free.length;
      cache.active--;
      yield null;
      if (id === undefined) break;
      tgt.ttraceFree.push(id);
      this.state[id] = ObjectState.ttrace;
      this.stats.trimmedObjects++;
    } while (count > cache.trimTarget);
    for (let id = cache.extra.pop(); id !== undefined; id = cache.extra.pop()) {
      tgt.ttraceFree.push(id);
      this.state[id] = ObjectState.ttrace;
    }
    this.callRcuTasksTrace(tgt);
  }

  private *checkFreeByRcu(cache: MemCache): Generator<MemCache | null, void, void> {
    if (cache.extraRcu.length > 0) {
      cache.active++;
      yield cache;
      for (let id = cache.extraRcu.pop(); id !== undefined; id = cache.extraRcu.pop())
        cache.freeByRcu.push(id);
      cache.active--;
      yield null;
    }
    if (cache.freeByRcu.length === 0 || cache.rcuInFlight) return; // in flight: the kernel only asks RCU to hurry
    cache.rcuInFlight = true;
    cache.active++;
    yield cache;
    for (const id of cache.freeByRcu) cache.waitingForGp.push(id);
    cache.freeByRcu.length = 0;
    cache.active--;
    yield null;
    this.stats.rcuGracePeriods++;
    this.host.startGracePeriod("rcu", cache, () => {
      const tgt = cache.tgt;
      if (cache.waitingForGp.length > 0) {
        for (const id of cache.waitingForGp) {
          tgt.ttraceFree.push(id);
          this.state[id] = ObjectState.ttrace;
        }
        cache.waitingForGp.length = 0;
        this.callRcuTasksTrace(tgt);
      }
      cache.rcuInFlight = false;
    });
  }

  /** Section 9.3: start a tasks-trace grace period for `cache`'s reclaim list unless one is in flight. */
  private callRcuTasksTrace(cache: MemCache): void {
    if (cache.ttraceInFlight) return;
    cache.ttraceInFlight = true;
    for (const id of cache.ttraceFree) cache.ttraceWait.push(id);
    cache.ttraceFree.length = 0;
    this.stats.ttraceGracePeriods++;
    this.host.startGracePeriod("tasks-trace", cache, () => {
      // Whatever a refill did not take back in the meantime goes back to slab.
      for (const id of cache.ttraceWait) this.giveBackToSlab(cache, id);
      cache.ttraceWait.length = 0;
      cache.ttraceInFlight = false;
    });
  }

  // ---- slab ----

  private objectBytes(cache: MemCache): number {
    return cache.percpu ? cache.unitSize + PERCPU_HOLDER_SIZE : cache.unitSize;
  }

  private takeFromSlab(cache: MemCache, mayFail: boolean): number | null {
    const bytes = this.objectBytes(cache);
    // Per-CPU data needs two allocations, the 16-byte holder and the per-CPU area (section 11).
    const ok =
      !mayFail ||
      (cache.percpu
        ? this.host.slabAlloc(cache.cpu, PERCPU_HOLDER_SIZE) && this.host.slabAlloc(cache.cpu, cache.unitSize)
        : this.host.slabAlloc(cache.cpu, bytes));
    if (!ok) {
      this.stats.slabFailures++;
      return null;
    }
    const id = this.recycledIds.pop() ?? this.state.length;
    this.state[id] = ObjectState.free;
    this.home[id] = cache;
    this.bytes[id] = undefined; // fresh from slab: zeroed
    const stats = this.stats;
    stats.bytesFromSlab += bytes;
    if (stats.bytesFromSlab > stats.peakBytesFromSlab) stats.peakBytesFromSlab = stats.bytesFromSlab;
    return id;
  }

  private giveBackToSlab(cache: MemCache, id: number): void {
    this.state[id] = ObjectState.slab;
    this.home[id] = undefined;
    this.bytes[id] = undefined;
    this.recycledIds.push(id);
    this.stats.bytesFromSlab -= this.objectBytes(cache);
    this.stats.returnedToSlab++;
  }

  private badCpu(cpu: number, op: string): never {
    throw new MemAllocError(op, "bad-cpu", `cpu ${cpu} is not in 0..${this.cpus - 1}`);
  }

  private checkCpu(cpu: number, op: string): void {
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.cpus)
      throw new MemAllocError(op, "bad-cpu", `cpu ${cpu} is not in 0..${this.cpus - 1}`);
  }
}
