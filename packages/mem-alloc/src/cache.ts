import type { Watermarks } from "./watermarks.js";

/**
 * One `struct bpf_mem_cache`: the free list of one unit size on one CPU with its refill and
 * reclaim lists (spec mem-alloc.md sections 4.2 and 15.1). Lists hold object ids; the end of each
 * array is the list head, so `free` is LIFO as the kernel's llist is.
 */
export class MemCache {
  readonly cpu: number;
  /** Class index (section 3), or -1 for a fixed-size cache. */
  readonly classIndex: number;
  /** Object size including the hidden header (per-CPU data: the per-CPU area size). */
  readonly unitSize: number;
  readonly percpu: boolean;
  readonly low: number;
  readonly high: number;
  readonly batch: number;
  readonly trimTarget: number;
  readonly prefill: number;

  /** `free_llist`; its length is `free_cnt`. */
  readonly free: number[] = [];
  /** `free_llist_extra`: frees that met a busy `active`; drained only by a trim. */
  readonly extra: number[] = [];
  /** `active`: open critical sections on this cache (section 10). */
  active = 0;
  /** The refill irq_work is queued and has not started yet. */
  pending = false;
  /** Home cache of the most recently freed object; trims are routed there. */
  tgt: MemCache;

  /** Normal-RCU deferred path (section 9.2). */
  readonly freeByRcu: number[] = [];
  readonly extraRcu: number[] = [];
  readonly waitingForGp: number[] = [];
  rcuInFlight = false;

  /** Tasks-trace reclaim path (section 9.3). */
  readonly ttraceFree: number[] = [];
  readonly ttraceWait: number[] = [];
  ttraceInFlight = false;

  constructor(cpu: number, classIndex: number, unitSize: number, percpu: boolean, marks: Watermarks) {
    this.cpu = cpu;
    this.classIndex = classIndex;
    this.unitSize = unitSize;
    this.percpu = percpu;
    this.low = marks.low;
    this.high = marks.high;
    this.batch = marks.batch;
    this.trimTarget = marks.trimTarget;
    this.prefill = marks.prefill;
    this.tgt = this;
  }

  /** `free_cnt`: objects on the main free list. */
  get freeCount(): number {
    return this.free.length;
  }
}
