import { bench, describe } from "vitest";
import { BpfMemAlloc, simulate } from "../src/index.js";

// The model's hot path (class lookup, active section, LIFO list, watermark check, refill at the
// restore) against the least an allocator can do: pop and push on a plain array.
const OPS = 10_000;

class PlainFreeList {
  private readonly free: number[] = [];
  private next = 1;
  alloc(): number {
    return this.free.pop() ?? this.next++;
  }
  release(id: number): void {
    this.free.push(id);
  }
}

describe("alloc + free, 10k pairs, one live object (task_vma's pattern)", () => {
  const model = new BpfMemAlloc({ cpus: 2 });
  const plain = new PlainFreeList();
  bench("baseline: plain free list", () => {
    for (let i = 0; i < OPS; i++) plain.release(plain.alloc());
  });
  bench("BpfMemAlloc (class 128)", () => {
    for (let i = 0; i < OPS; i++) model.free(0, model.alloc(0, 112));
  });
});

describe("alloc 16 then free 16, x625 (nesting, crosses watermarks)", () => {
  const model = new BpfMemAlloc({ cpus: 2 });
  const plain = new PlainFreeList();
  const held = new Array<number | null>(16);
  bench("baseline: plain free list", () => {
    for (let r = 0; r < OPS / 16; r++) {
      for (let i = 0; i < 16; i++) held[i] = plain.alloc();
      for (let i = 15; i >= 0; i--) plain.release(held[i] as number);
    }
  });
  bench("BpfMemAlloc (class 512, low 16 / high 48)", () => {
    for (let r = 0; r < OPS / 16; r++) {
      for (let i = 0; i < 16; i++) held[i] = model.alloc(1, 320);
      for (let i = 15; i >= 0; i--) model.free(1, held[i] ?? null);
    }
  });
});

describe("simulator: 10 ms of 2 CPUs, task 100k/s + NMI 20k/s", () => {
  bench("simulate", () => {
    simulate({
      cpus: 2,
      durationNs: 10_000_000,
      workloads: [
        { context: "task", ratePerSec: 100_000, program: { allocs: [112], holdNs: 1000 } },
        { context: "nmi", ratePerSec: 20_000, program: { allocs: [112] } },
      ],
    });
  });
});
