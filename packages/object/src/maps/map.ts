/** Where a map comes from in the object (libbpf's `enum libbpf_map_type` plus BTF maps). */
export type MapOrigin = "btf" | "data" | "rodata" | "bss" | "kconfig" | "struct_ops" | "arena";

/** One map of an object, in libbpf's object order. */
export interface ObjectMap {
  name: string;
  /** `enum bpf_map_type` number. */
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  numaNode: number;
  /** `map_extra` (bloom filter hashes, arena address), 64-bit. */
  mapExtra: bigint;
  /** 0 none, 1 by name. */
  pinning: number;
  origin: MapOrigin;
  /** ELF section the map lives in, and its byte offset there (BTF maps). */
  sectionIndex: number;
  sectionName: string;
  sectionOffset: number;
  /** BTF ids in the object's .BTF (0 when unknown). */
  btfKeyTypeId: number;
  btfValueTypeId: number;
  /** Map-in-map: the inner map definition. */
  inner: ObjectMap | undefined;
  /**
   * Initial value of element 0 for global data maps (section bytes, zeros for .bss). Writable
   * until load, which is how `const volatile` variables are set from outside (skeleton style).
   */
  initial: Uint8Array | undefined;
  /** Read-only for programs and frozen after initialisation (.rodata*, .kconfig). */
  readonly: boolean;
  /** Whether the loader creates it (struct_ops maps without a program do not block loading). */
  autocreate: boolean;
}
