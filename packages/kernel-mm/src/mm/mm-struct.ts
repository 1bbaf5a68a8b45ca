import { Errno, KernelMmError } from "../errors.js";
import { MAX, MM_MT_FLAGS, XA_ZERO_ENTRY } from "../maple/constants.js";
import { emptyAreaRev } from "../maple/gap.js";
import { MaState } from "../maple/state.js";
import { MapleTree } from "../maple/tree.js";
import { RwSemaphore, type RwsemWaiter } from "./rwsem.js";
import { VmArea, type VmFile } from "./vma.js";
import { VmaIterator } from "./vma-iterator.js";

/** `VMA_LOCK_OFFSET`: added to `vm_refcnt` by a writer waiting for readers (6.18). */
export const VMA_LOCK_OFFSET = 0x40000000;
/** `VMA_REF_LIMIT`: readers may not push `vm_refcnt` past this (a writer's offset is present). */
export const VMA_REF_LIMIT = 0x3fffffff;
/** Default `mmap_min_addr` (64 KiB): the lowest address `mmap` hands out. */
export const MMAP_MIN_ADDR = 0x10000n;
/** Top of the top-down mmap area used when no base is given (below a 4-level stack). */
export const DEFAULT_MMAP_BASE = 0x7f0000000000n;

/** Arguments of `MmStruct.mmap`. */
export interface MmapRequest {
  length: bigint;
  flags: bigint;
  /** MAP_FIXED address; otherwise the highest free window below `mmapBase` is used. */
  addr?: bigint;
  file?: VmFile | null;
  pgoff?: bigint;
  name?: string;
}

/** `vm.max_map_count` default. */
export const DEFAULT_MAX_MAP_COUNT = 65530;

/** Why `vma_start_read` refused (spec 4.3). */
export type VmaReadFailure = "write-locked" | "detached" | "writer-waiting" | "other-mm" | "seq-changed";

/** Outcome of `lock_vma_under_rcu`: the locked VMA, or why the fault must fall back to mmap_lock. */
export interface LockVmaResult {
  vma: VmArea | null;
  outcome: "locked" | "no-vma" | "abort" | "range-changed";
  /** Walks retried because the VMA was detached under the reader (VMA_LOCK_MISS). */
  misses: number;
  failure?: VmaReadFailure;
}

/**
 * `struct mm_struct`: the VMA tree (`mm_mt`, MM_MT_FLAGS), `map_count`, the two reference counts,
 * `mmap_lock` with `mm_lock_seq`, and the per-VMA lock protocol of 6.18 (`vm_refcnt`). Every
 * state change is an explicit call, so contention and writers can be simulated step by step.
 */
export class MmStruct {
  readonly mmMt = new MapleTree(MM_MT_FLAGS);
  mapCount = 0;
  mmUsers = 1;
  mmCount = 1;
  readonly mmapLock = new RwSemaphore();
  /** Seqcount: odd while the mmap lock is held for write. */
  mmLockSeq = 0;
  startBrk = 0n;
  brk = 0n;
  startStack = 0n;
  maxMapCount = DEFAULT_MAX_MAP_COUNT;
  mmapBase = DEFAULT_MMAP_BASE;
  /** Set once `mmput` dropped the last user and `exit_mmap` ran. */
  exited = false;
  /** Freed once `mm_count` dropped to zero. */
  freed = false;
  readonly stats = { vmaLockSuccess: 0, vmaLockMiss: 0, vmaLockAbort: 0 };
  /** Reused by the lookups below so that a lookup allocates nothing (JS runs one at a time). */
  private readonly lookup = new MaState(this.mmMt, 0n);

  // ---- references (spec 4.1) ----

  /** `mmget`. */
  mmget(): void {
    this.mmUsers++;
  }

  /** `mmget_not_zero`: fails once teardown started. */
  mmgetNotZero(): boolean {
    if (this.mmUsers === 0) return false;
    this.mmUsers++;
    return true;
  }

  /** `mmput`: on the last user tears the address space down, then drops the users' `mm_count`. */
  mmput(): void {
    if (this.mmUsers <= 0) throw new KernelMmError("mmput on an mm without users", Errno.EINVAL, "mmput");
    if (--this.mmUsers === 0) {
      this.exitMmap();
      this.mmdrop();
    }
  }

  /** `mmgrab`. */
  mmgrab(): void {
    this.mmCount++;
  }

  /** `mmdrop`. */
  mmdrop(): void {
    if (--this.mmCount === 0) this.freed = true;
  }

  /** `exit_mmap`: leaves RCU mode, removes every VMA (stopping at XA_ZERO_ENTRY), destroys the tree. */
  exitMmap(): void {
    this.mmMt.setRcu(false);
    const mas = new MaState(this.mmMt, 0n);
    let count = 0;
    for (let e = mas.find(MAX); e !== null; e = mas.find(MAX)) {
      if (e === XA_ZERO_ENTRY) break;
      const vma = e as VmArea;
      vma.vmRefcnt = 0;
      count++;
    }
    if (count !== this.mapCount && !this.hasZeroEntry()) {
      throw new KernelMmError(
        `exit_mmap: ${count} VMAs but map_count ${this.mapCount}`,
        Errno.EINVAL,
        "exit_mmap",
      );
    }
    this.mmMt.destroy();
    this.mapCount = 0;
    this.exited = true;
  }

  private hasZeroEntry(): boolean {
    const mas = new MaState(this.mmMt, 0n);
    for (let e = mas.find(MAX); e !== null; e = mas.find(MAX)) if (e === XA_ZERO_ENTRY) return true;
    return false;
  }

  // ---- mmap_lock (spec 4.2) ----

  mmapReadTrylock(): boolean {
    return this.mmapLock.readTrylock();
  }

  mmapReadLock(owner = "reader"): RwsemWaiter {
    return this.mmapLock.readLock(owner);
  }

  mmapReadUnlock(): void {
    this.mmapLock.readUnlock();
  }

  /** `mmap_write_lock`: when granted at once the write section begins; else call `beginWriteSection` when `granted`. */
  mmapWriteLock(owner = "writer"): RwsemWaiter {
    const w = this.mmapLock.writeLock(owner);
    if (w.granted) this.beginWriteSection();
    return w;
  }

  /** The rwsem write trylock (6.12 has no mmap_write_trylock; the model offers it for simulations). */
  mmapWriteTrylock(owner = "writer"): boolean {
    if (!this.mmapLock.writeTrylock(owner)) return false;
    this.beginWriteSection();
    return true;
  }

  /** `mm_lock_seqcount_begin`: a queued writer that got the lock starts its write section. */
  beginWriteSection(): void {
    this.mmLockSeq = (this.mmLockSeq + 1) >>> 0;
  }

  /** `mmap_write_unlock`: ends the write section, releasing every VMA write lock at once. */
  mmapWriteUnlock(): void {
    this.mmLockSeq = (this.mmLockSeq + 1) >>> 0;
    this.mmapLock.writeUnlock();
    this.afterWake();
  }

  /** `mmap_write_downgrade`. */
  mmapWriteDowngrade(): void {
    this.mmLockSeq = (this.mmLockSeq + 1) >>> 0;
    this.mmapLock.downgrade();
  }

  private afterWake(): void {
    if (this.mmapLock.writeLocked) this.beginWriteSection();
  }

  /** Unlock a reader and start the write section of a writer the unlock woke. */
  mmapReadUnlockAndWake(): void {
    const before = this.mmapLock.writeLocked;
    this.mmapLock.readUnlock();
    if (!before) this.afterWake();
  }

  get mmapWriteLocked(): boolean {
    return (this.mmLockSeq & 1) === 1;
  }

  // ---- VMAs in the tree ----

  /** Adds a VMA (the caller holds the write lock in the kernel); −EEXIST on overlap, −ENOMEM past max_map_count. */
  insertVma(vma: VmArea): void {
    if (vma.vmStart >= vma.vmEnd) {
      throw new KernelMmError(
        `VMA [0x${vma.vmStart.toString(16)}, 0x${vma.vmEnd.toString(16)}) is empty`,
        Errno.EINVAL,
        "insert_vma",
      );
    }
    if (this.mapCount >= this.maxMapCount + 1) {
      throw new KernelMmError("map_count above vm.max_map_count", Errno.ENOMEM, "insert_vma");
    }
    // Outside a write section the insert gets one of its own, so the VMA ends up the way an idle
    // process shows it: vm_lock_seq odd and below mm_lock_seq.
    const implicit = !this.mmapWriteLocked;
    if (implicit) this.beginWriteSection();
    this.mmMt.insert(vma.vmStart, vma.vmEnd - 1n, vma);
    vma.vmMm = this;
    vma.vmRefcnt = 1;
    vma.vmLockSeq = this.mmLockSeq;
    this.mapCount++;
    if (implicit) this.mmLockSeq = (this.mmLockSeq + 1) >>> 0;
  }

  /** Removes a VMA: the range becomes a gap and the VMA is detached (`vm_refcnt` 0). */
  removeVma(vma: VmArea): void {
    if (this.mmMt.load(vma.vmStart) !== vma) {
      throw new KernelMmError(
        `VMA at 0x${vma.vmStart.toString(16)} is not in this mm`,
        Errno.ENOENT,
        "remove_vma",
      );
    }
    this.mmMt.store(vma.vmStart, vma.vmEnd - 1n, null);
    vma.vmRefcnt = 0;
    this.mapCount--;
  }

  /**
   * `mmap`: places a new VMA (top-down below `mmapBase` unless `addr` is given, MAP_FIXED-style
   * replacing what is there) inside one mmap write section. Anonymous VMAs get `pgoff = start >> 12`.
   */
  mmap(req: MmapRequest): VmArea {
    const pages = (req.length + 0xfffn) >> 12n;
    if (pages === 0n) throw new KernelMmError("mmap of length 0", Errno.EINVAL, "mmap");
    return this.inWriteSection(() => {
      let start: bigint;
      if (req.addr !== undefined) {
        start = req.addr;
        this.unmapRange(start, start + (pages << 12n));
      } else {
        const w = emptyAreaRev(this.mmMt, MMAP_MIN_ADDR, this.mmapBase - 1n, pages << 12n);
        start = w.index;
      }
      const vma = new VmArea({
        start,
        end: start + (pages << 12n),
        flags: req.flags,
        file: req.file ?? null,
        pgoff: req.file ? (req.pgoff ?? 0n) : start >> 12n,
        name: req.name ?? "",
      });
      this.insertVma(vma);
      return vma;
    });
  }

  /** `munmap`: removes `[start, start + length)`, splitting VMAs that straddle either end. */
  munmap(start: bigint, length: bigint): number {
    const end = start + ((length + 0xfffn) & ~0xfffn);
    return this.inWriteSection(() => this.unmapRange(start, end));
  }

  private inWriteSection<T>(fn: () => T): T {
    if (this.mmapWriteLocked) return fn();
    if (!this.mmapWriteTrylock("mmap")) {
      throw new KernelMmError("mmap_lock is held: the writer would sleep", Errno.EAGAIN, "mmap_write_lock");
    }
    try {
      return fn();
    } finally {
      this.mmapWriteUnlock();
    }
  }

  /** Unmaps `[start, end)` under the write lock; returns how many VMAs were removed or split. */
  private unmapRange(start: bigint, end: bigint): number {
    const hit: VmArea[] = [];
    const it = this.iterator(start);
    for (let v = it.find(end); v !== null; v = it.find(end)) hit.push(v);
    if (hit.length === 0) return 0;
    // vma_start_write would sleep until these VMAs' readers leave: a step-by-step simulation
    // cannot sleep, so it reports the contention instead of changing anything.
    const busy = hit.find((v) => (v.vmRefcnt & VMA_REF_LIMIT) > 1);
    if (busy) {
      throw new KernelMmError(
        `VMA at 0x${busy.vmStart.toString(16)} has per-VMA readers: the writer would wait`,
        Errno.EAGAIN,
        "vma_start_write",
      );
    }
    for (const v of hit) this.vmaStartWrite(v);
    this.mmMt.store(start, end - 1n, null);
    for (const v of hit) {
      const keepLeft = v.vmStart < start;
      const keepRight = v.vmEnd > end;
      if (keepLeft && keepRight) {
        // __split_vma: the original keeps the head, a new VMA takes the tail with its pgoff.
        const tail = this.splitOff(v, end);
        v.vmEnd = start;
        this.mmMt.store(tail.vmStart, tail.vmEnd - 1n, tail);
        tail.vmMm = this;
        tail.vmRefcnt = 1;
        tail.vmLockSeq = this.mmLockSeq;
        this.mapCount++;
      } else if (keepLeft) {
        v.vmEnd = start;
      } else if (keepRight) {
        v.vmPgoff += (end - v.vmStart) >> 12n;
        v.vmStart = end;
      } else {
        v.vmRefcnt = 0;
        this.mapCount--;
      }
    }
    return hit.length;
  }

  private splitOff(v: VmArea, at: bigint): VmArea {
    return new VmArea({
      start: at,
      end: v.vmEnd,
      flags: v.vmFlags,
      pgoff: v.vmPgoff + ((at - v.vmStart) >> 12n),
      file: v.vmFile,
      name: v.name,
      anonName: v.anonName,
      pgoffSource: v.pgoffSource,
      anonVma: v.anonVma,
    });
  }

  /** `find_vma`: the first VMA with `vm_end > addr`. */
  findVma(addr: bigint): VmArea | null {
    const mas = this.lookup;
    mas.set(addr);
    const e = mas.find(MAX);
    return e === XA_ZERO_ENTRY ? null : (e as VmArea | null);
  }

  /** `vma_lookup`: the VMA containing `addr`. */
  vmaLookup(addr: bigint): VmArea | null {
    return this.mmMt.load(addr) as VmArea | null;
  }

  /** `find_vma_intersection`: the first VMA with `vm_start < end` and `vm_end > start`. */
  findVmaIntersection(start: bigint, end: bigint): VmArea | null {
    const mas = this.lookup;
    mas.set(start);
    const e = mas.find(end - 1n);
    return e === XA_ZERO_ENTRY ? null : (e as VmArea | null);
  }

  /** `find_vma_prev`: the VMA at or after `addr` and the one before it. */
  findVmaPrev(addr: bigint): { vma: VmArea | null; prev: VmArea | null } {
    const it = new VmaIterator(this.mmMt, addr);
    let vma = it.load();
    const prev = it.prev();
    if (!vma) {
      it.set(addr);
      vma = it.next();
    }
    return { vma, prev };
  }

  /** `VMA_ITERATOR(vmi, mm, addr)`. */
  iterator(addr = 0n): VmaIterator {
    return new VmaIterator(this.mmMt, addr);
  }

  /** All VMAs in address order. */
  vmas(): VmArea[] {
    return [...this.iterator(0n)];
  }

  // ---- per-VMA locks (spec 4.3, 6.18 protocol) ----

  /** `vma_start_write`: true when locked now, false when waiting for readers (completes on their exit). */
  vmaStartWrite(vma: VmArea): boolean {
    if (!this.mmapWriteLocked)
      throw new KernelMmError("vma_start_write without the mmap write lock", Errno.EINVAL, "vma_start_write");
    if (vma.vmLockSeq === this.mmLockSeq) return true;
    if (vma.vmRefcnt === 0) {
      vma.vmLockSeq = this.mmLockSeq;
      return true;
    }
    if (vma.vmRefcnt >= VMA_LOCK_OFFSET) return false;
    vma.vmRefcnt += VMA_LOCK_OFFSET;
    return this.tryFinishWrite(vma);
  }

  private tryFinishWrite(vma: VmArea): boolean {
    if (vma.vmRefcnt !== VMA_LOCK_OFFSET + 1) return false;
    vma.vmLockSeq = this.mmLockSeq;
    vma.vmRefcnt -= VMA_LOCK_OFFSET;
    return true;
  }

  /** True when the VMA is write-locked in the current write section. */
  vmaIsWriteLocked(vma: VmArea): boolean {
    return vma.vmLockSeq === this.mmLockSeq;
  }

  /** `vma_start_read` under RCU: null on success, else why the caller must fall back. */
  vmaStartRead(vma: VmArea): VmaReadFailure | null {
    if (vma.vmLockSeq === this.mmLockSeq) return "write-locked";
    if (vma.vmRefcnt === 0) return "detached";
    if (vma.vmRefcnt + 1 > VMA_REF_LIMIT) return "writer-waiting";
    vma.vmRefcnt++;
    if (vma.vmMm !== this) {
      vma.vmRefcnt--;
      return "other-mm";
    }
    if (vma.vmLockSeq === this.mmLockSeq) {
      vma.vmRefcnt--;
      return "seq-changed";
    }
    return null;
  }

  /** `vma_end_read`: a waiting writer finishes once only its offset remains. */
  vmaEndRead(vma: VmArea): void {
    if ((vma.vmRefcnt & VMA_REF_LIMIT) <= 1)
      throw new KernelMmError("vma_end_read without a reader", Errno.EINVAL, "vma_end_read");
    vma.vmRefcnt--;
    if (vma.vmRefcnt >= VMA_LOCK_OFFSET) this.tryFinishWrite(vma);
  }

  /** `lock_vma_under_rcu`: RCU walk, per-VMA read lock, range re-check (spec 4.3). */
  lockVmaUnderRcu(addr: bigint, maxRetries = 8): LockVmaResult {
    let misses = 0;
    for (;;) {
      const vma = this.mmMt.load(addr) as VmArea | null;
      if (!vma) return { vma: null, outcome: "no-vma", misses };
      const failure = this.vmaStartRead(vma);
      if (failure === "detached" && misses < maxRetries) {
        misses++;
        this.stats.vmaLockMiss++;
        continue;
      }
      if (failure) {
        this.stats.vmaLockAbort++;
        return { vma: null, outcome: "abort", misses, failure };
      }
      if (!(vma.vmStart <= addr && addr < vma.vmEnd)) {
        this.vmaEndRead(vma);
        this.stats.vmaLockAbort++;
        return { vma: null, outcome: "range-changed", misses };
      }
      this.stats.vmaLockSuccess++;
      return { vma, outcome: "locked", misses };
    }
  }
}
