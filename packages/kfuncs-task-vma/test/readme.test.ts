import { MmStruct, VmArea } from "@bpfkit/kernel-mm";
import { createRuntime, defaultKfuncs } from "@bpfkit/runtime";
import { expect, it } from "vitest";
import { createTaskVma, registerTaskVma } from "../src/index.js";

it("README example", () => {
  const mm = new MmStruct();
  mm.insertVma(new VmArea({ start: 0x400000n, end: 0x401000n, flags: 0x75n }));
  mm.insertVma(new VmArea({ start: 0x600000n, end: 0x602000n, flags: 0x73n }));
  const design = createTaskVma({ design: "snapshot", mmOf: () => mm });
  const rt = createRuntime({
    snapshot: { tasks: [{ pid: 7, tgid: 7, comm: "demo" }] },
    kfuncs: registerTaskVma(defaultKfuncs(), design),
  });
  const it = rt.memory.map(8, { name: "stack" }).base;
  expect(design.iterNew(rt, it, rt.tasks.get(7)!.address, 0x401000n)).toBe(0);
  const vma = design.iterNext(rt, it);
  expect(vma).toBe(rt.memory.load(it, 8) + 64n);
  expect(rt.memory.load(vma, 8)).toBe(0x600000n);
  expect(design.iterNext(rt, it)).toBe(0n);
  design.iterDestroy(rt, it);
  expect(design.live).toBe(0);
});
