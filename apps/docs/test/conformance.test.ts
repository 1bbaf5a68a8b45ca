import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Instruction } from "@bpfkit/bpf-isa";
import { assembleUbpf, decode, parseConformanceData } from "@bpfkit/bpf-isa";
import { describe, expect, it } from "vitest";
import { sharedFixtures, skipReason } from "../../../scripts/test-env.js";
import { listing, run } from "../playground/session.js";

const suite = sharedFixtures("bpf_conformance");

/** The playground registers no helpers: cases that call one (directly or through callx) are left out. */
function callsHelper(insns: Instruction[]): boolean {
  return insns.some((i) => (i.code === 0x85 && i.src === 0) || i.code === 0x8d);
}

describe.skipIf(
  skipReason("the playground on bpf_conformance", [[suite !== undefined, "../shared/fixtures not found"]]),
)("the playground's run convention is the bpf_conformance plugin's (r1 = mem, r2 = its length)", () => {
  it("gives every helper-free case its expected r0 or fault", () => {
    const dir = suite as string;
    const failures: string[] = [];
    let ran = 0;
    for (const file of readdirSync(dir).filter((f) => f.endsWith(".data"))) {
      const c = parseConformanceData(new Uint8Array(readFileSync(join(dir, file))));
      const insns = c.raw ? decode(c.raw) : assembleUbpf(c.asm ?? "", { firstLine: c.asmLine });
      if (callsHelper(insns)) continue;
      ran++;
      const out = run(listing(insns), c.mem, { maxInsns: 10_000_000, traceLimit: 100 });
      if (c.error !== undefined) {
        if (out.fault === undefined) failures.push(`${file}: expected a fault, got r0 ${out.r0}`);
      } else if (out.fault !== undefined || out.r0 !== c.result)
        failures.push(`${file}: expected ${c.result}, got ${out.fault?.message ?? out.r0}`);
    }
    expect(failures).toEqual([]);
    expect(ran).toBeGreaterThan(250);
  });
});
