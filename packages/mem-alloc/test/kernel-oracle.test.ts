import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hasKernelOracle, hasTool, repoRoot, skipReason } from "../../../scripts/test-env.js";
import { BpfMemAlloc, ManualHost } from "../src/index.js";

// Section 14 against the running kernel: a syscall program creates 16 bits iterators (one
// bpf_global_ma object each) with interrupts on, or inside bpf_local_irq_save, on one pinned CPU.
const koracle = join(repoRoot, "..", "shared", "tools", "koracle.py");
const source = join(import.meta.dirname, "fixtures", "bits-burst.bpf.c");
const BURST = 16;

const skip = skipReason("mem-alloc kernel oracle", [
  [hasKernelOracle(), "needs root, /sys/kernel/btf/vmlinux and bpftool"],
  [hasTool("clang-19"), "clang-19 not installed"],
  [hasTool("taskset", ["--version"]), "taskset not installed"],
  [existsSync(koracle), `${koracle} not found`],
]);

function kernelRun(cpu: number, object: string, build: string, irqsOff: boolean, words: number): number {
  const ctx = Buffer.alloc(8);
  ctx.writeInt32LE(irqsOff ? 1 : 0, 0);
  ctx.writeInt32LE(words, 4);
  const line = execFileSync(
    "taskset",
    ["-c", String(cpu), "python3", koracle, "--build", build, "--ctx-hex", ctx.toString("hex"), object],
    {
      encoding: "utf8",
    },
  );
  const result = JSON.parse(line.trim().split("\n").at(-1) ?? "{}") as {
    verdict: string;
    retval?: number;
    maps?: Record<string, Array<{ formatted?: { value?: Record<string, Array<Record<string, unknown>>> } }>>;
  };
  expect(result.verdict).toBe("accept");
  expect(result.retval).toBe(0);
  const bss = Object.entries(result.maps ?? {}).find(([name]) => name.endsWith("bss"))?.[1]?.[0]?.formatted
    ?.value?.[".bss"];
  const ok = bss?.find((entry) => "ok" in entry)?.ok;
  if (typeof ok !== "number") throw new Error(`no 'ok' in the program's .bss: ${line.slice(0, 200)}`);
  return ok;
}

/** The model with `free` objects on `cpu`'s list of the class of `request`, and no refill pending. */
function modelWithFreeCount(request: number, free: number) {
  const host = new ManualHost();
  const ma = new BpfMemAlloc({ cpus: 1, profile: "6.18", host });
  const cache = ma.allocCache(0, request);
  if (cache === null) throw new Error("no class");
  const pool: number[] = [];
  while (pool.length < free) pool.push(ma.alloc(0, request) as number);
  host.disableIrqs(0);
  while (cache.freeCount > 0) ma.alloc(0, request);
  for (const id of pool) ma.free(0, id);
  host.queued.length = 0;
  cache.pending = false;
  host.enableIrqs(0);
  const burst = (irqsOff: boolean): number => {
    if (irqsOff) host.disableIrqs(0);
    const got = Array.from({ length: BURST }, () => ma.alloc(0, request));
    for (const id of got) ma.free(0, id);
    if (irqsOff) host.enableIrqs(0);
    return got.filter((id) => id !== null).length;
  };
  return { cache, burst };
}

describe.skipIf(skip)("mem-alloc §14 against the live kernel", () => {
  const build = mkdtempSync(join(tmpdir(), "bpfkit-memalloc-"));
  const cpu = cpus().length - 1;
  const object = join(build, "bits-burst.bpf.o");
  const run = (irqsOff: boolean, words: number) =>
    kernelRun(cpu, existsSync(object) ? object : source, build, irqsOff, words);

  it("§14: class 4096: irqs-off bursts, a task-context burst, an irqs-off burst again — the model predicts every count from the first", () => {
    const words = 300;
    const observed = [run(true, words), run(true, words), run(false, words), run(true, words)];
    const first = observed[0] as number;
    expect(first).toBeLessThan(BURST); // class 4096 never holds more than high = 6 after a refill run
    const model = modelWithFreeCount(words * 8, first);
    expect(model.cache.unitSize).toBe(4096);
    expect(observed).toEqual([first, model.burst(true), model.burst(false), model.burst(true)]);
    expect(observed[2]).toBe(BURST); // task context: every drop below low is refilled at once
  });

  it("§14: class 2048: an irqs-off burst gets the free count F, the next gets the count the refill left", () => {
    const words = 200;
    const observed = [run(true, words), run(true, words), run(true, words)];
    const first = observed[0] as number;
    expect(first).toBeLessThan(BURST);
    const model = modelWithFreeCount(words * 8, first);
    expect(model.cache.unitSize).toBe(2048);
    expect(observed).toEqual([first, model.burst(true), model.burst(true)]);
  });
});
