import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasKernelOracle, hasTool, repoRoot, skipReason } from "../../../scripts/test-env.js";
import { type AddressSpace, buildMm, confirmPgoff, Errno, KernelMmError, VmaIterator } from "../src/index.js";
import { importLive } from "../src/proc.js";

// Compares the /proc import with what the running kernel holds, read by a BPF program
// (fixtures/bpf/mm-walk.bpf.c: bpf_task_from_pid + bpf_iter_task_vma_*) loaded through koracle.
const koracle = join(repoRoot, "..", "shared", "tools", "koracle.py");
const object = join(repoRoot, "fixtures", "bpf", "mm-walk.bpf.o");

const skip = skipReason("live-kernel VMA comparison", [
  [hasKernelOracle(), "needs root, bpftool and /sys/kernel/btf/vmlinux"],
  [existsSync(koracle), `${koracle} not found`],
  [hasTool("python3"), "python3 not installed"],
]);

interface KernelVma {
  start: bigint;
  end: bigint;
  flags: bigint;
  pgoff: bigint;
  lockSeq: number;
  refcnt: number;
}

interface KernelMm {
  err: number;
  mapCount: number;
  maFlags: number;
  mmLockSeq: number;
  maRoot: bigint;
  vmas: KernelVma[];
}

function kernelWalk(pid: number, addr = 0n): KernelMm {
  const ctx = Buffer.alloc(16);
  ctx.writeUInt32LE(pid, 0);
  ctx.writeBigUInt64LE(addr, 8);
  const build = mkdtempSync(join(tmpdir(), "bpfkit-mm-"));
  let out: string;
  try {
    out = execFileSync("python3", [koracle, "--build", build, "--ctx-hex", ctx.toString("hex"), object], {
      encoding: "utf8",
      maxBuffer: 64 << 20,
    });
  } finally {
    rmSync(build, { recursive: true, force: true });
  }
  const result = JSON.parse(out.trim().split("\n").at(-1) as string);
  if (result.verdict !== "accept") throw new Error(`mm-walk rejected: ${JSON.stringify(result.error)}`);
  const bss = Object.entries(result.maps as Record<string, Array<{ value: string[] }>>).find(([k]) =>
    k.endsWith("bss"),
  );
  if (!bss) throw new Error("no .bss map in the oracle output");
  const bytes = Buffer.from((bss[1][0] as { value: string[] }).value.map((h) => Number.parseInt(h, 16)));
  // struct mm_walk_out of fixtures/bpf/mm-walk.bpf.c: a 32-byte header, then 40 bytes per VMA.
  const count = bytes.readUInt32LE(8);
  if (bytes.readUInt32LE(12) !== 0) throw new Error("mm-walk truncated the VMA list");
  const vmas: KernelVma[] = [];
  for (let i = 0; i < count; i++) {
    const at = 32 + 40 * i;
    vmas.push({
      start: bytes.readBigUInt64LE(at),
      end: bytes.readBigUInt64LE(at + 8),
      flags: bytes.readBigUInt64LE(at + 16),
      pgoff: bytes.readBigUInt64LE(at + 24),
      lockSeq: bytes.readUInt32LE(at + 32),
      refcnt: bytes.readInt32LE(at + 36),
    });
  }
  return {
    err: bytes.readInt32LE(0),
    mapCount: bytes.readInt32LE(4),
    maFlags: bytes.readUInt32LE(16),
    mmLockSeq: bytes.readUInt32LE(20),
    maRoot: bytes.readBigUInt64LE(24),
    vmas,
  };
}

/** A process whose smaps we may read and that has an address space (not a kernel thread). */
function readable(p: number): boolean {
  try {
    return readFileSync(`/proc/${p}/smaps`, "utf8").length > 0;
  } catch {
    return false;
  }
}

/** Processes that remap memory all the time (JITs, compilers, this test suite) make poor references. */
function busy(p: number): boolean {
  try {
    return /node|esbuild|vitest|tsx|python|clang|bpftool|turbo|pnpm/.test(
      readFileSync(`/proc/${p}/comm`, "utf8"),
    );
  } catch {
    return true;
  }
}

const hex = (v: bigint) => `0x${v.toString(16)}`;
type VmaFields = Pick<KernelVma, "start" | "end" | "flags" | "pgoff">;
const show = (v: VmaFields) => `${hex(v.start)}-${hex(v.end)} flags ${hex(v.flags)} pgoff ${hex(v.pgoff)}`;

function compare(pid: number): { space: AddressSpace; kernel: KernelMm } {
  // A process may change between the two reads: retry a few times before calling it a mismatch.
  let last: { space: AddressSpace; kernel: KernelMm } | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const space = importLive(pid);
    const kernel = kernelWalk(pid);
    last = { space, kernel };
    const mine = space.vmas.map(show).join("\n");
    if (mine === kernel.vmas.map(show).join("\n")) return last;
  }
  return last as { space: AddressSpace; kernel: KernelMm };
}

describe.skipIf(skip)("import vs the live kernel (BPF task_vma iterator)", () => {
  let target: ChildProcess;
  let pid = 0;
  let moved = 0n;
  let movedFrom = 0n;
  beforeAll(async () => {
    target = spawn("python3", [join(__dirname, "fixtures", "make-mappings.py")], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    pid = target.pid as number;
    await new Promise<void>((resolve, reject) => {
      target.stdout?.on("data", (d: Buffer) => {
        const m = /ready ([0-9a-f]+) ([0-9a-f]+)/.exec(d.toString());
        if (m) {
          moved = BigInt(`0x${m[1]}`);
          movedFrom = BigInt(`0x${m[2]}`);
          resolve();
        }
      });
      target.on("exit", (code) => reject(new Error(`mapping helper exited with ${code}`)));
    });
  });
  afterAll(() => {
    target?.stdin?.end();
    target?.kill();
  });

  it("vm_start, vm_end, vm_flags and vm_pgoff equal the kernel's for a process with many mapping kinds", () => {
    const space = importLive(pid);
    const kernel = kernelWalk(pid);
    expect(kernel.err).toBe(0);
    expect(kernel.mapCount).toBe(space.vmas.length);
    expect(buildMm(space).mapCount).toBe(kernel.mapCount);
    expect(space.vmas.length).toBeGreaterThan(30);
    // Everything is equal except the faulted-then-mremapped anonymous VMA, whose pgoff the kernel
    // keeps from its old address: /proc cannot show it, the import marks it inferred (spec 6.3).
    const differ = space.vmas.filter((v, i) => show(v) !== show(kernel.vmas[i] as KernelVma));
    expect(differ.map((v) => [hex(v.start), v.pgoffSource])).toEqual([[hex(moved), "anon-inferred"]]);
    const k = kernel.vmas.find((v) => v.start === moved) as KernelVma;
    expect(k.pgoff).toBe(movedFrom >> 12n);
    // With the oracle's answer applied, the whole address space matches.
    expect(confirmPgoff(space, kernel.vmas)).toBe(1);
    expect(space.vmas.map(show)).toEqual(kernel.vmas.map(show));
    expect(space.vmas.find((v) => v.start === moved)?.pgoffSource).toBe("oracle");
  });

  it("matches the kernel for processes outside the repository (sleep and others running here)", () => {
    const sleeper = spawn("sleep", ["100"]);
    try {
      execFileSync("sleep", ["0.2"]);
      const others = readdirSync("/proc")
        .filter((d) => /^\d+$/.test(d))
        .map(Number)
        .filter((p) => p !== process.pid && p !== pid && readable(p) && !busy(p))
        .slice(0, 4);
      let compared = 0;
      let mremapped = 0;
      for (const p of [sleeper.pid as number, ...others]) {
        let result: ReturnType<typeof compare>;
        try {
          result = compare(p);
        } catch (e) {
          // A process that exited between the listing and the reads is not a mismatch.
          const gone =
            (e instanceof KernelMmError && e.errno === Errno.ENOENT) ||
            (e as NodeJS.ErrnoException).code === "ENOENT" ||
            (e as NodeJS.ErrnoException).code === "ESRCH";
          if (gone) continue;
          throw e;
        }
        const { space, kernel } = result;
        if (kernel.err !== 0) continue;
        const noPgoff = (v: VmaFields) => `${hex(v.start)}-${hex(v.end)} flags ${hex(v.flags)}`;
        expect(space.vmas.map(noPgoff), `pid ${p}`).toEqual(kernel.vmas.map(noPgoff));
        // pgoff must match everywhere except anonymous VMAs that mremap moved after a fault.
        space.vmas.forEach((v, i) => {
          const k = kernel.vmas[i] as KernelVma;
          if (v.pgoff === k.pgoff) return;
          expect(v.pgoffSource, `pid ${p} ${show(k)}`).toBe("anon-inferred");
          mremapped++;
        });
        compared++;
      }
      if (mremapped > 0) console.log(`${mremapped} moved anonymous VMAs with a kept pgoff (spec 6.3)`);
      expect(compared).toBeGreaterThanOrEqual(1);
    } finally {
      sleeper.kill();
    }
  });

  it("tree flags, mm_lock_seq and per-VMA lock words follow spec 7.6/7.7, in the kernel and in the model", () => {
    const kernel = kernelWalk(pid);
    const mm = buildMm(importLive(pid));
    // ma_flags: MM_MT_FLAGS plus the height; an arange_64 root (low byte 0x1e) once height >= 2.
    expect(kernel.maFlags & ~0x7c).toBe(0x303);
    expect(mm.mmMt.flags & ~0x7c).toBe(0x303);
    const liveHeight = (kernel.maFlags >> 2) & 0x1f;
    expect(liveHeight).toBeGreaterThanOrEqual(2);
    expect(Number(kernel.maRoot & 0xffn)).toBe(0x1e);
    expect(mm.mmMt.height).toBeGreaterThanOrEqual(2);
    expect(mm.mmMt.height).toBeLessThanOrEqual(liveHeight);
    // Idle process: mm_lock_seq even, every vm_lock_seq odd and below it.
    expect(kernel.mmLockSeq % 2).toBe(0);
    for (const v of kernel.vmas) {
      expect(v.lockSeq % 2).toBe(1);
      expect(v.lockSeq).toBeLessThan(kernel.mmLockSeq);
      // The 6.18 kfunc returns a snapshot copied while it held the VMA's read lock: attached (1)
      // plus that reader (1). The seq-file iterator, which holds mmap_lock instead, reads 1.
      expect(v.refcnt).toBe(2);
    }
    expect(mm.mmLockSeq % 2).toBe(0);
    for (const v of mm.vmas()) {
      expect(v.vmRefcnt).toBe(1);
      expect(v.vmLockSeq % 2).toBe(1);
      expect(v.vmLockSeq).toBeLessThan(mm.mmLockSeq);
    }
  });

  it("a kernel thread (pid 2) has no mm: empty import, bpf_iter_task_vma_new returns -ENOENT", () => {
    expect(importLive(2).vmas).toEqual([]);
    const kernel = kernelWalk(2);
    expect(kernel.err).toBe(-2);
    expect(kernel.vmas).toEqual([]);
  });

  it("vma_iter_init(addr) + for_each_vma starts where bpf_iter_task_vma_new(addr) does", () => {
    const space = importLive(pid);
    const mm = buildMm(space);
    const vmas = space.vmas;
    const k = Math.floor(vmas.length / 2);
    const mid = vmas[k] as (typeof vmas)[number];
    let gap = 0n;
    for (let i = 1; i < vmas.length; i++) {
      const a = vmas[i - 1] as (typeof vmas)[number];
      const b = vmas[i] as (typeof vmas)[number];
      if (b.start > a.end) {
        gap = a.end + 0x10n;
        break;
      }
    }
    const lastVma = vmas.at(-1) as (typeof vmas)[number];
    for (const addr of [0n, mid.start + 0x10n, mid.end, gap, lastVma.end + 0x1000n]) {
      const kernel = kernelWalk(pid, addr).vmas.map((v) => hex(v.start));
      const model = [...new VmaIterator(mm.mmMt, addr)].map((v) => hex(v.vmStart));
      expect(model, `start at ${hex(addr)}`).toEqual(kernel);
    }
  });
});

describe.skipIf(skipReason("PROCMAP_QUERY comparison", [[hasTool("python3"), "python3 not installed"]]))(
  "find_vma and vma_lookup vs the kernel's PROCMAP_QUERY ioctl (spec 7.4)",
  () => {
    it("agree for random, gap, vm_end, zero and vsyscall addresses", () => {
      const sleeper = spawn("sleep", ["30"]);
      try {
        execFileSync("sleep", ["0.2"]);
        const pid = sleeper.pid as number;
        const mm = buildMm(importLive(pid));
        const vmas = mm.vmas();
        const addrs = new Set<bigint>([0n, 0xffffffffff600000n, 0x10000n]);
        for (const v of vmas) {
          addrs.add(v.vmEnd);
          addrs.add(v.vmStart);
          addrs.add(v.vmEnd - 1n);
        }
        let seed = 7;
        const lo = (vmas[0] as (typeof vmas)[number]).vmStart;
        const span = (vmas.at(-1) as (typeof vmas)[number]).vmEnd - lo;
        for (let i = 0; i < 50; i++) {
          seed = (seed * 1103515245 + 12345) >>> 0;
          addrs.add(lo + (span * BigInt(seed)) / 2n ** 32n);
        }
        const list = [...addrs].map((a) => `0x${a.toString(16)}`);
        const out = JSON.parse(
          execFileSync("python3", [join(__dirname, "fixtures", "procmap-query.py"), String(pid), ...list], {
            encoding: "utf8",
          }),
        ) as Record<string, { next: number | string[]; covering: number | string[] }>;
        const asKernel = (v: { vmStart: bigint; vmEnd: bigint } | null) =>
          v ? [String(v.vmStart), String(v.vmEnd)] : -2;
        for (const a of list) {
          const addr = BigInt(a);
          expect(asKernel(mm.findVma(addr)), `find_vma ${a}`).toEqual(out[a]?.next);
          expect(asKernel(mm.vmaLookup(addr)), `vma_lookup ${a}`).toEqual(out[a]?.covering);
        }
      } finally {
        sleeper.kill();
      }
    });
  },
);
