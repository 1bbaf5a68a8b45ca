import { execFileSync } from "node:child_process";
import { join } from "node:path";
import type { Instruction } from "@bpfkit/bpf-isa";
import { encode } from "@bpfkit/bpf-isa";
import { describe, expect, it } from "vitest";
import { hasTool, skipReason } from "../../../scripts/test-env.js";
import { type Engine, loadProgram, Vm } from "../src/index.js";
import { CTX_SIZE, prng, randomContext, randomProgram } from "./kernel/random-programs.js";
import { naiveRun } from "./naive-interpreter.js";

const DRIVER = join(import.meta.dirname, "kernel/run-syscall-progs.py");
const SEED = Number(process.env.BPFKIT_DIFF_SEED ?? 20261125);
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const ENGINES: Engine[] = ["interpreter", "compiled"];

interface Job {
  insns: Instruction[];
  contexts: Uint8Array[];
}

function jobs(seed: number, straight: number, looping: number, inputs: number): Job[] {
  const rand = prng(seed);
  const out: Job[] = [];
  for (let i = 0; i < straight + looping; i++) {
    const insns = randomProgram(rand, { loops: i >= straight, length: 10 + Math.floor(rand() * 40) });
    const contexts = Array.from({ length: inputs }, () => randomContext(rand));
    out.push({ insns, contexts });
  }
  return out;
}

/** Runs in bpfkit: the context is a region r1 points to; returns the context after the run and r0. */
function runVm(vm: Vm, insns: Instruction[], context: Uint8Array): { ctx: string; r0: bigint } {
  const ctx = vm.memory.map(context.slice(), { name: "ctx", kind: "context" });
  try {
    const { r0 } = vm.run(loadProgram(insns), { args: [ctx.base] });
    return { ctx: hex(ctx.bytes), r0 };
  } finally {
    vm.memory.unmap(ctx);
  }
}

describe("random ALU/JMP programs: bpfkit against the naive bigint interpreter", () => {
  it.each(ENGINES)("agree on 1000 programs with 4 inputs each (%s engine)", (engine) => {
    const vm = new Vm({ engine });
    for (const [n, job] of jobs(SEED, 500, 500, 4).entries()) {
      for (const context of job.contexts) {
        const mem = { base: 0x5000_0000_0000n, bytes: context.slice() };
        const naive = naiveRun(job.insns, { args: [mem.base], memory: [mem] });
        const ours = runVm(vm, job.insns, context);
        expect({ n, ctx: ours.ctx, r0: ours.r0 }).toEqual({ n, ctx: hex(mem.bytes), r0: naive.r0 });
      }
    }
  });
});

function kernelWorks(): boolean {
  if (process.getuid?.() !== 0 || !hasTool("python3")) return false;
  try {
    // r0 = 0; exit
    const probe = JSON.stringify({ insns: "b700000000000000" + "9500000000000000", ctx: [] });
    return execFileSync("python3", [DRIVER], { input: `${probe}\n` })
      .toString()
      .includes('"ok": true');
  } catch {
    return false;
  }
}

const kernelSkip = skipReason("kernel differential test", [
  [process.getuid?.() === 0, "not root"],
  [hasTool("python3"), "python3 not installed"],
  [process.getuid?.() !== 0 || kernelWorks(), "bpf() refused a trivial syscall program"],
]);

describe.skipIf(kernelSkip)(
  "random ALU/JMP programs: bpfkit against the live kernel (BPF_PROG_TEST_RUN)",
  () => {
    it(
      "agree on 3000 programs (2000 straight-line, 1000 looping) with 3 inputs each, on both engines",
      { timeout: 300_000 },
      () => {
        const all = jobs(SEED + 1, 2000, 1000, 3);
        const input = all
          .map((j) => JSON.stringify({ insns: hex(encode(j.insns)), ctx: j.contexts.map(hex) }))
          .join("\n");
        const lines = execFileSync("python3", [DRIVER], { input: `${input}\n`, maxBuffer: 1 << 28 })
          .toString()
          .trim()
          .split("\n");
        expect(lines).toHaveLength(all.length);
        const vms = ENGINES.map((engine) => new Vm({ engine }));
        let compared = 0;
        for (const [n, job] of all.entries()) {
          const result = JSON.parse(lines[n] as string) as {
            ok: boolean;
            log?: string;
            runs?: Array<{ retval?: number; ctx?: string; error?: string }>;
          };
          // A rejected program is a generator bug: show the verifier's log.
          expect({ n, ok: result.ok, log: result.log }).toEqual({ n, ok: true, log: undefined });
          for (const [k, run] of (result.runs ?? []).entries()) {
            expect(run.error).toBeUndefined();
            for (const [e, vm] of vms.entries()) {
              const ours = runVm(vm, job.insns, job.contexts[k] as Uint8Array);
              expect({
                n,
                k,
                engine: ENGINES[e],
                ctx: ours.ctx,
                retval: Number(ours.r0 & 0xffffffffn),
              }).toEqual({
                n,
                k,
                engine: ENGINES[e],
                ctx: run.ctx,
                retval: run.retval,
              });
              compared++;
            }
          }
        }
        expect(compared).toBe(all.length * 3 * ENGINES.length);
        expect(CTX_SIZE).toBe(72);
      },
    );
  },
);
