import type { Btf } from "@bpfkit/btf";
import { TaskVmaError } from "./errors.js";

/**
 * Byte offsets of every kernel field the task_vma kfuncs fill or a BPF program reads through the
 * VMA they return: the VMA itself, its file chain (file → path → dentry → inode → super_block,
 * mount), the mm fields that name `[heap]`/`[stack]`, special mappings, and the kern_data of each
 * design. CO-RE relocates programs against the same BTF, so objects placed here are what they read.
 */
export interface TaskVmaLayout {
  vma: {
    size: number;
    vm_start: number;
    vm_end: number;
    vm_mm: number;
    vm_flags: number;
    vm_lock_seq: number;
    anon_vma: number;
    vm_ops: number;
    vm_pgoff: number;
    vm_file: number;
    vm_private_data: number;
    /** -1 when the target has no `vm_refcnt` (6.12 keeps a separate lock object). */
    vm_refcnt: number;
  };
  file: { size: number; f_path_mnt: number; f_path_dentry: number; f_inode: number };
  dentry: { size: number; d_name_len: number; d_name_name: number; d_parent: number; d_hash_pprev: number };
  inode: { size: number; i_ino: number; i_sb: number };
  superBlock: { size: number; s_dev: number };
  mount: { size: number; mnt_parent: number; mnt_mountpoint: number; mnt: number; mnt_root: number };
  mm: { size: number; start_brk: number; brk: number; start_stack: number; map_count: number };
  specialMapping: { size: number; name: number };
  /** `sizeof(struct vma_iterator)` (= `struct ma_state`). */
  vmaIteratorSize: number;
  /** Design B's `struct bpf_iter_task_vma_kern_data`: size, snapshot and next_addr offsets. */
  snapshotKernData: { size: number; snapshot: number; next_addr: number };
}

/** Offsets of Linux 6.18 x86-64 (read from its BTF), used when no target BTF is given. */
export const LAYOUT_6_18: TaskVmaLayout = {
  vma: {
    size: 192,
    vm_start: 0,
    vm_end: 8,
    vm_mm: 16,
    vm_flags: 32,
    vm_lock_seq: 40,
    anon_vma: 64,
    vm_ops: 72,
    vm_pgoff: 80,
    vm_file: 88,
    vm_private_data: 96,
    vm_refcnt: 128,
  },
  file: { size: 184, f_path_mnt: 64, f_path_dentry: 72, f_inode: 32 },
  dentry: { size: 192, d_name_len: 36, d_name_name: 40, d_parent: 24, d_hash_pprev: 16 },
  inode: { size: 616, i_ino: 64, i_sb: 40 },
  superBlock: { size: 1472, s_dev: 16 },
  mount: { size: 352, mnt_parent: 16, mnt_mountpoint: 24, mnt: 32, mnt_root: 32 },
  mm: { size: 1472, start_brk: 456, brk: 464, start_stack: 472, map_count: 176 },
  specialMapping: { size: 40, name: 0 },
  vmaIteratorSize: 88,
  snapshotKernData: { size: 320, snapshot: 64, next_addr: 256 },
};

const STRUCT = 4;

function structId(btf: Btf, name: string): number {
  const id = btf.find(name, STRUCT);
  if (id === undefined) throw new TaskVmaError(`the target BTF has no struct ${name}`, "layout");
  return id;
}

/** Byte offset of a dotted member path (`f_path.dentry`) in struct `name`, or -1 when `optional` and absent. */
function offsetOf(btf: Btf, name: string, path: string, optional = false): number {
  let id = structId(btf, name);
  let total = 0;
  for (const part of path.split(".")) {
    const m = btf.findMember(id, part);
    if (!m) {
      if (optional) return -1;
      throw new TaskVmaError(`struct ${name} in the target BTF has no member ${path}`, "layout");
    }
    total += m.bitOffset / 8;
    id = m.type;
  }
  return total;
}

function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

/** The layout of a target kernel from its BTF (throws `TaskVmaError` naming a missing struct or member). */
export function layoutFromBtf(btf: Btf): TaskVmaLayout {
  const o = (s: string, p: string, optional = false) => offsetOf(btf, s, p, optional);
  const size = (s: string) => btf.sizeof(structId(btf, s));
  const vmaSize = size("vm_area_struct");
  const kd = btf.find("bpf_iter_task_vma_kern_data", STRUCT);
  const hasSnapshot = kd !== undefined && btf.findMember(kd, "snapshot") !== undefined;
  // Kernels before the 2026 series have no snapshot kern_data; lay B's out as the series does.
  const vmaAlign = btf.alignof(structId(btf, "vm_area_struct"));
  const snapshotKernData = hasSnapshot
    ? {
        size: btf.sizeof(kd as number),
        snapshot: o("bpf_iter_task_vma_kern_data", "snapshot"),
        next_addr: o("bpf_iter_task_vma_kern_data", "next_addr"),
      }
    : (() => {
        const snapshot = alignUp(16, vmaAlign);
        const next = snapshot + vmaSize;
        return { size: alignUp(next + 8, Math.max(8, vmaAlign)), snapshot, next_addr: next };
      })();
  return {
    vma: {
      size: vmaSize,
      vm_start: o("vm_area_struct", "vm_start"),
      vm_end: o("vm_area_struct", "vm_end"),
      vm_mm: o("vm_area_struct", "vm_mm"),
      vm_flags: o("vm_area_struct", "vm_flags"),
      vm_lock_seq: o("vm_area_struct", "vm_lock_seq", true),
      anon_vma: o("vm_area_struct", "anon_vma"),
      vm_ops: o("vm_area_struct", "vm_ops"),
      vm_pgoff: o("vm_area_struct", "vm_pgoff"),
      vm_file: o("vm_area_struct", "vm_file"),
      vm_private_data: o("vm_area_struct", "vm_private_data"),
      vm_refcnt: o("vm_area_struct", "vm_refcnt", true),
    },
    file: {
      size: size("file"),
      f_path_mnt: o("file", "f_path.mnt"),
      f_path_dentry: o("file", "f_path.dentry"),
      f_inode: o("file", "f_inode"),
    },
    dentry: {
      size: size("dentry"),
      d_name_len: o("dentry", "d_name.len"),
      d_name_name: o("dentry", "d_name.name"),
      d_parent: o("dentry", "d_parent"),
      d_hash_pprev: o("dentry", "d_hash.pprev"),
    },
    inode: { size: size("inode"), i_ino: o("inode", "i_ino"), i_sb: o("inode", "i_sb") },
    superBlock: { size: size("super_block"), s_dev: o("super_block", "s_dev") },
    mount: {
      size: size("mount"),
      mnt_parent: o("mount", "mnt_parent"),
      mnt_mountpoint: o("mount", "mnt_mountpoint"),
      mnt: o("mount", "mnt"),
      mnt_root: o("mount", "mnt.mnt_root"),
    },
    mm: {
      size: size("mm_struct"),
      start_brk: o("mm_struct", "start_brk"),
      brk: o("mm_struct", "brk"),
      start_stack: o("mm_struct", "start_stack"),
      map_count: o("mm_struct", "map_count"),
    },
    specialMapping: { size: size("vm_special_mapping"), name: o("vm_special_mapping", "name") },
    vmaIteratorSize: size("vma_iterator"),
    snapshotKernData,
  };
}
