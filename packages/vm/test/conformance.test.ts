import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { assembleUbpf, parseConformanceData } from "@bpfkit/bpf-isa";
import { describe, expect, it } from "vitest";
import { sharedFixtures, skipReason } from "../../../scripts/test-env.js";
import { type Engine, loadProgram, Vm, VmError } from "../src/index.js";

const suite = sharedFixtures("bpf_conformance");
const files = suite
  ? readdirSync(suite)
      .filter((f) => f.endsWith(".data"))
      .sort()
  : [];

/** Runs one case the way the uBPF plugin does: r1 = mem, r2 = its length, helper 5 = unwind. */
function runCase(text: Buffer, engine: Engine): { r0?: bigint; error?: string } {
  const c = parseConformanceData(new Uint8Array(text));
  try {
    const prog = loadProgram(c.raw ?? assembleUbpf(c.asm ?? "", { firstLine: c.asmLine }));
    const vm = new Vm({ maxInsns: 10_000_000, engine });
    vm.registerHelper(5, (call) => {
      const a = call.arg(1);
      if (a === 0n) call.stop(0n);
      return a;
    });
    const args = c.mem.length > 0 ? [vm.memory.map(c.mem.slice()).base, BigInt(c.mem.length)] : [0n, 0n];
    return { r0: vm.run(prog, { args }).r0 };
  } catch (error) {
    if (error instanceof VmError) return { error: error.message };
    throw error;
  }
}

const engines: Engine[] = ["interpreter", "compiled"];

describe.skipIf(skipReason("bpf_conformance suite", [[suite !== undefined, "../shared/fixtures not found"]]))(
  "bpf_conformance",
  () => {
    it("has all 313 cases", () => {
      expect(files.length).toBe(313);
    });

    describe.each(engines)("%s engine", (engine) => {
      it.each(files)("%s", (file) => {
        const text = readFileSync(join(suite as string, file));
        const c = parseConformanceData(new Uint8Array(text));
        const got = runCase(text, engine);
        if (c.error !== undefined) expect(got.error).toBeDefined();
        else {
          expect(got.error).toBeUndefined();
          expect(got.r0?.toString(16)).toBe(c.result?.toString(16));
        }
      });
    });
  },
);
