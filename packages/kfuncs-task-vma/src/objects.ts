import type { MmStruct, VmArea, VmFile } from "@bpfkit/kernel-mm";
import type { Memory, Region } from "@bpfkit/vm";
import type { TaskVmaLayout } from "./layout.js";

/** dev_t as the kernel keeps it in `s_dev`: 12-bit major above a 20-bit minor (`MKDEV`). */
export function mkdev(major: number, minor: number): number {
  return ((major << 20) | (minor & 0xfffff)) >>> 0;
}

/** Names `/proc/PID/maps` prints for special mappings (x86-64): they come from `vm_special_mapping.name`. */
const SPECIAL = /^\[(vdso|vvar|vvar_vclock|uprobes|sigpage|vectors)\]$/;

/** A VMA's region and the values last written into it (so a walk rewrites only what changed). */
interface PlacedVma {
  region: Region;
  start: bigint;
  end: bigint;
  flags: bigint;
  pgoff: bigint;
  mm: VmArea["vmMm"];
  lockSeq: number;
  refcnt: number;
}

/** A file object as a VMA references it: the struct file, plus a reference count the kfuncs move. */
export interface FileObject {
  address: bigint;
  /** `get_file`/`fput` balance held by iterators (design B pins the snapshot's file). */
  refs: number;
}

/**
 * The kernel objects a BPF program reaches from a VMA, laid out in guest memory at the target's
 * offsets: the `vm_area_struct` (one region per VMA, so a saved pointer stays valid while the VMA
 * lives), `struct file` → `f_path` (`vfsmount` inside a `struct mount`, `dentry` chain with
 * `d_name`, `d_parent`) → `f_inode` → `i_sb->s_dev`, `i_ino`; `mm_struct`'s brk/stack bounds; and
 * `vm_special_mapping` names behind `vm_private_data`. Every file hangs under one root mount whose
 * dentry chain spells the whole path, so a `prepend_path`-style walk yields `d_path`; deleted files
 * have an unhashed dentry (`d_hash.pprev == NULL`) like the kernel's.
 */
export class KernelObjects {
  readonly #vmas = new WeakMap<VmArea, PlacedVma>();
  readonly #files = new Map<string, FileObject>();
  readonly #dentries = new Map<string, bigint>();
  readonly #inodes = new Map<string, bigint>();
  readonly #superBlocks = new Map<number, bigint>();
  readonly #strings = new Map<string, bigint>();
  readonly #special = new Map<string, bigint>();
  readonly #mmAddress = new WeakMap<MmStruct, bigint>();
  #rootMount: bigint | undefined;
  #rootDentry: bigint | undefined;
  #specialOps: bigint | undefined;

  constructor(
    readonly memory: Memory,
    readonly layout: TaskVmaLayout,
  ) {}

  #map(size: number, name: string): Region {
    return this.memory.map(Math.max(size, 8), { name, kind: "kernel", writable: false });
  }

  /** A NUL-terminated kernel string. */
  string(text: string): bigint {
    let a = this.#strings.get(text);
    if (a === undefined) {
      const bytes = new TextEncoder().encode(text);
      const r = this.#map(bytes.length + 1, `str "${text.slice(0, 24)}"`);
      r.bytes.set(bytes);
      a = r.base;
      this.#strings.set(text, a);
    }
    return a;
  }

  #mount(): { mount: bigint; root: bigint } {
    if (this.#rootMount === undefined || this.#rootDentry === undefined) {
      const L = this.layout;
      const d = this.#map(L.dentry.size, "dentry /");
      const m = this.#map(L.mount.size, "mount /");
      d.view.setBigUint64(L.dentry.d_parent, d.base, true);
      d.view.setBigUint64(L.dentry.d_name_name, this.string("/"), true);
      d.view.setUint32(L.dentry.d_name_len, 1, true);
      d.view.setBigUint64(L.dentry.d_hash_pprev, d.base, true);
      // The root mount is its own parent, and its mountpoint is its root: the walk stops there.
      m.view.setBigUint64(L.mount.mnt_parent, m.base, true);
      m.view.setBigUint64(L.mount.mnt_mountpoint, d.base, true);
      m.view.setBigUint64(L.mount.mnt_root, d.base, true);
      this.#rootMount = m.base;
      this.#rootDentry = d.base;
    }
    return { mount: this.#rootMount, root: this.#rootDentry };
  }

  /** The dentry of `path` (absolute, components separated by "/"), its parents made on the way. */
  #dentry(path: string, deleted: boolean): bigint {
    const key = deleted ? `${path}\0deleted` : path;
    const found = this.#dentries.get(key);
    if (found !== undefined) return found;
    const L = this.layout;
    const slash = path.lastIndexOf("/");
    const parentPath = slash <= 0 ? "/" : path.slice(0, slash);
    const parent = parentPath === "/" ? this.#mount().root : this.#dentry(parentPath, false);
    // A name without a leading slash (anon_inode:[...]) has no directory: it hangs off the root.
    const name = slash < 0 ? path : path.slice(slash + 1);
    const d = this.#map(L.dentry.size, `dentry ${name.slice(0, 32)}`);
    d.view.setBigUint64(L.dentry.d_parent, parent, true);
    d.view.setBigUint64(L.dentry.d_name_name, this.string(name), true);
    d.view.setUint32(L.dentry.d_name_len, new TextEncoder().encode(name).length, true);
    // d_unhashed: an unlinked file's dentry is out of the hash, so d_path appends " (deleted)".
    d.view.setBigUint64(L.dentry.d_hash_pprev, deleted ? 0n : parent, true);
    this.#dentries.set(key, d.base);
    return d.base;
  }

  #superBlock(dev: number): bigint {
    let a = this.#superBlocks.get(dev);
    if (a === undefined) {
      const r = this.#map(this.layout.superBlock.size, `super_block ${dev.toString(16)}`);
      r.view.setUint32(this.layout.superBlock.s_dev, dev, true);
      a = r.base;
      this.#superBlocks.set(dev, a);
    }
    return a;
  }

  #inode(file: VmFile): bigint {
    const dev = mkdev(file.major, file.minor);
    const key = `${dev}:${file.ino}`;
    let a = this.#inodes.get(key);
    if (a === undefined) {
      const L = this.layout.inode;
      const r = this.#map(L.size, `inode ${file.ino}`);
      r.view.setBigUint64(L.i_ino, file.ino, true);
      r.view.setBigUint64(L.i_sb, this.#superBlock(dev), true);
      a = r.base;
      this.#inodes.set(key, a);
    }
    return a;
  }

  /** The `struct file` of a VMA's file (one per path and inode, as one open file shared by mappings). */
  file(file: VmFile): FileObject {
    const key = `${file.path}\0${file.major}:${file.minor}:${file.ino}`;
    let f = this.#files.get(key);
    if (!f) {
      const L = this.layout.file;
      const deleted = file.path.endsWith(" (deleted)");
      const path = deleted ? file.path.slice(0, -" (deleted)".length) : file.path;
      const r = this.#map(L.size, `file ${path.slice(-32)}`);
      const { mount } = this.#mount();
      r.view.setBigUint64(L.f_path_mnt, mount + BigInt(this.layout.mount.mnt), true);
      r.view.setBigUint64(L.f_path_dentry, this.#dentry(path, deleted), true);
      r.view.setBigUint64(L.f_inode, this.#inode(file), true);
      f = { address: r.base, refs: 0 };
      this.#files.set(key, f);
    }
    return f;
  }

  /** Every file object made so far (tests check reference balance). */
  get files(): FileObject[] {
    return [...this.#files.values()];
  }

  /** `vm_special_mapping` of a special VMA's name; `vm_ops` points to one shared ops table. */
  #specialMapping(name: string): { ops: bigint; data: bigint } {
    if (this.#specialOps === undefined) this.#specialOps = this.#map(64, "special_mapping_vmops").base;
    let data = this.#special.get(name);
    if (data === undefined) {
      const L = this.layout.specialMapping;
      const r = this.#map(L.size, `vm_special_mapping ${name}`);
      r.view.setBigUint64(L.name, this.string(name), true);
      data = r.base;
      this.#special.set(name, data);
    }
    return { ops: this.#specialOps, data };
  }

  /** Records where an mm lives (the task_struct's `mm` pointer) and fills the fields programs read. */
  bindMm(mm: MmStruct, address: bigint): void {
    this.#mmAddress.set(mm, address);
    const r = this.memory.resolve(address);
    if (!r) return;
    const L = this.layout.mm;
    const v = r.region.view;
    if (r.offset + L.size > r.region.size) return;
    v.setBigUint64(r.offset + L.start_brk, mm.startBrk, true);
    v.setBigUint64(r.offset + L.brk, mm.brk, true);
    v.setBigUint64(r.offset + L.start_stack, mm.startStack, true);
    v.setInt32(r.offset + L.map_count, mm.mapCount, true);
  }

  mmAddress(mm: MmStruct): bigint {
    return this.#mmAddress.get(mm) ?? 0n;
  }

  /** The VMA's `vm_area_struct` region, created on first use and refreshed from the model on every call. */
  vmaRegion(vma: VmArea): Region {
    const L = this.layout.vma;
    let p = this.#vmas.get(vma);
    if (!p) {
      const r = this.#map(L.size, `vm_area_struct ${vma.vmStart.toString(16)}`);
      const v = r.view;
      let file = 0n;
      let ops = 0n;
      let priv = 0n;
      if (vma.vmFile) {
        file = this.file(vma.vmFile).address;
        ops = this.#specialMapping("").ops + 8n; // file VMAs have the filesystem's vm_ops: non-NULL
      } else if (SPECIAL.test(vma.name)) {
        const s = this.#specialMapping(vma.name);
        ops = s.ops;
        priv = s.data;
      }
      v.setBigUint64(L.vm_file, file, true);
      v.setBigUint64(L.vm_ops, ops, true);
      v.setBigUint64(L.vm_private_data, priv, true);
      v.setBigUint64(L.anon_vma, vma.anonVma ? r.base + 8n : 0n, true);
      p = { region: r, start: -1n, end: -1n, flags: -1n, pgoff: -1n, mm: null, lockSeq: -1, refcnt: -1 };
      this.#vmas.set(vma, p);
    }
    const v = p.region.view;
    // The model may have changed the VMA since the last walk (mprotect, merge, lock state).
    if (p.start !== vma.vmStart) {
      p.start = vma.vmStart;
      v.setBigUint64(L.vm_start, p.start, true);
    }
    if (p.end !== vma.vmEnd) {
      p.end = vma.vmEnd;
      v.setBigUint64(L.vm_end, p.end, true);
    }
    if (p.flags !== vma.vmFlags) {
      p.flags = vma.vmFlags;
      v.setBigUint64(L.vm_flags, p.flags, true);
    }
    if (p.pgoff !== vma.vmPgoff) {
      p.pgoff = vma.vmPgoff;
      v.setBigUint64(L.vm_pgoff, p.pgoff, true);
    }
    if (p.mm !== vma.vmMm || p.mm === null) {
      p.mm = vma.vmMm;
      v.setBigUint64(L.vm_mm, vma.vmMm ? this.mmAddress(vma.vmMm) : 0n, true);
    }
    if (p.lockSeq !== vma.vmLockSeq && L.vm_lock_seq >= 0) {
      p.lockSeq = vma.vmLockSeq;
      v.setUint32(L.vm_lock_seq, p.lockSeq, true);
    }
    if (p.refcnt !== vma.vmRefcnt && L.vm_refcnt >= 0) {
      p.refcnt = vma.vmRefcnt;
      v.setUint32(L.vm_refcnt, p.refcnt, true);
    }
    return p.region;
  }

  /** The file object behind a VMA, if any. */
  fileOf(vma: VmArea): FileObject | undefined {
    return vma.vmFile ? this.file(vma.vmFile) : undefined;
  }
}
