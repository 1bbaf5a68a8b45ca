import type { MmStruct, VmaIterator } from "@bpfkit/kernel-mm";
import { MA_STATE_LAYOUT } from "@bpfkit/kernel-mm";
import type { Runtime, Task } from "@bpfkit/runtime";
import type { Region } from "@bpfkit/vm";
import { TaskVmaError } from "../errors.js";
import type { KernelObjects } from "../objects.js";
import type { TaskVmaSystem, UnlockSlot } from "../system.js";
import { begin, type DesignName, fail, type TaskVmaDesign } from "./design.js";

interface HeldState {
  task: Task;
  mm: MmStruct;
  vmi: VmaIterator;
  slot: UnlockSlot | null;
  lockedAt: number;
  /** Allocator object (A) or -1 (C). */
  id: number;
}

/** kern_data members of A and C: task, mm, work (deferred-unlock slot or NULL), then the vma_iterator. */
const KD_TASK = 0;
const KD_MM = 8;
const KD_WORK = 16;
const KD_VMI = 24;

/**
 * Designs A (`original`) and C (`stack`): the mmap read lock taken with a trylock in `_new` and
 * held until `_destroy`, a `vma_iterator` stepping through the live VMAs, and an unlock that is
 * direct or deferred to this CPU's single irq_work slot when interrupts were off at `_new`.
 * A keeps the state in kern_data from `bpf_global_ma` behind the 8-byte iterator; C keeps it in
 * the iterator itself on the BPF stack (no allocation, failure encoded as a NULL mm).
 */
export class HeldLockDesign implements TaskVmaDesign {
  readonly kernDataSize: number;
  readonly iterSize: number;
  readonly #states = new Map<bigint, HeldState>();

  constructor(
    readonly name: Extract<DesignName, "original" | "stack">,
    readonly system: TaskVmaSystem,
    options: { stackBytes?: number } = {},
  ) {
    const need = KD_VMI + system.layout.vmaIteratorSize;
    if (name === "stack") {
      const budget = options.stackBytes ?? 96;
      // The proposal tied the kernel struct to the opaque size with a build-time assertion.
      if (need > budget)
        throw new TaskVmaError(
          `design stack does not fit the target kernel: its iterator state needs ${need} bytes (24 + struct vma_iterator of ${system.layout.vmaIteratorSize} bytes in the target BTF) but the on-stack struct bpf_iter_task_vma has ${budget} (${need - budget} short; the kernel build would fail)`,
          "design",
          "stack",
        );
      if (budget % 8 !== 0 || budget > 512)
        throw new TaskVmaError(`design stack: ${budget} is not a multiple of 8 up to 512`, "design", "stack");
      this.iterSize = budget;
      this.kernDataSize = 0;
    } else {
      this.iterSize = 8;
      this.kernDataSize = need;
    }
  }

  get live(): number {
    return this.#states.size;
  }

  #writeState(
    view: DataView,
    base: number,
    task: Task,
    mmAddr: bigint,
    work: bigint,
    vmi: VmaIterator | null,
  ): void {
    view.setBigUint64(base + KD_TASK, task.address, true);
    view.setBigUint64(base + KD_MM, mmAddr, true);
    view.setBigUint64(base + KD_WORK, work, true);
    if (vmi) vmi.mas.writeTo(view, base + KD_VMI, MA_STATE_LAYOUT["6.18"]);
  }

  iterNew(rt: Runtime, it: bigint, taskAddr: bigint, addr: bigint): number {
    const sys = this.system;
    const mem = rt.memory;
    const cpu = rt.cpu;
    if (this.name === "stack") {
      // Always initialised: a failed _new leaves a NULL mm that _next and _destroy test.
      mem.write(it, new Uint8Array(this.iterSize));
      this.#states.delete(it);
    } else mem.store(it, 8, 0n);
    const { objects, task } = begin(sys, rt, taskAddr, this.name);
    let id = -1;
    let kd: Region | undefined;
    if (this.name === "original") {
      const got = sys.allocator.alloc(cpu, this.kernDataSize);
      if (got === null) return fail(sys, "ENOMEM");
      id = got;
      kd = sys.kernData(objects, id, this.kernDataSize);
    }
    const undo = (): void => {
      sys.taskPut(task);
      if (id >= 0) sys.allocator.free(cpu, id);
    };
    sys.taskGet(task);
    const mm = sys.mmOf(objects, task, rt.tasks.layout.mm);
    if (!mm) {
      undo();
      return fail(sys, "ENOENT");
    }
    let slot: UnlockSlot | null = null;
    if (sys.context(cpu).irqsDisabled) {
      slot = sys.slot(objects, cpu);
      if (sys.preemptRt || slot.pending) {
        undo();
        return fail(sys, "EBUSY");
      }
    }
    if (!mm.mmapReadTrylock()) {
      undo();
      return fail(sys, "EBUSY");
    }
    const vmi = mm.iterator(addr);
    const state: HeldState = { task, mm, vmi, slot, lockedAt: sys.measure ? sys.now() : 0, id };
    const mmAddr = objects.mmAddress(mm);
    if (kd) {
      this.#writeState(kd.view, 0, task, mmAddr, slot?.address ?? 0n, vmi);
      mem.store(it, 8, kd.base);
      this.#states.set(kd.base, state);
    } else {
      const r = mem.resolve(it);
      if (!r)
        throw new TaskVmaError(`iterator at 0x${it.toString(16)} is not in guest memory`, "state", this.name);
      this.#writeState(r.region.view, r.offset, task, mmAddr, slot?.address ?? 0n, vmi);
      this.#states.set(it, state);
    }
    return 0;
  }

  #state(rt: Runtime, it: bigint): { key: bigint; state: HeldState } | undefined {
    if (this.name === "original") {
      const key = rt.memory.load(it, 8);
      if (key === 0n) return undefined;
      const state = this.#states.get(key);
      return state ? { key, state } : undefined;
    }
    if (rt.memory.load(it + BigInt(KD_MM), 8) === 0n) return undefined;
    const state = this.#states.get(it);
    return state ? { key: it, state } : undefined;
  }

  iterNext(rt: Runtime, it: bigint): bigint {
    const s = this.#state(rt, it);
    if (!s) return 0n;
    const sys = this.system;
    const t0 = sys.measure ? sys.now() : 0;
    const vma = s.state.vmi.next();
    if (!vma) return 0n;
    const objects = sys.bind(rt);
    const address = objects.vmaRegion(vma).base;
    sys.stats.vmasReturned++;
    if (sys.measure) sys.stats.nextNs += sys.now() - t0;
    return address;
  }

  iterDestroy(rt: Runtime, it: bigint): void {
    const s = this.#state(rt, it);
    if (!s) return;
    const sys = this.system;
    const { state } = s;
    const cpu = rt.cpu;
    if (sys.measure) sys.stats.lockHoldNs += sys.now() - state.lockedAt;
    if (state.slot) {
      // One slot per CPU and nothing reserves it: a second destroy in the same irqs-off window
      // overwrites the pending mm, and queueing the already-pending irq_work does nothing.
      if (state.slot.pending) sys.stats.lostUnlocks++;
      state.slot.mm = state.mm;
      state.slot.pending = true;
      if (!sys.context(cpu).irqsDisabled) sys.enableIrqs(cpu);
    } else state.mm.mmapReadUnlockAndWake();
    sys.taskPut(state.task);
    if (state.id >= 0) sys.allocator.free(cpu, state.id);
    this.#states.delete(s.key);
  }

  /** Live iterators' mms (tests: which locks are still held). */
  heldMms(): MmStruct[] {
    return [...this.#states.values()].map((s) => s.mm);
  }

  /** @internal For tests of the stack layout. */
  objectsOf(rt: Runtime): KernelObjects {
    return this.system.bind(rt);
  }
}
