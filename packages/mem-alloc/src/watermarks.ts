/** Refill parameters of one cache (spec mem-alloc.md section 5). */
export interface Watermarks {
  /** A free count below this queues a refill. */
  readonly low: number;
  /** A free count above this queues a trim. */
  readonly high: number;
  /** Objects a refill adds. */
  readonly batch: number;
  /** Free count a trim stops at: (low + high) / 2, integer division. */
  readonly trimTarget: number;
  /** Objects put on each CPU's list at init. */
  readonly prefill: number;
}

/**
 * Watermarks as `bpf_mem_alloc_init` computes them from the unit size (object size including the
 * header). Per-CPU-data caches use 1/3/1/1 when the kernel has that rule (`percpuRule`: 6.12 on).
 */
export function watermarksFor(unitSize: number, percpu = false, percpuRule = true): Watermarks {
  let low: number;
  let high: number;
  let batch: number;
  let prefill: number;
  if (percpu && percpuRule) {
    low = 1;
    high = 3;
    batch = 1;
    prefill = 1;
  } else if (unitSize <= 256) {
    low = 32;
    high = 96;
    batch = 48;
    prefill = 4;
  } else {
    low = Math.max(Math.trunc(8192 / unitSize), 1);
    high = Math.max(Math.trunc(24576 / unitSize), 3);
    batch = Math.max(Math.trunc((high - low) / 4) * 3, 1);
    prefill = 1;
  }
  return { low, high, batch, prefill, trimTarget: Math.trunc((low + high) / 2) };
}
