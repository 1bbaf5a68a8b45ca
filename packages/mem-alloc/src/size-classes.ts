/**
 * Size classes of the kmalloc-like BPF allocator (spec mem-alloc.md section 3). The kernel keeps
 * them in this array order, with 96 and 192 first; the index is what `bpf_mem_cache_idx` returns.
 */
export const SIZE_CLASSES: readonly number[] = [96, 192, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096];

/** Number of caches per CPU in a kmalloc-like allocator (`NUM_CACHES`). */
export const NUM_CACHES = 11;

/** Bytes of the hidden header in front of every non-per-CPU object (spec section 4.3). */
export const HEADER_SIZE = 8;

/** Size of the kmalloc'd holder of a per-CPU-data object: header word + per-CPU pointer (section 4.3). */
export const PERCPU_HOLDER_SIZE = 16;

/** Largest padded size any class holds. */
export const MAX_UNIT_SIZE = 4096;

/** Largest request `bpf_mem_alloc` accepts for a non-per-CPU allocator: 4096 minus the header. */
export const MAX_REQUEST = MAX_UNIT_SIZE - HEADER_SIZE;

/** Largest request for a per-CPU-data allocator (no in-object header). */
export const MAX_PERCPU_REQUEST = MAX_UNIT_SIZE;

/** `-E2BIG`, what `bpf_mem_alloc_check_size` reports above the limits. */
export const E2BIG = -7;

// kmalloc's small-size table without its 8-byte bucket, indexed by (size - 1) / 8 (section 3.1).
const SMALL_TABLE: readonly number[] = [
  2, 2, 3, 3, 4, 4, 4, 4, 0, 0, 0, 0, 5, 5, 5, 5, 1, 1, 1, 1, 1, 1, 1, 1,
];

/**
 * Class index for a padded size (request + 8 for normal objects, the request itself for per-CPU
 * data), or -1 when no class holds it (size 0 or above 4096). Section 3.1.
 */
export function classIndexForPadded(size: number): number {
  if (!Number.isInteger(size) || size <= 0 || size > MAX_UNIT_SIZE) return -1;
  if (size <= 192) return SMALL_TABLE[(size - 1) >> 3] ?? -1;
  // fls(size - 1) - 2: 193..256 -> 6, 257..512 -> 7, ..., 2049..4096 -> 10.
  return 32 - Math.clz32(size - 1) - 2;
}

/** Class index for what a caller asks `bpf_mem_alloc` for; -1 when the allocation would return NULL. */
export function classIndexForRequest(request: number, percpu = false): number {
  if (request <= 0) return -1;
  return classIndexForPadded(percpu ? request : request + HEADER_SIZE);
}

/** `bpf_mem_alloc_check_size`: 0, or -E2BIG when `request` is above what any class holds. */
export function checkAllocSize(request: number, percpu = false): number {
  return request > (percpu ? MAX_PERCPU_REQUEST : MAX_REQUEST) ? E2BIG : 0;
}
