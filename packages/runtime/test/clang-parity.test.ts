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

/** An Ethernet + IPv4 + UDP frame (checksums left 0: XDP does not check them). */
function udpFrame(proto: number, dport: number, payload: number): Uint8Array {
  const f = new Uint8Array(14 + 20 + 8 + payload);
  f.set([1, 2, 3, 4, 5, 6, 0xa, 0xb, 0xc, 0xd, 0xe, 0xf, 0x08, 0x00]);
  f.set([0x45, 0, 0, 28 + payload, 0, 0, 0, 0, 64, proto], 14);
  f.set([0x30, 0x39, dport >> 8, dport & 0xff], 34);
  return f;
}

describe.skipIf(
  skipReason("clang XDP fixture vs the live kernel", [[hasKernelOracle(), "needs root, bpf() and bpftool"]]),
)("clang XDP fixture: runtime vs the live kernel (same relocated code, raw BPF_PROG_LOAD)", () => {
  const btf = hasKernelOracle()
    ? parseBtf(new Uint8Array(readFileSync("/sys/kernel/btf/vmlinux")))
    : undefined;
  const packets: [string, Uint8Array][] = [
    ["udp to the echo port", udpFrame(17, 7, 6)],
    ["udp elsewhere", udpFrame(17, 53, 6)],
    ["tcp", udpFrame(6, 7, 6)],
    ["truncated ip", udpFrame(17, 7, 0).subarray(0, 20)],
    ["runt", new Uint8Array(10)],
    ["arp", new Uint8Array([...udpFrame(17, 7, 0).subarray(0, 12), 0x08, 0x06, ...new Uint8Array(28)])],
  ];
  for (const [what, frame] of packets) {
    it(what, () => {
      const bytes = new Uint8Array(readFileSync(join(repoRoot, "fixtures", "bpf", "runtime-xdp.bpf.o")));
      const loaded = loadObject(openObject(bytes, { fileName: "runtime-xdp.bpf.o" }), { kernelBtf: btf });
      const prog = loaded.programs.find((p) => p.name === "xdp_echo")!;
      const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
      const [live] = JSON.parse(
        execFileSync("python3", [join(import.meta.dirname, "kernel", "prog-run.py")], {
          input: JSON.stringify([
            {
              type: "xdp",
              insns: hex(prog.insns),
              ctx: null,
              data: hex(frame),
              maps: loaded.maps.map((m) => ({
                name: m.name,
                type: m.type,
                key: m.keySize,
                value: m.valueSize,
                max: m.maxEntries,
                flags: m.flags,
                freeze: m.readonly,
                init: m.initial ? [["00000000", hex(m.initial)]] : [],
              })),
            },
          ]),
          encoding: "utf8",
        }),
      ) as {
        error?: string;
        test_run_errno?: number;
        retval: number;
        data_out: string;
        maps: Record<string, [string, string][]>;
      }[];
      expect(live?.error).toBeUndefined();
      const rt = createRuntime({ btf });
      const { programs } = instantiate(rt, imageFromObject(loaded));
      if (live?.test_run_errno !== undefined) {
        // The kernel refuses the run itself (a frame shorter than an Ethernet header): so do we.
        expect(() => rt.run(programs.get("xdp_echo")!, { data: frame })).toThrow(
          expect.objectContaining({ errno: live.test_run_errno }),
        );
        return;
      }
      const out = rt.run(programs.get("xdp_echo")!, { data: frame });
      expect(out.retval).toBe(live!.retval);
      expect(hex(out.dataOut!)).toBe(live!.data_out);
      for (const m of rt.maps) {
        const ours = m.entries().map((e) => [hex(e.key), hex(e.value!)]);
        expect([m.name, ours]).toEqual([m.name, live!.maps[m.name]]);
      }
    });
  }
});
