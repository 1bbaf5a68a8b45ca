import { describe, expect, it } from "vitest";
import { MmStruct, RwSemaphore, VMA_LOCK_OFFSET, VmArea, validateTree } from "../src/index.js";

describe("mmap_lock (rw_semaphore model, spec 4.2)", () => {
  it("count word: 0x100 per reader, bit 0 for the writer, waiters flag", () => {
    const sem = new RwSemaphore();
    expect(sem.count).toBe(0n);
    expect(sem.readTrylock()).toBe(true);
    expect(sem.count).toBe(0x100n);
    const w = sem.writeLock("writer");
    expect(w.granted).toBe(false);
    expect(sem.count).toBe(0x102n);
    // A waiting writer makes reader trylocks fail even though only readers hold the lock.
    expect(sem.readTrylock()).toBe(false);
    const r = sem.readLock("late reader");
    expect(r.granted).toBe(false);
    sem.readUnlock();
    expect(w.granted).toBe(true);
    expect(sem.count & 1n).toBe(1n);
    sem.writeUnlock();
    expect(r.granted).toBe(true);
    expect(sem.count).toBe(0x100n);
    expect(sem.writeTrylock("w2")).toBe(false);
    sem.readUnlock();
    expect(sem.writeTrylock("w2")).toBe(true);
    sem.downgrade();
    expect(sem.count).toBe(0x100n);
  });

  it("mm_lock_seq is odd exactly while the mmap lock is held for write", () => {
    const mm = new MmStruct();
    expect(mm.mmLockSeq).toBe(0);
    expect(mm.mmapWriteTrylock()).toBe(true);
    expect(mm.mmLockSeq).toBe(1);
    expect(mm.mmapReadTrylock()).toBe(false);
    mm.mmapWriteUnlock();
    expect(mm.mmLockSeq).toBe(2);
    expect(mm.mmapReadTrylock()).toBe(true);
    expect(mm.mmapLock.count).toBe(0x100n);
    mm.mmapReadUnlock();
  });
});

describe("per-VMA locks and lock_vma_under_rcu (spec 4.3, 6.18 protocol)", () => {
  function setup() {
    const mm = new MmStruct();
    const vma = new VmArea({ start: 0x10000n, end: 0x20000n, flags: 0x73n });
    mm.insertVma(vma);
    return { mm, vma };
  }

  it("an idle VMA is attached with vm_refcnt 1 and an odd vm_lock_seq below mm_lock_seq", () => {
    const { mm, vma } = setup();
    expect(vma.vmRefcnt).toBe(1);
    expect(vma.vmLockSeq % 2).toBe(1);
    expect(vma.vmLockSeq).toBeLessThan(mm.mmLockSeq);
    expect(mm.mmLockSeq % 2).toBe(0);
  });

  it("readers lock and unlock; a write-locked VMA makes readers fall back until mmap_write_unlock", () => {
    const { mm, vma } = setup();
    const r = mm.lockVmaUnderRcu(0x10800n);
    expect(r.outcome).toBe("locked");
    expect(vma.vmRefcnt).toBe(2);
    mm.vmaEndRead(vma);
    mm.mmapWriteTrylock();
    expect(mm.vmaStartWrite(vma)).toBe(true);
    expect(mm.vmaIsWriteLocked(vma)).toBe(true);
    expect(mm.lockVmaUnderRcu(0x10800n)).toMatchObject({ outcome: "abort", failure: "write-locked" });
    mm.mmapWriteUnlock();
    expect(mm.vmaIsWriteLocked(vma)).toBe(false);
    expect(mm.lockVmaUnderRcu(0x10800n).outcome).toBe("locked");
  });

  it("a writer waits for readers with VMA_LOCK_OFFSET added; new readers fail meanwhile", () => {
    const { mm, vma } = setup();
    expect(mm.lockVmaUnderRcu(0x10000n).outcome).toBe("locked");
    mm.mmapWriteTrylock();
    expect(mm.vmaStartWrite(vma)).toBe(false);
    expect(vma.vmRefcnt).toBe(VMA_LOCK_OFFSET + 2);
    expect(mm.vmaStartRead(vma)).toBe("writer-waiting");
    mm.vmaEndRead(vma);
    expect(vma.vmRefcnt).toBe(1);
    expect(mm.vmaIsWriteLocked(vma)).toBe(true);
    mm.mmapWriteUnlock();
  });

  it("detached VMAs are retried (VMA_LOCK_MISS), other mms and gaps are refused", () => {
    const { mm, vma } = setup();
    expect(mm.lockVmaUnderRcu(0x30000n).outcome).toBe("no-vma");
    const other = new MmStruct();
    const foreign = new VmArea({ start: 0x50000n, end: 0x60000n, flags: 0x73n });
    other.insertVma(foreign);
    expect(mm.vmaStartRead(foreign)).toBe("other-mm");
    mm.removeVma(vma);
    expect(vma.detached).toBe(true);
    expect(mm.vmaStartRead(vma)).toBe("detached");
    expect(mm.mapCount).toBe(0);
  });
});

describe("mm references (spec 4.1)", () => {
  it("mmget/mmput, mmgrab/mmdrop; the last mmput runs exit_mmap", () => {
    const mm = new MmStruct();
    mm.insertVma(new VmArea({ start: 0x1000n, end: 0x2000n, flags: 0x73n }));
    mm.mmget();
    expect(mm.mmUsers).toBe(2);
    mm.mmgrab();
    mm.mmput();
    expect(mm.exited).toBe(false);
    mm.mmput();
    expect(mm.exited).toBe(true);
    expect(mm.mapCount).toBe(0);
    expect(mm.mmgetNotZero()).toBe(false);
    expect(mm.freed).toBe(false);
    mm.mmdrop();
    expect(mm.freed).toBe(true);
  });
});

describe("mmap / munmap writers (spec 3 regimes, 7.10)", () => {
  it("munmap splits straddling VMAs with the kernel's pgoff rule and keeps map_count", () => {
    const mm = new MmStruct();
    const a = mm.mmap({ length: 0x10000n, flags: 0x100073n });
    expect(a.vmPgoff).toBe(a.vmStart >> 12n);
    expect(mm.mapCount).toBe(1);
    const seq = mm.mmLockSeq;
    mm.munmap(a.vmStart + 0x4000n, 0x2000n);
    expect(mm.mmLockSeq).toBe(seq + 2);
    const [head, tail] = mm.vmas();
    expect(mm.mapCount).toBe(2);
    expect(head).toBe(a);
    expect([head?.vmStart, head?.vmEnd]).toEqual([a.vmStart, a.vmStart + 0x4000n]);
    expect(tail?.vmStart).toBe(a.vmStart + 0x6000n);
    expect(tail?.vmPgoff).toBe((a.vmStart >> 12n) + 6n);
    expect(tail?.vmLockSeq).toBeLessThan(mm.mmLockSeq);
    mm.munmap(a.vmStart, 0x10000n);
    expect(mm.mapCount).toBe(0);
    expect(head?.detached).toBe(true);
    expect(mm.mmMt.empty || mm.vmas().length === 0).toBe(true);
  });

  it("a writer that would wait for per-VMA readers reports EAGAIN and changes nothing", () => {
    const mm = new MmStruct();
    const a = mm.mmap({ length: 0x4000n, flags: 0x73n });
    expect(mm.lockVmaUnderRcu(a.vmStart).outcome).toBe("locked");
    expect(() => mm.munmap(a.vmStart, 0x1000n)).toThrow(/would wait/);
    expect(mm.vmas()).toEqual([a]);
    mm.vmaEndRead(a);
    const [start, pgoff] = [a.vmStart, a.vmPgoff];
    mm.munmap(a.vmStart, 0x1000n);
    // Unmapping the head moves vm_start up and vm_pgoff with it.
    expect([a.vmStart, a.vmPgoff]).toEqual([start + 0x1000n, pgoff + 1n]);
  });

  it("an RCU iterator interleaved with an mmap/munmap loop never returns overlapping or decreasing VMAs", () => {
    const mm = new MmStruct();
    for (let i = 0; i < 300; i++) mm.mmap({ length: BigInt(0x1000 * (1 + (i % 5))), flags: 0x100073n });
    const it = mm.iterator(0n);
    let prevEnd = 0n;
    let seen = 0;
    let step = 0;
    for (let v = it.next(); v !== null; v = it.next()) {
      expect(v.vmStart >= prevEnd).toBe(true);
      prevEnd = v.vmEnd;
      seen++;
      const victim = mm.vmas()[(step * 13) % mm.mapCount];
      if (victim && victim !== v) mm.munmap(victim.vmStart, 0x1000n);
      mm.mmap({ length: 0x3000n, flags: 0x100073n });
      step++;
    }
    expect(seen).toBeGreaterThan(100);
    expect(mm.vmas().length).toBe(mm.mapCount);
    expect(validateTree(mm.mmMt)).toEqual([]);
  });
});
