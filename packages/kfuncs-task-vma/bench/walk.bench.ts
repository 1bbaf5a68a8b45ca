import { MmStruct, VmArea } from "@bpfkit/kernel-mm";
import { createRuntime, defaultKfuncs } from "@bpfkit/runtime";
import type { Engine } from "@bpfkit/vm";
import { bench, describe } from "vitest";
import { createTaskVma, type DesignName, registerTaskVma } from "../src/index.js";

// One full walk of a 1,000-VMA address space per bench iteration (per-VMA time = mean / 1000):
// each design's _new/_next.../_destroy as a program's kfunc calls would run them, beside the
// baseline of the bare model, kernel-mm's vma_iterator over the same tree with no guest objects.
// The "bpf" rows run the walk as a BPF program (new, a next loop, destroy) on each VM engine, so
// they add what the program itself costs: per-VMA time in compiled mode is what `bpfkit vmas`
// pays per line.
const N = 1000;
const mm = new MmStruct();
for (let i = 0; i < N; i++) {
  const start = 0x5555_0000_0000n + BigInt(i) * 0x3000n;
  mm.insertVma(new VmArea({ start, end: start + 0x2000n, flags: 0x100073n }));
}

function walker(name: DesignName): () => void {
  const design = createTaskVma({ design: name, mmOf: () => mm, stackBytes: 112 });
  const rt = createRuntime({
    snapshot: { tasks: [{ pid: 1, tgid: 1, comm: "bench" }] },
    kfuncs: registerTaskVma(defaultKfuncs(), design),
  });
  const it = rt.memory.map(512, { name: "stack", kind: "stack" }).base;
  const task = rt.tasks.get(1)?.address ?? 0n;
  return () => {
    design.iterNew(rt, it, task, 0n);
    let n = 0;
    while (design.iterNext(rt, it) !== 0n) n++;
    design.iterDestroy(rt, it);
    if (n !== N) throw new Error(`walked ${n} of ${N}`);
  };
}

/** One BPF instruction, little-endian. */
function op(code: number, dst: number, src: number, off: number, imm: number): number[] {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  v.setUint8(0, code);
  v.setUint8(1, dst | (src << 4));
  v.setInt16(2, off, true);
  v.setInt32(4, imm, true);
  return [...b];
}

/**
 * A syscall program counting the VMAs of the task at ctx[0] with the three kfuncs, the iterator
 * 128 bytes below r10 (room for the on-stack design's 112 bytes).
 */
function walkProgram(id: (name: string) => number): Uint8Array {
  const it = [op(0xbf, 1, 10, 0, 0), op(0x07, 1, 0, 0, -128)]; // r1 = r10 - 128
  return new Uint8Array(
    [
      op(0x79, 6, 1, 0, 0), // r6 = *(u64 *)(r1 + 0): the task
      ...it,
      op(0xbf, 2, 6, 0, 0), // r2 = task
      op(0xb7, 3, 0, 0, 0), // r3 = 0: from address 0
      op(0x85, 0, 2, 0, id("bpf_iter_task_vma_new")),
      op(0xb7, 7, 0, 0, 0), // r7 = 0
      ...it, // loop:
      op(0x85, 0, 2, 0, id("bpf_iter_task_vma_next")),
      op(0x15, 0, 0, 2, 0), // if r0 == 0 goto done
      op(0x07, 7, 0, 0, 1), // r7 += 1
      op(0x05, 0, 0, -6, 0), // goto loop
      ...it, // done:
      op(0x85, 0, 2, 0, id("bpf_iter_task_vma_destroy")),
      op(0xbf, 0, 7, 0, 0), // r0 = r7
      op(0x95, 0, 0, 0, 0),
    ].flat(),
  );
}

function bpfWalker(name: DesignName, engine: Engine): () => void {
  const design = createTaskVma({ design: name, mmOf: () => mm, stackBytes: 112 });
  const rt = createRuntime({
    snapshot: { tasks: [{ pid: 1, tgid: 1, comm: "bench" }] },
    kfuncs: registerTaskVma(defaultKfuncs(), design),
    engine,
  });
  const prog = rt.load({ name: "walk", type: "syscall", insns: walkProgram((k) => rt.kfuncId(k)) });
  const ctx = new Uint8Array(8);
  new DataView(ctx.buffer).setBigUint64(0, rt.tasks.get(1)?.address ?? 0n, true);
  return () => {
    const { r0 } = rt.run(prog, { ctx });
    if (r0 !== BigInt(N)) throw new Error(`walked ${r0} of ${N}`);
  };
}

describe(`walk ${N} VMAs`, () => {
  bench("baseline: kernel-mm vma_iterator", () => {
    const it = mm.iterator(0n);
    let n = 0;
    while (it.next() !== null) n++;
    if (n !== N) throw new Error("bad walk");
  });
  for (const name of ["original", "snapshot", "stack"] as const) bench(`design ${name}`, walker(name));
  for (const name of ["original", "snapshot", "stack"] as const)
    for (const engine of ["interpreter", "compiled"] as const)
      bench(`bpf ${engine}: design ${name}`, bpfWalker(name, engine));
});
