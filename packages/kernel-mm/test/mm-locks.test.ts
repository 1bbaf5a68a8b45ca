import { describe, expect, it } from "vitest";
import { MmStruct, RwSemaphore, VMA_LOCK_OFFSET, VmArea } from "../src/index.js";

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
