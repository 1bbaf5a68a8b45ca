import type { MemCache } from "./cache.js";

/** Which grace period a reclaim step waits for (spec mem-alloc.md section 9). */
export type GracePeriodKind = "rcu" | "tasks-trace";

/**
 * What the allocator needs from the world around it: the irq_work machinery, RCU and slab. The
 * synchronous {@link ManualHost} serves tests and single-threaded callers; the discrete-event
 * simulator implements it with time.
 */
export interface AllocatorHost {
  /**
   * `irq_work_queue` of `cache`'s refill work on `cache.cpu` (already marked pending). `sectionOpen`
   * is true when the caller still has interrupts disabled by the allocator itself (6.12 order).
   */
  queueRefill(cache: MemCache, sectionOpen: boolean): void;
  /** The allocator restored interrupts on `cpu` at the end of one operation. */
  irqRestored(cpu: number): void;
  /** Start a grace period; `done` runs when it ends. */
  startGracePeriod(kind: GracePeriodKind, cache: MemCache, done: () => void): void;
  /** One non-sleeping slab allocation of `bytes` on `cpu`'s node: true when it succeeded. */
  slabAlloc(cpu: number, bytes: number): boolean;
}
