import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { release } from "node:os";
import { describe, expect, it } from "vitest";
import { hasTool, skipReason } from "../../../scripts/test-env.js";
import { main } from "../src/cli.js";

async function lab(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(["lab", ...args], { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join(""), err: err.join("") };
}

// Small runs: 50 ms of simulated time keeps each case well under a second.
const QUICK = ["--duration", "0.05", "--sweep", "0,100000", "--bursts", "1,60"];

interface Design {
  design: string;
  available?: boolean;
  stack: { bytesUsed: number; fits: boolean };
  kernData?: { size: number; sizeClass?: number; classIndex?: number; builds?: boolean; slackBytes?: number };
  allocations?: null | {
    task: { attempts: number; enomem: { emptyList: number; reentrant: number } };
    nmi: {
      invocations: number;
      attempts: number;
      ebusyBeforeAllocating?: number;
      enomem?: { emptyList: number; reentrant: number };
    };
  };
  nmiRateSweep?: Array<{
    nmiAttempts: number;
    nmiEnomem: { emptyList: number; reentrant: number };
    taskFailures: number;
    taskAttempts: number;
  }>;
  nmiBurstSweep?: Array<{
    nmiIterators: number;
    nmiEnomem: { emptyList: number; reentrant: number };
    taskFailures: number;
  }>;
}

describe("bpfkit lab (allocator side, task-vma-kfuncs.md §9/§10, mem-alloc.md §13)", () => {
  it("§13: kern_data size and heap class per design on 6.18; the stack design does not build with 88 bytes", async () => {
    const { code, out } = await lab(["--json", ...QUICK]);
    expect(code).toBe(0);
    const report = JSON.parse(out) as { designs: Design[] };
    const [a, b, c] = report.designs;
    expect(a?.kernData).toMatchObject({ size: 112, sizeClass: 128, classIndex: 5, slackBytes: 8 });
    expect(b?.kernData).toMatchObject({ size: 320, sizeClass: 512, classIndex: 7, slackBytes: 184 });
    expect(c?.kernData).toMatchObject({ size: 112, builds: false });
    expect([a?.stack.bytesUsed, b?.stack.bytesUsed, c?.stack.bytesUsed]).toEqual([8, 8, 88]);
    expect(c?.allocations).toBeNull();
  });

  it("§10: heap designs never fail in task context; A fails under NMI bursts past the free count; B refuses NMIs before allocating", async () => {
    const { out } = await lab(["--json", ...QUICK]);
    const [a, b] = (JSON.parse(out) as { designs: Design[] }).designs;
    for (const d of [a, b]) {
      expect(d?.allocations?.task.attempts).toBeGreaterThan(0);
      expect(d?.allocations?.task.enomem).toEqual({ emptyList: 0, reentrant: 0 });
      for (const p of [...(d?.nmiRateSweep ?? []), ...(d?.nmiBurstSweep ?? [])])
        expect(p.taskFailures).toBe(0);
    }
    const burst60 = a?.nmiBurstSweep?.find((p) => p.nmiIterators === 60);
    expect(burst60?.nmiEnomem.emptyList).toBeGreaterThan(0);
    const noNmi = a?.nmiRateSweep?.[0];
    expect(noNmi?.nmiAttempts).toBe(0);
    expect(b?.allocations?.nmi.attempts).toBe(0);
    expect(b?.allocations?.nmi.ebusyBeforeAllocating).toBe(b?.allocations?.nmi.invocations);
  });

  it("§13: other kernels: 6.12 (A 96 B -> 128, B 200 B -> 256), 6.6 (A 88 B -> 96, no snapshot design)", async () => {
    const r612 = JSON.parse(
      (await lab(["--json", "--kernel", "6.12", "--design", "original,snapshot", ...QUICK])).out,
    ) as { designs: Design[] };
    expect(
      r612.designs.map((d) => [d.kernData?.size, d.kernData?.sizeClass, d.kernData?.slackBytes]),
    ).toEqual([
      [96, 128, 24],
      [200, 256, 48],
    ]);
    const r66 = JSON.parse((await lab(["--json", "--kernel", "6.6", ...QUICK])).out) as { designs: Design[] };
    expect(r66.designs[0]?.kernData).toMatchObject({ size: 88, sizeClass: 96, classIndex: 0, slackBytes: 0 });
    expect(r66.designs[1]?.available).toBe(false);
    expect(r66.designs[2]?.kernData).toMatchObject({ size: 88, builds: true });
  });

  it("§9: struct growth: which kernels fit an 88- or 96-byte on-stack budget", async () => {
    const { out } = await lab(["--json", "--design", "stack", "--duration", "0.001"]);
    const growth = (JSON.parse(out) as { structGrowth: Array<Record<string, unknown>> }).structGrowth;
    expect(
      growth.map((g) => [
        g.kernel,
        g.maState,
        g.kernData,
        g.heapClass,
        g.fits88,
        g.spare88,
        g.fits96,
        g.spare96,
      ]),
    ).toEqual([
      ["6.6", 64, 88, 96, true, 0, true, 8],
      ["6.12", 72, 96, 128, false, -8, true, 0],
      ["6.18", 88, 112, 128, false, -24, false, -16],
    ]);
  });

  it("same seed, same numbers; the text form shows the three designs", async () => {
    const one = await lab(["--json", ...QUICK, "--seed", "4"]);
    const two = await lab(["--json", ...QUICK, "--seed", "4"]);
    expect(one.out).toBe(two.out);
    const text = await lab(QUICK);
    expect(text.out).toMatch(/original\s+snapshot\s+stack/);
    expect(text.out).toContain("not modelled");
  });

  it("bad options exit 2", async () => {
    expect((await lab(["--design", "heap"])).code).toBe(2);
    expect((await lab(["--cpus", "0"])).code).toBe(2);
    expect((await lab(["--kernel", "5.10"])).code).toBe(2);
  });
});

const liveSkip = skipReason("lab struct sizes against the running kernel's BTF", [
  [existsSync("/sys/kernel/btf/vmlinux"), "/sys/kernel/btf/vmlinux not readable"],
  [hasTool("bpftool", ["version"]), "bpftool not installed"],
  [release().startsWith("6.18."), `running kernel ${release()} is not 6.18`],
]);

describe.skipIf(liveSkip)("bpfkit lab's 6.18 struct table against the running kernel", () => {
  it("task-vma-kfuncs.md §3.3/§3.2, mem-alloc.md §13: ma_state, vma_iterator and kern_data sizes match the live BTF", async () => {
    const raw = execFileSync("bpftool", ["btf", "dump", "file", "/sys/kernel/btf/vmlinux", "format", "raw"], {
      encoding: "utf8",
      maxBuffer: 1 << 30,
    });
    const size = (name: string) => Number(new RegExp(`STRUCT '${name}' size=(\\d+)`).exec(raw)?.[1]);
    const report = JSON.parse((await lab(["--json", "--kernel", "6.18", "--duration", "0.001"])).out) as {
      designs: Design[];
      structGrowth: Array<{ kernel: string; maState: number; vmaIterator: number; kernData: number }>;
    };
    const row = report.structGrowth.find((g) => g.kernel === "6.18");
    expect(row?.maState).toBe(size("ma_state"));
    expect(row?.vmaIterator).toBe(size("vma_iterator"));
    const snapshot = report.designs.find((d) => d.design === "snapshot");
    expect(snapshot?.kernData?.size).toBe(size("bpf_iter_task_vma_kern_data"));
  });
});
