/** Why an allocation returned NULL (spec mem-alloc.md section 6.1). */
export type FailureCause = "noClass" | "empty" | "reentrant";

/** Counters of one allocator; every field only grows except `bytesFromSlab`. */
export interface AllocStats {
  allocs: number;
  allocOk: number;
  failures: Record<FailureCause, number>;
  frees: number;
  /** Frees that met a busy `active` and went to `free_llist_extra`. */
  freesToExtra: number;
  freesRcu: number;
  /** irq_work runs of `bpf_mem_refill`, and of those, how many added or trimmed. */
  refillRuns: number;
  refills: number;
  trims: number;
  /** Objects a refill added, split by where they came from. */
  refillFromTtrace: number;
  refillFromSlab: number;
  /** Fixed-size sleeping allocations served by a direct slab allocation (section 6.1). */
  slabFallbacks: number;
  /** Refills that stopped early because slab failed. */
  partialRefills: number;
  slabFailures: number;
  trimmedObjects: number;
  /** Objects given back to slab after a tasks-trace grace period. */
  returnedToSlab: number;
  rcuGracePeriods: number;
  ttraceGracePeriods: number;
  /** Bytes currently taken from slab (objects in use and on every list); per-CPU data counts holder + area. */
  bytesFromSlab: number;
  peakBytesFromSlab: number;
}

export function emptyStats(): AllocStats {
  return {
    allocs: 0,
    allocOk: 0,
    failures: { noClass: 0, empty: 0, reentrant: 0 },
    frees: 0,
    freesToExtra: 0,
    freesRcu: 0,
    refillRuns: 0,
    refills: 0,
    trims: 0,
    refillFromTtrace: 0,
    refillFromSlab: 0,
    slabFallbacks: 0,
    partialRefills: 0,
    slabFailures: 0,
    trimmedObjects: 0,
    returnedToSlab: 0,
    rcuGracePeriods: 0,
    ttraceGracePeriods: 0,
    bytesFromSlab: 0,
    peakBytesFromSlab: 0,
  };
}
