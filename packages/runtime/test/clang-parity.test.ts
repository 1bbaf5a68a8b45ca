import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseBtf } from "@bpfkit/btf";
import { loadObject, openObject } from "@bpfkit/object";
import { describe, expect, it } from "vitest";
import { hasKernelOracle, hasTool, repoRoot, skipReason } from "../../../scripts/test-env.js";
import { createRuntime, dumpJson, dumpMap, instantiate } from "../src/index.js";
import { imageFromObject } from "../src/object-image.js";

/**
 * clang-built fixtures run end to end (loader, runtime) and in the live kernel through
 * koracle.py (bpftool prog load + BPF_PROG_TEST_RUN): retval, ctx out and every map's dump (hash
 * maps as sets; `formatted` included) must agree.
 */
const koracle = join(repoRoot, "..", "shared", "tools", "koracle.py");
const u32le = (...n: number[]): Uint8Array => new Uint8Array(new Uint32Array(n).buffer);

const CASES = [
  // struct args { u32 n, stop; u64 loop_sum, iter_sum; s32 noexist; u32 calls; }
  {
    fixture: "runtime-maps",
    prog: "exercise",
    ctx: new Uint8Array([...u32le(12, 9), ...new Uint8Array(24)]),
  },
  {
    fixture: "runtime-maps",
    prog: "exercise",
    ctx: new Uint8Array([...u32le(5, 100), ...new Uint8Array(24)]),
  },
  { fixture: "runtime-maps", prog: "exercise", ctx: new Uint8Array([...u32le(0, 0), ...new Uint8Array(24)]) },
  // struct out { u32 n, count; u64 sum; u32 popped; s32 push_err, pop_err, cmp; char text[32]; }
  { fixture: "runtime-helpers", prog: "helpers", ctx: new Uint8Array([...u32le(6), ...new Uint8Array(68)]) },
  { fixture: "runtime-helpers", prog: "helpers", ctx: new Uint8Array([...u32le(2), ...new Uint8Array(68)]) },
  { fixture: "runtime-helpers", prog: "helpers", ctx: new Uint8Array([...u32le(0), ...new Uint8Array(68)]) },
];

describe.skipIf(
  skipReason("clang fixtures vs the live kernel", [
    [hasKernelOracle(), "needs root, bpf() and bpftool"],
    [hasTool("clang-19"), "clang-19 not installed"],
  ]),
)("clang fixtures: runtime vs the live kernel under BPF_PROG_TEST_RUN", () => {
  const btf = hasKernelOracle()
    ? parseBtf(new Uint8Array(readFileSync("/sys/kernel/btf/vmlinux")))
    : undefined;
  for (const c of CASES) {
    it(`${c.fixture} ${c.prog} ctx ${Buffer.from(c.ctx.subarray(0, 8)).toString("hex")}`, () => {
      const obj = join(repoRoot, "fixtures", "bpf", `${c.fixture}.bpf.o`);
      const hex = Buffer.from(c.ctx).toString("hex");
      const live = JSON.parse(
        execFileSync("python3", [koracle, "--ctx-hex", hex, obj], { encoding: "utf8" })
          .trim()
          .split("\n")
          .pop()!,
      ) as { verdict: string; retval: number; ctx_out: string; maps: Record<string, unknown[]> };
      expect(live.verdict).toBe("accept");

      const bytes = new Uint8Array(readFileSync(obj));
      const loaded = loadObject(openObject(bytes, { fileName: `${c.fixture}.bpf.o` }), { kernelBtf: btf });
      const rt = createRuntime({ btf });
      const { programs } = instantiate(rt, imageFromObject(loaded));
      const out = rt.run(programs.get(c.prog)!, { ctx: c.ctx });
      expect(out.retval).toBe(live.retval);
      expect(Buffer.from(out.ctxOut!).toString("hex")).toBe(live.ctx_out);
      // bpftool pins a map under its name with '.' turned into '_'.
      const asSet = (entries: unknown[]) => entries.map((e) => JSON.stringify(e)).sort();
      const ours = Object.fromEntries(
        rt.maps.map((m) => [m.name.replaceAll(".", "_"), asSet(JSON.parse(dumpJson(dumpMap(m))))]),
      );
      const theirs = Object.fromEntries(Object.entries(live.maps).map(([k, v]) => [k, asSet(v)]));
      // koracle leaves out maps bpftool cannot walk (queue, stack); those dump as [] here.
      for (const name of Object.keys(ours))
        if (!(name in theirs)) expect([name, ours[name]]).toEqual([name, []]);
      expect(Object.fromEntries(Object.entries(ours).filter(([k]) => k in theirs))).toEqual(theirs);
    });
  }
});
