/** Byte offset and size of one field of a kernel struct. */
export interface FieldLayout {
  offset: number;
  size: number;
}

/**
 * Where a kernel struct's fields live, so a runtime can place model objects in guest memory at
 * the target kernel's offsets. The built-in tables follow spec 5 (6.18 from BTF, 6.12 computed);
 * a runtime holding the target's BTF can build its own with the same shape.
 */
export interface StructLayout {
  name: string;
  size: number;
  align: number;
  fields: Readonly<Record<string, FieldLayout>>;
}

const f = (offset: number, size = 8): FieldLayout => ({ offset, size });

/** `struct vm_area_struct` per kernel (spec 5.3). */
export const VM_AREA_STRUCT_LAYOUT: Readonly<Record<"6.12" | "6.18", StructLayout>> = {
  "6.18": {
    name: "vm_area_struct",
    size: 192,
    align: 64,
    fields: {
      vm_start: f(0),
      vm_end: f(8),
      vm_mm: f(16),
      vm_page_prot: f(24),
      vm_flags: f(32),
      vm_lock_seq: f(40, 4),
      anon_vma_chain: f(48, 16),
      anon_vma: f(64),
      vm_ops: f(72),
      vm_pgoff: f(80),
      vm_file: f(88),
      vm_private_data: f(96),
      swap_readahead_info: f(104),
      vm_policy: f(112),
      numab_state: f(120),
      vm_refcnt: f(128, 4),
      shared: f(136, 32),
      vm_userfaultfd_ctx: f(168),
      pfnmap_track_ctx: f(176),
    },
  },
  "6.12": {
    name: "vm_area_struct",
    size: 176,
    align: 8,
    fields: {
      vm_start: f(0),
      vm_end: f(8),
      vm_mm: f(16),
      vm_page_prot: f(24),
      vm_flags: f(32),
      detached: f(40, 1),
      vm_lock_seq: f(44, 4),
      vm_lock: f(48),
      shared: f(56, 32),
      anon_vma_chain: f(88, 16),
      anon_vma: f(104),
      vm_ops: f(112),
      vm_pgoff: f(120),
      vm_file: f(128),
      vm_private_data: f(136),
      swap_readahead_info: f(144),
      vm_policy: f(152),
      numab_state: f(160),
      vm_userfaultfd_ctx: f(168),
    },
  },
};

/** `struct mm_struct` fields the model fills (spec 5.4). */
export const MM_STRUCT_LAYOUT: Readonly<Record<"6.12" | "6.18", StructLayout>> = {
  "6.18": {
    name: "mm_struct",
    size: 1472,
    align: 64,
    fields: {
      mm_count: f(0, 4),
      mm_mt: f(64, 16),
      mm_mt_flags: f(68, 4),
      mm_mt_root: f(72),
      mm_users: f(132, 4),
      map_count: f(176, 4),
      page_table_lock: f(180, 4),
      mmap_lock: f(184, 40),
      mmlist: f(224, 16),
      vma_writer_wait: f(240),
      mm_lock_seq: f(248, 4),
      start_brk: f(456),
      brk: f(464),
      start_stack: f(472),
      owner: f(1296),
      exe_file: f(1312),
    },
  },
  "6.12": {
    name: "mm_struct",
    // The spec computes only these 6.12 offsets, not the struct size.
    size: 0,
    align: 64,
    fields: {
      mm_count: f(0, 4),
      mm_mt: f(64, 16),
      mm_mt_flags: f(68, 4),
      mm_mt_root: f(72),
      mm_users: f(132, 4),
      map_count: f(160, 4),
      page_table_lock: f(164, 4),
      mmap_lock: f(168, 40),
      mmlist: f(208, 16),
      mm_lock_seq: f(224, 4),
    },
  },
};

/** `struct ma_state` (= `struct vma_iterator`) per kernel (spec 5.2): 72 bytes on 6.12, 88 on 6.18. */
export const MA_STATE_LAYOUT: Readonly<Record<"6.12" | "6.18", StructLayout>> = {
  "6.18": {
    name: "ma_state",
    size: 88,
    align: 8,
    fields: {
      tree: f(0),
      index: f(8),
      last: f(16),
      node: f(24),
      min: f(32),
      max: f(40),
      sheaf: f(48),
      alloc: f(56),
      node_request: f(64),
      status: f(72, 4),
      depth: f(76, 1),
      offset: f(77, 1),
      mas_flags: f(78, 1),
      end: f(79, 1),
      store_type: f(80, 4),
    },
  },
  "6.12": {
    name: "ma_state",
    size: 72,
    align: 8,
    fields: {
      tree: f(0),
      index: f(8),
      last: f(16),
      node: f(24),
      min: f(32),
      max: f(40),
      alloc: f(48),
      status: f(56, 4),
      depth: f(60, 1),
      offset: f(61, 1),
      mas_flags: f(62, 1),
      end: f(63, 1),
      store_type: f(64, 4),
    },
  },
};

/** Writes an unsigned field of `layout` at `base` (little-endian, x86_64). */
export function writeField(
  view: DataView,
  base: number,
  layout: StructLayout,
  field: string,
  value: bigint,
): void {
  const fl = layout.fields[field];
  if (!fl) return;
  const at = base + fl.offset;
  if (fl.size === 8) view.setBigUint64(at, BigInt.asUintN(64, value), true);
  else if (fl.size === 4) view.setUint32(at, Number(BigInt.asUintN(32, value)), true);
  else if (fl.size === 1) view.setUint8(at, Number(value & 0xffn));
}
