import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasKernelOracle, hasTool, repoRoot, skipReason } from "../../../scripts/test-env.js";
import { main } from "../src/cli.js";
import { decodeOut, mapsLine } from "../src/commands/vmas.js";

const koracle = join(repoRoot, "..", "shared", "tools", "koracle.py");
const liveSkip = skipReason("the built-in program in the live kernel", [
  [hasKernelOracle(), "needs root, bpftool and /sys/kernel/btf/vmlinux"],
  [existsSync(koracle), `${koracle} not found`],
  [hasTool("python3"), "python3 not installed"],
]);

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

async function vmas(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const { io, out, err } = capture();
  const code = await main(["vmas", ...args], io);
  return { code, out: out.join(""), err: err.join("") };
}

/** /proc/PID/maps as `bpfkit vmas` must print it: the gate area is not in the mm's tree. */
function procMaps(pid: number): string {
  return readFileSync(`/proc/${pid}/maps`, "utf8")
    .split("\n")
    .filter((l) => l.length > 0 && !l.endsWith("[vsyscall]"))
    .map((l) => `${l}\n`)
    .join("");
}

async function started(child: ChildProcess, marker: string): Promise<number> {
  const pid = child.pid as number;
  for (let i = 0; i < 200 && !readFileSync(`/proc/${pid}/maps`, "utf8").includes(marker); i++)
    await new Promise((r) => setTimeout(r, 20));
  return pid;
}

describe("bpfkit vmas", () => {
  const children: ChildProcess[] = [];
  let sleepPid = 0;

  beforeAll(async () => {
    const c = spawn("sleep", ["600"], { stdio: "ignore" });
    children.push(c);
    sleepPid = await started(c, "sleep");
  });

  afterAll(() => {
    for (const c of children) c.kill();
  });

  it.each([
    ["snapshot", []],
    ["original", []],
    ["stack", ["--stack-bytes", "112"]],
    ["snapshot", ["--engine", "compiled"]],
    ["original", ["--engine", "compiled"]],
    ["stack", ["--stack-bytes", "112", "--engine", "compiled"]],
  ])(
    "design %s %j: equals /proc/PID/maps of a live process",
    async (design, extra) => {
      const r = await vmas(["--pid", String(sleepPid), "--design", design, ...extra]);
      expect(r.err).toBe("");
      expect(r.code).toBe(0);
      expect(r.out).toBe(procMaps(sleepPid));
    },
    60_000,
  );

  it.skipIf(!hasTool("python3"))(
    "equals /proc/PID/maps of a python process (shared libraries, heap, many VMAs)",
    async () => {
      const c = spawn("python3", ["-c", "import ssl, json, sqlite3, time; time.sleep(600)"], {
        stdio: "ignore",
      });
      children.push(c);
      const pid = await started(c, "libssl");
      await new Promise((r) => setTimeout(r, 200));
      const r = await vmas(["--pid", String(pid)]);
      expect(r.code).toBe(0);
      expect(r.out).toBe(procMaps(pid));
      expect(r.out.split("\n").length).toBeGreaterThan(40);
    },
    60_000,
  );

  it.skipIf(liveSkip)(
    "the built-in program, loaded into the running kernel, prints the same lines (real verifier, real kfuncs)",
    () => {
      const ctx = Buffer.alloc(16);
      ctx.writeUInt32LE(sleepPid, 0);
      const out = execFileSync(
        "python3",
        [
          koracle,
          "--build",
          mkdtempSync(join(tmpdir(), "bpfkit-vmas-")),
          "--ctx-hex",
          ctx.toString("hex"),
          join(repoRoot, "fixtures", "bpf", "task-vmas.bpf.o"),
        ],
        { encoding: "utf8", maxBuffer: 64 << 20 },
      );
      const r = JSON.parse(out.trim().split("\n").at(-1) as string);
      expect(r.verdict).toBe("accept");
      const bss = Object.entries(r.maps as Record<string, Array<{ value: string[] }>>).find(([k]) =>
        k.endsWith("bss"),
      )?.[1][0]?.value as string[];
      const got = decodeOut(new Uint8Array(bss.map((h) => Number.parseInt(h, 16))));
      expect(got.err).toBe(0);
      expect(got.next).toBe(null);
      expect(got.records.map((x) => `${mapsLine(x)}\n`).join("")).toBe(procMaps(sleepPid));
    },
    120_000,
  );

  it("--from ADDR starts at the first VMA with vm_end > ADDR", async () => {
    const lines = procMaps(sleepPid).split("\n");
    const third = lines[2] as string;
    const start = BigInt(`0x${third.split("-")[0]}`);
    const r = await vmas(["--pid", String(sleepPid), "--from", `0x${(start + 1n).toString(16)}`]);
    expect(r.out).toBe(lines.slice(2).join("\n"));
  }, 60_000);

  it("--json adds vm_flags and pgoff", async () => {
    const r = await vmas(["--pid", String(sleepPid), "--json"]);
    const rows = JSON.parse(r.out) as Array<Record<string, string>>;
    expect(rows.length).toBe(procMaps(sleepPid).split("\n").length - 1);
    const stack = rows.find((x) => x.path === "[stack]");
    expect(stack?.vmFlags).toMatch(/^0x[0-9a-f]+$/);
    expect(BigInt(stack?.vmFlags ?? "0") & 0x100n).toBe(0x100n); // VM_GROWSDOWN
    expect(stack?.pgoff).toMatch(/^0x[0-9a-f]+$/);
  }, 60_000);

  it("refuses the on-stack design when its 96-byte budget does not fit the target BTF", async () => {
    const r = await vmas(["--pid", String(sleepPid), "--design", "stack"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/design stack does not fit the target kernel: .* needs \d+ bytes/);
  }, 60_000);

  it("rejects bad options with exit 2 and says in --help that it runs unverified", async () => {
    expect((await vmas(["--design", "heap"])).code).toBe(2);
    expect((await vmas(["--pid", "abc"])).code).toBe(2);
    const engine = await vmas(["--engine", "jit"]);
    expect(engine.code).toBe(2);
    expect(engine.err).toMatch(/--engine jit: expected interpreter or compiled/);
    const { io, out } = capture();
    await main(["vmas", "--help"], io);
    expect(out.join("")).toMatch(/without verification/);
  });

  it("feeds the designs' lock hold time and per-VMA cost into bpfkit lab --json --measure (issue-8 shape)", async () => {
    const { io, out } = capture();
    expect(await main(["lab", "--json", "--measure", "--duration", "0.001", "--vmas", "50"], io)).toBe(0);
    const report = JSON.parse(out.join("")) as { designs: Array<Record<string, unknown>> };
    const ours = report.designs.filter((d) => ["original", "snapshot", "stack"].includes(d.design as string));
    expect(ours.map((d) => d.design)).toEqual(["original", "snapshot", "stack"]);
    for (const d of ours) {
      for (const k of ["stackBytes", "kernDataSize", "sizeClass", "allocFailures", "failureRate", "fits"])
        expect(d).toHaveProperty(k);
      expect(d.lockHoldNs).toBeGreaterThan(0);
      expect(d.perVmaNs).toBeGreaterThan(0);
    }
    expect(ours[0]?.kernDataSize).toBe(112);
    expect(ours[1]?.sizeClass).toBe(512);
  }, 60_000);

  it.skipIf(liveSkip)(
    "bpfkit run of a clang-built task_vma program (walk, search, nest, count) equals the live kernel",
    async () => {
      const object = join(repoRoot, "fixtures", "bpf", "task-vma-modes.bpf.o");
      const third = BigInt(`0x${(procMaps(sleepPid).split("\n")[2] as string).split("-")[0]}`) + 0x10n;
      for (const mode of [0, 1, 2, 3]) {
        const ctx = Buffer.alloc(40);
        ctx.writeUInt32LE(sleepPid, 0);
        ctx.writeUInt32LE(mode, 4);
        ctx.writeBigUInt64LE(mode === 1 ? third : 0n, 8);
        const hex = ctx.toString("hex");
        const out = execFileSync(
          "python3",
          [koracle, "--build", mkdtempSync(join(tmpdir(), "bpfkit-run-")), "--ctx-hex", hex, object],
          { encoding: "utf8", maxBuffer: 64 << 20 },
        );
        const kernel = JSON.parse(out.trim().split("\n").at(-1) as string);
        const { io, out: lines } = capture();
        const code = await main(
          ["run", object, "--prog", "task_vma_modes", "--no-verify", "--ctx-hex", hex, "--json"],
          io,
        );
        expect(code).toBe(0);
        const ours = JSON.parse(lines.join(""));
        expect(ours.retval).toBe(kernel.retval);
        expect(ours.ctxOut).toBe(kernel.ctx_out);
        const bss = (maps: Record<string, Array<{ value: string[] }>>) =>
          Object.entries(maps).find(([k]) => k.endsWith("bss"))?.[1][0]?.value;
        expect(bss(ours.maps)).toEqual(bss(kernel.maps));
      }
    },
    120_000,
  );
});
