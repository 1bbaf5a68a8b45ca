/** Map type numbers of `enum bpf_map_type` (UAPI). */
export const MapType = {
  HASH: 1,
  ARRAY: 2,
  PROG_ARRAY: 3,
  PERF_EVENT_ARRAY: 4,
  PERCPU_HASH: 5,
  PERCPU_ARRAY: 6,
  LRU_HASH: 9,
  LRU_PERCPU_HASH: 10,
  ARRAY_OF_MAPS: 12,
  HASH_OF_MAPS: 13,
  QUEUE: 22,
  STACK: 23,
  RINGBUF: 27,
  TASK_STORAGE: 29,
} as const;

/** bpftool's names of the map types, used in error messages and dumps. */
export const MAP_TYPE_NAMES: Readonly<Record<number, string>> = {
  1: "hash",
  2: "array",
  3: "prog_array",
  4: "perf_event_array",
  5: "percpu_hash",
  6: "percpu_array",
  9: "lru_hash",
  10: "lru_percpu_hash",
  12: "array_of_maps",
  13: "hash_of_maps",
  22: "queue",
  23: "stack",
  27: "ringbuf",
  29: "task_storage",
};

/** Update flags of `bpf_map_update_elem` (UAPI `BPF_ANY`, `BPF_NOEXIST`, `BPF_EXIST`, `BPF_F_LOCK`). */
export const UpdateFlag = { ANY: 0, NOEXIST: 1, EXIST: 2, LOCK: 4 } as const;

/** Map creation flags (UAPI `BPF_F_*`) the runtime honours. */
export const MapFlag = {
  /** Hash maps allocate elements on demand instead of preallocating `max_entries`. */
  NO_PREALLOC: 1 << 0,
  NO_COMMON_LRU: 1 << 1,
  /** The map is read-only from user space. */
  RDONLY: 1 << 3,
  WRONLY: 1 << 4,
  /** The map is read-only for programs (libbpf sets it on .rodata). */
  RDONLY_PROG: 1 << 7,
  WRONLY_PROG: 1 << 8,
  /** Array maps may be mmap()ed (libbpf sets it on global data). */
  MMAPABLE: 1 << 10,
} as const;

/** `bpf_task_storage_get` flag: create the element when it is missing. */
export const BPF_LOCAL_STORAGE_GET_F_CREATE = 1;

/** Rounds a value size up to 8 bytes, the element stride of arrays and per-CPU values. */
export function round8(n: number): number {
  return (n + 7) & ~7;
}
