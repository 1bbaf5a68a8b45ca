import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../src/cli.js";

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

const dir = mkdtempSync(join(tmpdir(), "bpfkit-run-"));
const snapshot = join(dir, "snap.json");
writeFileSync(snapshot, JSON.stringify({ tasks: [{ pid: 1, tgid: 1, comm: "init" }] }));

describe("bpfkit run", () => {
  it("refuses bad options with exit 2 naming the option", async () => {
    for (const [args, msg] of [
      [["--ctx-hex", "xyz"], /--ctx-hex xyz: expected hex bytes/],
      [["--data-hex", "abc"], /--data-hex abc: expected hex bytes/],
      [["--repeat", "0"], /--repeat 0: expected a positive integer/],
      [["--pid", "-4"], /--pid -4: expected a process id/],
      [["--engine", "jit"], /--engine jit: expected interpreter or compiled/],
      [["--pid", "77", "--snapshot", snapshot], /--pid 77: no such task/],
    ] as const) {
      const { io, err } = capture();
      expect(await main(["run", "x.o", "--prog", "p", ...args], io)).toBe(2);
      expect(err.join("")).toMatch(msg);
    }
  });

  it("a malformed snapshot file is bad input", async () => {
    const bad = join(dir, "bad.json");
    writeFileSync(bad, "{}");
    const { io, err } = capture();
    expect(await main(["run", "x.o", "--prog", "p", "--snapshot", bad], io)).toBe(2);
    expect(err.join("")).toMatch(/bad.json: expected an object with a "tasks" array/);
  });

  it("runs a clang object end to end: loader, runtime, bpftool-shaped map dumps", async () => {
    const { io, out, err } = capture();
    const obj = join(import.meta.dirname, "..", "..", "..", "fixtures", "bpf", "runtime-maps.bpf.o");
    // struct args { u32 n = 12, stop = 9; u64 loop_sum, iter_sum; s32 noexist; u32 calls; }
    const ctx = `0c000000${"09000000"}${"00".repeat(24)}`;
    const code = await main(
      ["run", obj, "--prog", "exercise", "--ctx-hex", ctx, "--snapshot", snapshot, "--no-verify", "--json"],
      io,
    );
    expect(err.join("")).toBe("");
    expect(code).toBe(0);
    const report = JSON.parse(out.join(""));
    // 0+..+11 = 66 plus the .rodata offset 10; the values agree with BPF_PROG_TEST_RUN (clang-parity test).
    expect(report.retval).toBe(76);
    expect(report.ctxOut.slice(48, 56)).toBe("efffffff");
    expect(report.maps.buckets[0].formatted).toEqual({ key: 0, value: 42 });
    expect(report.maps["runtime_.rodata"][0].formatted).toEqual({ value: { ".rodata": [{ offset: 10 }] } });
    expect(report.stats.insns).toBeGreaterThan(100);
    // The compiled engine gives the same report: r0, context, maps and instruction counts.
    const compiled = capture();
    const args = ["run", obj, "--prog", "exercise", "--ctx-hex", ctx, "--snapshot", snapshot, "--no-verify"];
    expect(await main([...args, "--json", "--engine", "compiled"], compiled.io)).toBe(0);
    const again = JSON.parse(compiled.out.join(""));
    const timeless = (r: { stats: Record<string, unknown> }) => ({
      ...r,
      stats: { ...r.stats, nsPerRun: 0, runs: { ...(r.stats.runs as object), wallNs: 0 } },
    });
    expect(timeless(again)).toEqual(timeless(report));
  });

  it("refuses to run unverified programs unless --no-verify is given (no verifier yet)", async () => {
    const { io, err } = capture();
    const obj = join(import.meta.dirname, "..", "..", "..", "fixtures", "bpf", "runtime-maps.bpf.o");
    expect(await main(["run", obj, "--prog", "exercise", "--snapshot", snapshot], io)).toBe(2);
    expect(err.join("")).toMatch(/the verifier has not landed yet; pass --no-verify/);
  });

  it("reads a task iterator once per task of the snapshot (clang iter/task fixture)", async () => {
    const { io, out, err } = capture();
    const snap = join(dir, "tasks.json");
    writeFileSync(
      snap,
      JSON.stringify({
        tasks: [
          { pid: 42, tgid: 42, comm: "server" },
          { pid: 1, tgid: 1, comm: "init" },
          { pid: 43, tgid: 42, comm: "worker" },
        ],
      }),
    );
    const obj = join(import.meta.dirname, "..", "..", "..", "fixtures", "bpf", "runtime-iter.bpf.o");
    expect(await main(["run", obj, "--prog", "dump_tasks", "--snapshot", snap, "--no-verify"], io)).toBe(0);
    expect(err.join("")).toBe("");
    expect(out.join("")).toBe("pid tgid comm\n1 1 init\n42 42 server\n43 42 worker\n");
  });

  it("names the programs an object has when --prog matches none", async () => {
    const { io, err } = capture();
    const obj = join(import.meta.dirname, "..", "..", "..", "fixtures", "bpf", "runtime-maps.bpf.o");
    expect(await main(["run", obj, "--prog", "nope", "--snapshot", snapshot, "--no-verify"], io)).toBe(2);
    expect(err.join("")).toMatch(/no program named nope \(have: exercise\)/);
  });
});
