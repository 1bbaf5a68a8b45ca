import type { MmStruct } from "@bpfkit/kernel-mm";
import type { Runtime, Task } from "@bpfkit/runtime";
import type { Region } from "@bpfkit/vm";
import type { FileObject } from "../objects.js";
import { PF_KTHREAD, type TaskVmaSystem } from "../system.js";
import { begin, fail, type TaskVmaDesign } from "./design.js";

const PAGE_SIZE = 4096n;

interface SnapshotState {
  id: number;
  kd: Region;
  task: Task;
  mm: MmStruct;
  nextAddr: bigint;
  file: FileObject | null;
}

/**
 * Design B (the 2026 series, running 6.18.44): no mmap lock. `_new` pins the task and the mm's
 * users; each `_next` finds the first VMA at or above `next_addr` under RCU, read-locks it with
 * its per-VMA lock (skipping VMAs being modified), copies it into the kern_data snapshot, pins its
 * file, and returns the snapshot's address, the same for every call of one iterator.
 */
export class SnapshotDesign implements TaskVmaDesign {
  readonly name = "snapshot" as const;
  readonly iterSize = 8;
  readonly kernDataSize: number;
  readonly #states = new Map<bigint, SnapshotState>();

  constructor(readonly system: TaskVmaSystem) {
    this.kernDataSize = system.layout.snapshotKernData.size;
  }

  get live(): number {
    return this.#states.size;
  }

  iterNew(rt: Runtime, it: bigint, taskAddr: bigint, addr: bigint): number {
    const sys = this.system;
    const cpu = rt.cpu;
    rt.memory.store(it, 8, 0n);
    const { objects, task } = begin(sys, rt, taskAddr, this.name);
    if (!sys.perVmaLocks) return fail(sys, "EOPNOTSUPP");
    // Refused before allocating: the per-VMA lock and the async mmput need interrupts on.
    if (sys.context(cpu).irqsDisabled) return fail(sys, "EBUSY");
    const id = sys.allocator.alloc(cpu, this.kernDataSize);
    if (id === null) return fail(sys, "ENOMEM");
    sys.taskGet(task);
    const undo = (): void => {
      sys.taskPut(task);
      sys.allocator.free(cpu, id);
    };
    // task_lock with a trylock: a softirq program must not spin on the task it interrupted.
    if (sys.busyAllocLocks.has(task.pid)) {
      undo();
      return fail(sys, "EBUSY");
    }
    const mm = sys.mmOf(objects, task, rt.tasks.layout.mm);
    if (!mm || ((task.info.flags ?? 0) & PF_KTHREAD) !== 0) {
      undo();
      return fail(sys, "ENOENT");
    }
    mm.mmget();
    const kd = sys.kernData(objects, id, this.kernDataSize);
    const L = sys.layout;
    const v = kd.view;
    v.setBigUint64(0, task.address, true);
    v.setBigUint64(8, objects.mmAddress(mm), true);
    v.setBigUint64(L.snapshotKernData.snapshot + L.vma.vm_file, 0n, true);
    v.setBigUint64(L.snapshotKernData.next_addr, addr, true);
    this.#states.set(kd.base, { id, kd, task, mm, nextAddr: addr, file: null });
    rt.memory.store(it, 8, kd.base);
    return 0;
  }

  #state(rt: Runtime, it: bigint): SnapshotState | undefined {
    const key = rt.memory.load(it, 8);
    return key === 0n ? undefined : this.#states.get(key);
  }

  iterNext(rt: Runtime, it: bigint): bigint {
    const s = this.#state(rt, it);
    if (!s) return 0n;
    const sys = this.system;
    const L = sys.layout;
    const snap = L.snapshotKernData.snapshot;
    const t0 = sys.measure ? sys.now() : 0;
    // The previous snapshot's file is dropped even when this call ends up returning NULL.
    if (s.file) {
      s.file.refs--;
      s.file = null;
    }
    s.kd.view.setBigUint64(snap + L.vma.vm_file, 0n, true);
    const mm = s.mm;
    for (;;) {
      const found = mm.findVma(s.nextAddr);
      if (!found) {
        s.kd.view.setBigUint64(L.snapshotKernData.next_addr, s.nextAddr, true);
        return 0n;
      }
      const start = found.vmStart;
      const end = found.vmEnd;
      const lockedAt = sys.measure ? sys.now() : 0;
      const res = mm.lockVmaUnderRcu(start);
      const vma = res.vma;
      if (res.outcome !== "locked" || !vma) {
        // Being modified (or gone): skip it rather than wait.
        sys.stats.skipped++;
        s.nextAddr = end > s.nextAddr ? end : s.nextAddr + PAGE_SIZE;
        continue;
      }
      if (vma.vmEnd <= s.nextAddr) {
        mm.vmaEndRead(vma);
        s.nextAddr += PAGE_SIZE;
        continue;
      }
      const objects = sys.bind(rt);
      const region = objects.vmaRegion(vma);
      s.kd.bytes.set(region.bytes.subarray(0, L.vma.size), snap);
      const file = objects.fileOf(vma);
      if (file) {
        file.refs++;
        s.file = file;
      }
      s.nextAddr = vma.vmEnd;
      mm.vmaEndRead(vma);
      s.kd.view.setBigUint64(L.snapshotKernData.next_addr, s.nextAddr, true);
      sys.stats.vmasReturned++;
      if (sys.measure) {
        const t = sys.now();
        sys.stats.lockHoldNs += t - lockedAt;
        sys.stats.nextNs += t - t0;
      }
      return s.kd.base + BigInt(snap);
    }
  }

  iterDestroy(rt: Runtime, it: bigint): void {
    const s = this.#state(rt, it);
    if (!s) return;
    const sys = this.system;
    if (s.file) s.file.refs--;
    sys.taskPut(s.task);
    s.mm.mmput();
    sys.allocator.free(rt.cpu, s.id);
    this.#states.delete(s.kd.base);
  }
}
