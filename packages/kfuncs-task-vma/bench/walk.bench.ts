import { MmStruct, VmArea } from "@bpfkit/kernel-mm";
import { createRuntime, defaultKfuncs } from "@bpfkit/runtime";
import { bench, describe } from "vitest";
import { createTaskVma, type DesignName, registerTaskVma } from "../src/index.js";

// One full walk of a 1,000-VMA address space per bench iteration (per-VMA time = mean / 1000):
// each design's _new/_next.../_destroy as a program's kfunc calls would run them, beside the
// baseline of the bare model, kernel-mm's vma_iterator over the same tree with no guest objects.
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

describe(`walk ${N} VMAs`, () => {
  bench("baseline: kernel-mm vma_iterator", () => {
    const it = mm.iterator(0n);
    let n = 0;
    while (it.next() !== null) n++;
    if (n !== N) throw new Error("bad walk");
  });
  for (const name of ["original", "snapshot", "stack"] as const) bench(`design ${name}`, walker(name));
});
