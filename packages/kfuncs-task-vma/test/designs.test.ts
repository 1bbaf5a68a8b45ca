import { MmStruct, VmArea } from "@bpfkit/kernel-mm";
import { BpfMemAlloc, ManualHost } from "@bpfkit/mem-alloc";
import { createRuntime, defaultKfuncs, type Runtime } from "@bpfkit/runtime";
import { describe, expect, it } from "vitest";
import {
  createTaskVma,
  type DesignName,
  LAYOUT_6_18,
  PF_KTHREAD,
  registerTaskVma,
  type TaskVmaDesign,
  TaskVmaError,
  TaskVmaSystem,
} from "../src/index.js";

const L = LAYOUT_6_18;
const PID = 100;
const KTHREAD = 2;
const BORROWER = 3;

/** A 6-VMA address space: a file mapping, heap, gaps, anonymous memory, stack. */
function makeMm(): MmStruct {
  const mm = new MmStruct();
  const file = { path: "/usr/bin/demo", major: 0xfe, minor: 0, ino: 1234n };
  const add = (
    start: number,
    end: number,
    flags: bigint,
    extra: Partial<ConstructorParameters<typeof VmArea>[0]> = {},
  ) => mm.insertVma(new VmArea({ start: BigInt(start), end: BigInt(end), flags, ...extra }));
  add(0x400000, 0x401000, 0x75n, { file, pgoff: 0n });
  add(0x401000, 0x403000, 0x873n, { file, pgoff: 1n });
  add(0x500000, 0x521000, 0x100073n, { name: "[heap]" });
  add(0x7f0000000000, 0x7f0000004000, 0x100073n);
  add(0x7f0000010000, 0x7f0000011000, 0x100073n);
  add(0x7ffffffde000, 0x7ffffffff000, 0x100173n, { name: "[stack]" });
  mm.startBrk = 0x500000n;
  mm.startStack = 0x7fffffffe000n;
  return mm;
}

interface Setup {
  rt: Runtime;
  design: TaskVmaDesign;
  system: TaskVmaSystem;
  mm: MmStruct;
  it: bigint;
  it2: bigint;
  task: bigint;
}

function setup(name: DesignName, options: { allocator?: BpfMemAlloc; perVmaLocks?: boolean } = {}): Setup {
  const mm = makeMm();
  const system = new TaskVmaSystem({
    mmOf: (t) => (t.info.tgid === PID || t.pid === BORROWER ? mm : undefined),
    allocator: options.allocator,
    perVmaLocks: options.perVmaLocks,
  });
  // 6.18's vma_iterator is 88 bytes: the on-stack design needs 112 to hold its state.
  const design = createTaskVma({ design: name, system, stackBytes: 112 });
  const rt = createRuntime({
    snapshot: {
      tasks: [
        { pid: PID, tgid: PID, comm: "demo" },
        { pid: KTHREAD, tgid: KTHREAD, comm: "kthreadd", hasMm: false, flags: PF_KTHREAD },
        { pid: BORROWER, tgid: BORROWER, comm: "kworker/u8:0", flags: PF_KTHREAD },
      ],
    },
    kfuncs: registerTaskVma(defaultKfuncs(), design),
  });
  const stack = rt.memory.map(512, { name: "stack", kind: "stack" });
  const task = rt.tasks.get(PID)?.address as bigint;
  return { rt, design, system, mm, it: stack.base, it2: stack.base + 256n, task };
}

function walk(s: Setup, addr = 0n, it = s.it): { err: number; starts: bigint[]; ptrs: bigint[] } {
  const err = s.design.iterNew(s.rt, it, s.task, addr);
  const starts: bigint[] = [];
  const ptrs: bigint[] = [];
  for (let p = s.design.iterNext(s.rt, it); p !== 0n; p = s.design.iterNext(s.rt, it)) {
    ptrs.push(p);
    starts.push(s.rt.memory.load(p + BigInt(L.vma.vm_start), 8));
  }
  s.design.iterDestroy(s.rt, it);
  return { err, starts, ptrs };
}

const ALL = makeMm()
  .vmas()
  .map((v) => v.vmStart);

describe.each(["original", "snapshot", "stack"] as const)("design %s: shared behaviour", (name) => {
  it("walks every VMA in address order, reading them at the target's offsets", () => {
    const s = setup(name);
    const r = walk(s);
    expect(r.err).toBe(0);
    expect(r.starts).toEqual(ALL);
    expect(s.design.live).toBe(0);
    expect(s.mm.mmapLock.readerCount).toBe(0);
  });

  it("starts at the first VMA with vm_end > addr (inside, at an end, in a gap, above the last)", () => {
    const s = setup(name);
    expect(walk(s, 0x401800n).starts[0]).toBe(0x401000n);
    expect(walk(s, 0x403000n).starts[0]).toBe(0x500000n);
    expect(walk(s, 0x600000n).starts[0]).toBe(0x7f0000000000n);
    expect(walk(s, 0x7ffffffff000n).starts).toEqual([]);
  });

  it("keeps returning NULL after the end", () => {
    const s = setup(name);
    s.design.iterNew(s.rt, s.it, s.task, 0x7ffffffde000n);
    expect(s.design.iterNext(s.rt, s.it)).not.toBe(0n);
    expect(s.design.iterNext(s.rt, s.it)).toBe(0n);
    expect(s.design.iterNext(s.rt, s.it)).toBe(0n);
    s.design.iterDestroy(s.rt, s.it);
  });

  it("refuses a kernel thread with -ENOENT; next is NULL and destroy is harmless", () => {
    const s = setup(name);
    const kthread = s.rt.tasks.get(KTHREAD)?.address as bigint;
    expect(s.design.iterNew(s.rt, s.it, kthread, 0n)).toBe(-2);
    expect(s.design.iterNext(s.rt, s.it)).toBe(0n);
    s.design.iterDestroy(s.rt, s.it);
    s.design.iterDestroy(s.rt, s.it);
    expect(s.system.taskRefs.size).toBe(0);
    expect(s.design.live).toBe(0);
  });

  it("nests two iterators: for each VMA, the VMAs above it", () => {
    const s = setup(name);
    let pairs = 0;
    s.design.iterNew(s.rt, s.it, s.task, 0n);
    for (let p = s.design.iterNext(s.rt, s.it); p !== 0n; p = s.design.iterNext(s.rt, s.it)) {
      const end = s.rt.memory.load(p + BigInt(L.vma.vm_end), 8);
      pairs += walk(s, end, s.it2).starts.length;
    }
    s.design.iterDestroy(s.rt, s.it);
    expect(pairs).toBe((ALL.length * (ALL.length - 1)) / 2);
    expect(s.mm.mmapLock.readerCount).toBe(0);
  });

  it("gives the file chain a program reads: vm_file → f_inode → i_ino, i_sb → s_dev", () => {
    const s = setup(name);
    s.design.iterNew(s.rt, s.it, s.task, 0n);
    const p = s.design.iterNext(s.rt, s.it);
    const m = s.rt.memory;
    const file = m.load(p + BigInt(L.vma.vm_file), 8);
    const inode = m.load(file + BigInt(L.file.f_inode), 8);
    expect(m.load(inode + BigInt(L.inode.i_ino), 8)).toBe(1234n);
    const sb = m.load(inode + BigInt(L.inode.i_sb), 8);
    expect(m.load(sb + BigInt(L.superBlock.s_dev), 4)).toBe(BigInt(0xfe << 20));
    const dentry = m.load(file + BigInt(L.file.f_path_dentry), 8);
    expect(m.readCString(m.load(dentry + BigInt(L.dentry.d_name_name), 8), 64)).toBe("demo");
    s.design.iterDestroy(s.rt, s.it);
  });
});

describe("design differences", () => {
  it("snapshot returns one address (kern_data + 64 on 6.18); original and stack return the live VMAs", () => {
    const snap = walk(setup("snapshot"));
    expect(new Set(snap.ptrs).size).toBe(1);
    for (const name of ["original", "stack"] as const) {
      const r = walk(setup(name));
      expect(new Set(r.ptrs).size).toBe(ALL.length);
    }
    const s = setup("snapshot");
    s.design.iterNew(s.rt, s.it, s.task, 0n);
    const kd = s.rt.memory.load(s.it, 8);
    expect(s.design.iterNext(s.rt, s.it)).toBe(kd + 64n);
    s.design.iterDestroy(s.rt, s.it);
  });

  it("snapshot reuses the same kern_data on the same CPU (LIFO) and pins files only while pointed to", () => {
    const s = setup("snapshot");
    s.design.iterNew(s.rt, s.it, s.task, 0n);
    const first = s.rt.memory.load(s.it, 8);
    s.design.iterNext(s.rt, s.it);
    expect(s.system.objects?.files.map((f) => f.refs)).toEqual([1]);
    s.design.iterDestroy(s.rt, s.it);
    expect(s.system.objects?.files.map((f) => f.refs)).toEqual([0]);
    s.design.iterNew(s.rt, s.it, s.task, 0n);
    expect(s.rt.memory.load(s.it, 8)).toBe(first);
    s.design.iterDestroy(s.rt, s.it);
  });

  it("stack: the on-stack size is checked against the target's vma_iterator (96 bytes is 16 short on 6.18)", () => {
    const system = new TaskVmaSystem();
    expect(() => createTaskVma({ design: "stack", system })).toThrow(TaskVmaError);
    expect(() => createTaskVma({ design: "stack", system, stackBytes: 88 })).toThrow(
      /needs 112 bytes.*24 short/,
    );
    expect(createTaskVma({ design: "stack", system, stackBytes: 112 }).iterSize).toBe(112);
    expect(createTaskVma({ design: "original", system }).kernDataSize).toBe(112);
    expect(createTaskVma({ design: "snapshot", system }).kernDataSize).toBe(320);
  });

  it("stack encodes a failed _new as a NULL mm inside the iterator", () => {
    const s = setup("stack");
    const kthread = s.rt.tasks.get(KTHREAD)?.address as bigint;
    s.rt.memory.store(s.it + 8n, 8, 0xdeadn);
    expect(s.design.iterNew(s.rt, s.it, kthread, 0n)).toBe(-2);
    expect(s.rt.memory.load(s.it + 8n, 8)).toBe(0n);
    expect(s.design.iterNew(s.rt, s.it, s.task, 0n)).toBe(0);
    expect(s.rt.memory.load(s.it, 8)).toBe(s.task);
    s.design.iterDestroy(s.rt, s.it);
  });
});

describe("spec 12 checklist details", () => {
  it("snapshot: a VMA pointer read after _destroy returns the stale snapshot (#9)", () => {
    const s = setup("snapshot");
    s.design.iterNew(s.rt, s.it, s.task, 0n);
    const p = s.design.iterNext(s.rt, s.it);
    s.design.iterDestroy(s.rt, s.it);
    expect(s.rt.memory.load(p, 8)).toBe(ALL[0]);
    expect(s.rt.memory.load(p + 8n, 8)).toBe(0x401000n);
  });

  it("snapshot: the file reference lives until the next call; after NULL a mapping created above the cursor is returned by a further call", () => {
    const s = setup("snapshot");
    s.design.iterNew(s.rt, s.it, s.task, 0x401000n);
    const p = s.design.iterNext(s.rt, s.it);
    expect(s.rt.memory.load(p + BigInt(L.vma.vm_file), 8)).not.toBe(0n);
    s.design.iterNew(s.rt, s.it2, s.task, 0x7ffffffde000n);
    expect(s.design.iterNext(s.rt, s.it2)).not.toBe(0n);
    expect(s.design.iterNext(s.rt, s.it2)).toBe(0n);
    s.mm.insertVma(new VmArea({ start: 0x7ffffffff000n, end: 0x800000000000n, flags: 0x73n }));
    const q = s.design.iterNext(s.rt, s.it2);
    expect(s.rt.memory.load(q, 8)).toBe(0x7ffffffff000n);
    s.design.iterDestroy(s.rt, s.it2);
    s.design.iterNext(s.rt, s.it); // drops the first iterator's file reference
    expect(s.rt.memory.load(p + BigInt(L.vma.vm_file), 8)).toBe(0n);
    s.design.iterDestroy(s.rt, s.it);
    expect(s.system.objects?.files.every((f) => f.refs === 0)).toBe(true);
  });

  it("a pointer that is not a task is refused (the verifier only passes trusted tasks)", () => {
    const s = setup("original");
    expect(() => s.design.iterNew(s.rt, s.it, 0n, 0n)).toThrow(TaskVmaError);
  });

  it("references balance: task references and mm users return to where they were", () => {
    for (const name of ["original", "snapshot", "stack"] as const) {
      const s = setup(name);
      const users = s.mm.mmUsers;
      walk(s);
      expect(s.system.taskRefs.size).toBe(0);
      expect(s.mm.mmUsers).toBe(users);
    }
  });
});

describe("failure modes", () => {
  it("original: allocation failure in NMI context (same-class collision with the interrupted task) is -ENOMEM", () => {
    const host = new ManualHost();
    const allocator = new BpfMemAlloc({ cpus: 1, profile: "6.18", host });
    const s = setup("original", { allocator });
    // The task on CPU 0 is inside bpf_mem_alloc's section for this class when the NMI arrives.
    const cache = allocator.allocCache(0, s.design.kernDataSize);
    if (!cache) throw new Error("no class for kern_data");
    allocator.enter(cache);
    s.system.disableIrqs(0, true);
    expect(s.design.iterNew(s.rt, s.it, s.task, 0n)).toBe(-12);
    expect(s.rt.memory.load(s.it, 8)).toBe(0n);
    expect(s.design.iterNext(s.rt, s.it)).toBe(0n);
    s.design.iterDestroy(s.rt, s.it);
    expect(s.system.stats.newFailures.ENOMEM).toBe(1);
    cache.active--;
    s.system.enableIrqs(0);
  });

  it("original: with interrupts off the unlock is deferred; a second _new in the window is -EBUSY", () => {
    const s = setup("original");
    s.system.disableIrqs(0, true);
    expect(walk(s).err).toBe(0);
    expect(s.mm.mmapLock.readerCount).toBe(1); // still held: the irq_work has not run
    expect(s.design.iterNew(s.rt, s.it, s.task, 0n)).toBe(-16);
    s.system.enableIrqs(0);
    expect(s.mm.mmapLock.readerCount).toBe(0);
    expect(s.system.stats.deferredUnlocks).toBe(1);
  });

  it("original: two live iterators in one irqs-off window lose one unlock", () => {
    const s = setup("original");
    s.system.disableIrqs(0, true);
    expect(s.design.iterNew(s.rt, s.it, s.task, 0n)).toBe(0);
    expect(s.design.iterNew(s.rt, s.it2, s.task, 0n)).toBe(0);
    s.design.iterDestroy(s.rt, s.it);
    s.design.iterDestroy(s.rt, s.it2);
    s.system.enableIrqs(0);
    expect(s.system.stats.lostUnlocks).toBe(1);
    expect(s.mm.mmapLock.readerCount).toBe(1);
  });

  it("original and stack: mmap lock contention (a writer holds or waits) is -EBUSY", () => {
    for (const name of ["original", "stack"] as const) {
      const s = setup(name);
      s.mm.mmapWriteLock("munmap");
      expect(walk(s).err).toBe(-16);
      s.mm.mmapWriteUnlock();
      s.mm.mmapReadLock("reader");
      s.mm.mmapWriteLock("mmap"); // queued behind the reader: the trylock refuses too
      expect(walk(s).err).toBe(-16);
    }
  });

  it("snapshot: no mmap lock; a VMA being modified (write-locked) is skipped, not waited for", () => {
    const s = setup("snapshot");
    s.mm.mmapWriteLock("mprotect");
    const heap = s.mm.vmaLookup(0x500000n) as VmArea;
    expect(s.mm.vmaStartWrite(heap)).toBe(true);
    const r = walk(s);
    expect(r.err).toBe(0);
    expect(r.starts).toEqual(ALL.filter((a) => a !== 0x500000n));
    expect(s.system.stats.skipped).toBe(1);
    s.mm.mmapWriteUnlock();
    expect(walk(s).starts).toEqual(ALL);
  });

  it("snapshot: interrupts off is -EBUSY before allocating; a busy alloc_lock is -EBUSY", () => {
    const s = setup("snapshot");
    const before = s.system.allocator.stats.allocs;
    s.system.disableIrqs(0, true);
    expect(walk(s).err).toBe(-16);
    expect(s.system.allocator.stats.allocs).toBe(before);
    s.system.enableIrqs(0);
    s.system.busyAllocLocks.add(PID);
    expect(walk(s).err).toBe(-16);
    expect(s.system.taskRefs.size).toBe(0);
  });

  it("kernel thread with a borrowed mm: original iterates it, snapshot refuses (PF_KTHREAD)", () => {
    for (const [name, err] of [
      ["original", 0],
      ["snapshot", -2],
    ] as const) {
      const s = setup(name);
      const borrower = s.rt.tasks.get(BORROWER)?.address as bigint;
      expect(s.design.iterNew(s.rt, s.it, borrower, 0n)).toBe(err);
      s.design.iterDestroy(s.rt, s.it);
    }
  });

  it("snapshot without per-VMA locks is -EOPNOTSUPP", () => {
    expect(walk(setup("snapshot", { perVmaLocks: false })).err).toBe(-95);
  });
});
