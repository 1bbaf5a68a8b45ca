import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadVmlinux618 } from "@bpfkit/btf/vmlinux-6.18";
import { expect, it } from "vitest";
import { repoRoot } from "../../../scripts/test-env.js";
import { createKernel, kernelMm } from "../src/index.js";

it("README example: the modes program walks a model address space", () => {
  const mm = new kernelMm.MmStruct();
  mm.insertVma(new kernelMm.VmArea({ start: 0x400000n, end: 0x401000n, flags: 0x75n }));
  mm.insertVma(new kernelMm.VmArea({ start: 0x600000n, end: 0x602000n, flags: 0x73n }));
  for (const design of ["snapshot", "original"] as const) {
    const kernel = createKernel({
      btf: loadVmlinux618(),
      design,
      snapshot: { tasks: [{ pid: 7, tgid: 7, comm: "demo" }] },
      taskVma: { mmOf: () => mm },
    });
    const obj = kernel.load(readFileSync(join(repoRoot, "fixtures/bpf/task-vma-modes.bpf.o")));
    const prog = obj.program("task_vma_modes");
    const v = prog.verify();
    expect(v.verified).toBe(false);
    expect(v.reason).toMatch(/no verifier yet/);
    expect(v.structuralIssues).toEqual([]);
    const ctx = new Uint8Array(40);
    new DataView(ctx.buffer).setUint32(0, 7, true);
    expect(prog.run(ctx).retval).toBe(100);
    const bss = Object.entries(kernel.runtime.dumpMaps()).find(([k]) => k.endsWith("bss"))?.[1][0];
    const bytes = new Uint8Array((bss?.value as string[]).map((h) => Number.parseInt(h, 16)));
    const view = new DataView(bytes.buffer);
    expect(view.getUint32(0, true)).toBe(2);
    expect(view.getBigUint64(8, true)).toBe(0x400000n);
    expect(view.getBigUint64(8 + 24 + 8, true)).toBe(0x602000n);
    expect(kernel.taskVma.live).toBe(0);
  }
});
