import { type StructLayout, VM_AREA_STRUCT_LAYOUT, writeField } from "./layout.js";
import type { MmStruct } from "./mm-struct.js";
import { permsOf } from "./vm-flags.js";

/** The file behind a VMA (`vm_file`): path as `d_path` prints it, device and inode. */
export interface VmFile {
  path: string;
  /** Device of the inode's superblock, as in `/proc/PID/maps`. */
  major: number;
  minor: number;
  ino: bigint;
}

/**
 * How `vm_pgoff` was obtained: read from the file offset, fixed for special mappings, derived for
 * the main stack, or inferred (`vm_start >> 12`) for anonymous memory, which is exact unless the
 * VMA was faulted and then moved by mremap (spec 6.3).
 */
export type PgoffSource = "file" | "special" | "stack" | "anon-inferred" | "oracle";

/** What `vm_ops` would be: NULL for anonymous memory, non-NULL for files and special mappings. */
export type VmOpsKind = "anonymous" | "file" | "special";

/** Initial fields of a VMA. */
export interface VmAreaInit {
  start: bigint;
  end: bigint;
  flags: bigint;
  pgoff?: bigint;
  file?: VmFile | null;
  /** Pseudo-name of a special mapping (`[vdso]`, `[heap]`, `[stack]`...), "" when none. */
  name?: string;
  /** `anon_vma_name` (`[anon:NAME]`). */
  anonName?: string | null;
  pgoffSource?: PgoffSource;
  /** Whether an `anon_vma` is attached; null when unknown (smaps shows no anonymous pages). */
  anonVma?: boolean | null;
}

/**
 * `struct vm_area_struct`: a half-open range `[vm_start, vm_end)` stored in the mm's maple tree as
 * `[vm_start, vm_end - 1]`, with its flags, page offset, file and per-VMA lock state.
 */
export class VmArea {
  vmStart: bigint;
  vmEnd: bigint;
  vmFlags: bigint;
  vmPgoff: bigint;
  vmFile: VmFile | null;
  name: string;
  anonName: string | null;
  pgoffSource: PgoffSource;
  anonVma: boolean | null;
  vmMm: MmStruct | null = null;
  /** `mm_lock_seq` of the write section that last write-locked this VMA. */
  vmLockSeq = 0;
  /** 6.18: 0 detached, 1 attached, 1+n with n readers, plus VMA_LOCK_OFFSET while a writer waits. */
  vmRefcnt = 0;

  constructor(init: VmAreaInit) {
    this.vmStart = init.start;
    this.vmEnd = init.end;
    this.vmFlags = init.flags;
    this.vmFile = init.file ?? null;
    this.name = init.name ?? "";
    this.anonName = init.anonName ?? null;
    this.vmPgoff = init.pgoff ?? init.start >> 12n;
    this.pgoffSource = init.pgoffSource ?? (this.vmFile ? "file" : "anon-inferred");
    this.anonVma = init.anonVma ?? null;
  }

  get detached(): boolean {
    return this.vmRefcnt === 0;
  }

  /** `vma_is_anonymous`. */
  get vmOps(): VmOpsKind {
    if (this.vmFile) return "file";
    return this.name !== "" &&
      !this.name.startsWith("[anon:") &&
      this.name !== "[heap]" &&
      this.name !== "[stack]"
      ? "special"
      : "anonymous";
  }

  get perms(): string {
    return permsOf(this.vmFlags);
  }

  /** The path or pseudo-name `/proc/PID/maps` prints. */
  get path(): string {
    if (this.vmFile) return this.vmFile.path;
    if (this.name) return this.name;
    return this.anonName ? `[anon:${this.anonName}]` : "";
  }

  /** One `/proc/PID/maps` line. */
  toMapsLine(): string {
    const hex = (v: bigint, w: number) => v.toString(16).padStart(w, "0");
    const offset = this.vmFile ? this.vmPgoff << 12n : 0n;
    const dev = this.vmFile
      ? `${this.vmFile.major.toString(16).padStart(2, "0")}:${this.vmFile.minor.toString(16).padStart(2, "0")}`
      : "00:00";
    const head = `${hex(this.vmStart, 8)}-${hex(this.vmEnd, 8)} ${this.perms} ${hex(offset, 8)} ${dev} ${this.vmFile?.ino ?? 0n} `;
    const path = this.path;
    return path ? `${head.padEnd(73, " ")}${path}` : head;
  }

  /**
   * Writes the fields a BPF program reads (vm_start, vm_end, vm_flags, vm_pgoff, lock state and
   * the given pointers) at `base` with a target kernel's layout.
   */
  writeTo(
    view: DataView,
    base: number,
    layout: StructLayout = VM_AREA_STRUCT_LAYOUT["6.18"],
    pointers: { mm?: bigint; file?: bigint; ops?: bigint; anonVma?: bigint } = {},
  ): void {
    writeField(view, base, layout, "vm_start", this.vmStart);
    writeField(view, base, layout, "vm_end", this.vmEnd);
    writeField(view, base, layout, "vm_flags", this.vmFlags);
    writeField(view, base, layout, "vm_pgoff", this.vmPgoff);
    writeField(view, base, layout, "vm_lock_seq", BigInt(this.vmLockSeq));
    writeField(view, base, layout, "vm_refcnt", BigInt(this.vmRefcnt));
    writeField(view, base, layout, "detached", this.detached ? 1n : 0n);
    writeField(view, base, layout, "vm_mm", pointers.mm ?? 0n);
    writeField(view, base, layout, "vm_file", pointers.file ?? 0n);
    writeField(view, base, layout, "vm_ops", pointers.ops ?? 0n);
    writeField(view, base, layout, "anon_vma", pointers.anonVma ?? 0n);
  }
}
