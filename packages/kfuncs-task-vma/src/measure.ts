import { MmStruct, VmArea } from "@bpfkit/kernel-mm";
import { createRuntime, defaultKfuncs } from "@bpfkit/runtime";
import type { DesignName } from "./designs/design.js";
import { createTaskVma, registerTaskVma } from "./kfuncs.js";

/** What one design costs in the model: per walk and per VMA, from `measure` runs. */
export interface DesignMeasurement {
  design: DesignName;
  vmas: number;
  /** Time the walk's lock is held per walk (A/C: mmap read lock from _new to _destroy; B: summed per-VMA locks). */
  lockHoldNs: number;
  /** Time per VMA inside `_next`. */
  perVmaNs: number;
}

/**
 * Walks an address space of `vmas` VMAs `runs` times with each design's kfuncs (the model, called
 * directly as the VM would) and reports the median lock hold time and cost per VMA.
 */
export function measureDesigns(
  designs: readonly DesignName[],
  options: { vmas?: number; runs?: number; stackBytes?: number } = {},
): DesignMeasurement[] {
  const n = options.vmas ?? 1000;
  const runs = options.runs ?? 21;
  const mm = new MmStruct();
  for (let i = 0; i < n; i++) {
    const start = 0x10000000n + BigInt(i) * 0x3000n;
    mm.insertVma(new VmArea({ start, end: start + 0x2000n, flags: 0x100073n }));
  }
  return designs.map((name) => {
    const design = createTaskVma({
      design: name,
      mmOf: () => mm,
      measure: true,
      stackBytes: options.stackBytes ?? 112,
    });
    const rt = createRuntime({
      snapshot: { tasks: [{ pid: 1, tgid: 1, comm: "lab" }] },
      kfuncs: registerTaskVma(defaultKfuncs(), design),
    });
    const it = rt.memory.map(512, { name: "stack", kind: "stack" }).base;
    const task = rt.tasks.get(1)?.address ?? 0n;
    const stats = design.system.stats;
    const holds: number[] = [];
    const perVma: number[] = [];
    for (let r = 0; r < runs; r++) {
      const hold0 = stats.lockHoldNs;
      const next0 = stats.nextNs;
      const seen0 = stats.vmasReturned;
      design.iterNew(rt, it, task, 0n);
      while (design.iterNext(rt, it) !== 0n);
      design.iterDestroy(rt, it);
      holds.push(stats.lockHoldNs - hold0);
      perVma.push((stats.nextNs - next0) / Math.max(1, stats.vmasReturned - seen0));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? 0;
    return {
      design: name,
      vmas: n,
      lockHoldNs: Math.round(median(holds)),
      perVmaNs: Math.round(median(perVma)),
    };
  });
}
