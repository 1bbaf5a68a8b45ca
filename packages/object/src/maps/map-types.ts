/** `enum bpf_map_type` names as bpftool prints them (lower case, without the prefix), by number. */
export const MAP_TYPE_NAMES: readonly string[] = [
  "unspec",
  "hash",
  "array",
  "prog_array",
  "perf_event_array",
  "percpu_hash",
  "percpu_array",
  "stack_trace",
  "cgroup_array",
  "lru_hash",
  "lru_percpu_hash",
  "lpm_trie",
  "array_of_maps",
  "hash_of_maps",
  "devmap",
  "sockmap",
  "cpumap",
  "xskmap",
  "sockhash",
  "cgroup_storage",
  "reuseport_sockarray",
  "percpu_cgroup_storage",
  "queue",
  "stack",
  "sk_storage",
  "devmap_hash",
  "struct_ops",
  "ringbuf",
  "inode_storage",
  "task_storage",
  "bloom_filter",
  "user_ringbuf",
  "cgrp_storage",
  "arena",
];

/** Map type numbers the loader itself refers to. */
export const MapType = {
  ARRAY: 2,
  PERF_EVENT_ARRAY: 4,
  PROG_ARRAY: 3,
  ARRAY_OF_MAPS: 12,
  HASH_OF_MAPS: 13,
  STRUCT_OPS: 26,
  RINGBUF: 27,
  USER_RINGBUF: 31,
  ARENA: 33,
} as const;

/** bpftool's name for a map type number (`"array"`, `"hash"`), or the number for unknown types. */
export function mapTypeName(type: number): string {
  return MAP_TYPE_NAMES[type] ?? String(type);
}

/** `BPF_F_RDONLY_PROG`: the program may only read the map (.rodata, .kconfig). */
export const BPF_F_RDONLY_PROG = 0x80;
/** `BPF_F_MMAPABLE`: the array can be mmap()ed (global data with non-static variables). */
export const BPF_F_MMAPABLE = 0x400;
