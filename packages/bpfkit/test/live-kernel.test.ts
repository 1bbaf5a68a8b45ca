import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseBtf } from "@bpfkit/btf";
import { buildMm } from "@bpfkit/kernel-mm";
import { importLive } from "@bpfkit/kernel-mm/proc";
import { parseProcStatus } from "@bpfkit/runtime/proc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasKernelOracle, hasTool, repoRoot, skipReason } from "../../../scripts/test-env.js";
import { createKernel } from "../src/index.js";

// fixtures/bpf/task-vma-modes.bpf.c (walk, search, nest, count) on a live process, once in the
// running kernel through koracle (BPF_PROG_TEST_RUN) and once through bpfkit (loader, vm, runtime,
// task_vma kfuncs over the process's imported address space): retval, ctx out and .bss must agree.
const koracle = join(repoRoot, "..", "shared", "tools", "koracle.py");
const object = join(repoRoot, "fixtures", "bpf", "task-vma-modes.bpf.o");

const skip = skipReason("task_vma programs against the live kernel", [
  [hasKernelOracle(), "needs root, bpftool and /sys/kernel/btf/vmlinux"],
  [existsSync(koracle), `${koracle} not found`],
  [hasTool("python3"), "python3 not installed"],
]);

interface Result {
  retval: number;
  ctxOut: string;
  bss: string[];
}

function ctxOf(pid: number, mode: number, addr: bigint): Buffer {
  const b = Buffer.alloc(40);
  b.writeUInt32LE(pid, 0);
  b.writeUInt32LE(mode, 4);
  b.writeBigUInt64LE(addr, 8);
  return b;
}

function kernelRun(ctx: Buffer): Result {
  const build = mkdtempSync(join(tmpdir(), "bpfkit-tv-"));
  const out = execFileSync("python3", [koracle, "--build", build, "--ctx-hex", ctx.toString("hex"), object], {
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
  const r = JSON.parse(out.trim().split("\n").at(-1) as string);
  if (r.verdict !== "accept") throw new Error(`rejected by the kernel: ${JSON.stringify(r.error)}`);
  const bss = Object.entries(r.maps as Record<string, Array<{ value: string[] }>>).find(([k]) =>
    k.endsWith("bss"),
  );
  return { retval: r.retval, ctxOut: r.ctx_out, bss: (bss?.[1][0] as { value: string[] }).value };
}

let liveBtf: ReturnType<typeof parseBtf> | undefined;

function bpfkitRun(pid: number, design: "original" | "snapshot", ctx: Buffer): Result {
  liveBtf ??= parseBtf(new Uint8Array(readFileSync("/sys/kernel/btf/vmlinux")));
  const btf = liveBtf;
  const task = (p: number) => parseProcStatus(readFileSync(`/proc/${p}/status`, "utf8"))!;
  const kernel = createKernel({
    btf,
    design,
    snapshot: { tasks: [task(process.pid), task(pid)] },
    taskVma: { mmOf: (t) => buildMm(importLive(t.info.tgid, { stable: true })) },
  });
  const obj = kernel.load(new Uint8Array(readFileSync(object)));
  const out = obj.program("task_vma_modes").run(new Uint8Array(ctx));
  const maps = kernel.runtime.dumpMaps();
  const bss = Object.entries(maps).find(([k]) => k.endsWith("bss"))?.[1][0]?.value as string[];
  return { retval: out.retval, ctxOut: Buffer.from(out.ctxOut ?? []).toString("hex"), bss };
}

describe.skipIf(skip)("task_vma programs: bpfkit equals the live kernel", () => {
  let child: ChildProcess;
  let pid = 0;
  let firstEnd = 0n;

  beforeAll(async () => {
    child = spawn("sleep", ["600"], { stdio: "ignore" });
    pid = child.pid as number;
    // Wait until exec finished: the maps then name the sleep binary.
    for (let i = 0; i < 100 && !readFileSync(`/proc/${pid}/maps`, "utf8").includes("sleep"); i++)
      await new Promise((r) => setTimeout(r, 20));
    const line = readFileSync(`/proc/${pid}/maps`, "utf8").split("\n")[2] as string;
    firstEnd = BigInt(`0x${line.split("-")[0]}`) + 0x10n;
  });

  afterAll(() => {
    child?.kill();
  });

  for (const [mode, what] of [
    [0, "walk"],
    [1, "search"],
    [2, "nest two iterators"],
    [3, "count"],
  ] as const) {
    it(`${what}: retval, ctx out and .bss agree (designs original and snapshot)`, () => {
      const ctx = ctxOf(pid, mode, mode === 1 ? firstEnd : 0n);
      const kernel = kernelRun(ctx);
      expect(kernel.retval).toBe(100 + mode);
      for (const design of ["original", "snapshot"] as const) {
        const ours = bpfkitRun(pid, design, ctx);
        expect(ours.retval).toBe(kernel.retval);
        expect(ours.ctxOut).toBe(kernel.ctxOut);
        expect(ours.bss).toEqual(kernel.bss);
      }
    }, 120_000);
  }
});
