import { describe, expect, it } from "vitest";
import type { SimConfig, TraceEvent, WorkloadSpec } from "../src/index.js";
import { MemAllocError, Prng, Simulator, simulate } from "../src/index.js";

const MS = 1_000_000;

function once(
  name: string,
  context: WorkloadSpec["context"],
  at: number,
  allocs: number[],
  holdNs = 0,
  cpus = [0],
): WorkloadSpec {
  return { name, context, at: [at], cpus, program: { allocs, holdNs } };
}

function starts(trace: TraceEvent[] | undefined, workload: string): TraceEvent | undefined {
  return trace?.find((e) => e.event === "start" && e.workload === workload);
}

function ends(trace: TraceEvent[] | undefined, workload: string): TraceEvent | undefined {
  return trace?.find((e) => e.event === "end" && e.workload === workload);
}

describe("mem-alloc §15 simulator: PRNG and event queue", () => {
  it("§15: the PRNG is seeded and reproducible, and streams differ", () => {
    const draw = (seed: number | string, stream = 0) => {
      const p = new Prng(seed, stream);
      return Array.from({ length: 5 }, () => p.nextU32());
    };
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
    expect(draw(42, 1)).not.toEqual(draw(42, 2));
    expect(draw("lab")).toEqual(draw("lab"));
    const p = new Prng(1);
    const gaps = Array.from({ length: 20_000 }, () => p.exponential(2));
    const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    expect(mean).toBeGreaterThan(0.48);
    expect(mean).toBeLessThan(0.52);
  });

  it("§15: the same configuration and seed give identical results; another seed differs", () => {
    const config: SimConfig = {
      cpus: 2,
      durationNs: 20 * MS,
      seed: 9,
      workloads: [
        { context: "task", ratePerSec: 50_000, program: { allocs: [80, 300], holdNs: 2000 } },
        { context: "nmi", ratePerSec: 20_000, program: { allocs: [80] } },
      ],
    };
    const a = simulate(config);
    const b = simulate(config);
    expect(a).toEqual(b);
    expect(simulate({ ...config, seed: 10 }).workloads).not.toEqual(a.workloads);
  });

  it("§15.3: bad parameters are a MemAllocError naming the parameter", () => {
    expect(() => new Simulator({ cpus: 0, durationNs: 1, workloads: [] })).toThrow(MemAllocError);
    expect(() =>
      simulate({
        cpus: 1,
        durationNs: 1,
        workloads: [{ context: "task", cpus: [3], program: { allocs: [] } }],
      }),
    ).toThrow(/cpu 3/);
    expect(() => simulate({ cpus: 1, durationNs: 1, slabFailProbability: 2, workloads: [] })).toThrow(
      /probability/,
    );
  });
});

describe("mem-alloc §15.1 context nesting", () => {
  const run = (workloads: WorkloadSpec[]) =>
    simulate({ cpus: 1, durationNs: MS, trace: true, workloads }).trace;

  it("an NMI interrupts a hard IRQ at once (depth 2)", () => {
    const trace = run([once("irq", "hardirq", 0, [], 10_000), once("nmi", "nmi", 5000, [])]);
    expect(starts(trace, "nmi")).toMatchObject({ time: 5000, depth: 2 });
    expect(ends(trace, "irq")?.time).toBe(10_000);
  });

  it("a hard IRQ interrupts task and softirq code with interrupts on, but waits for an NMI or an irqs-off region", () => {
    expect(
      starts(run([once("t", "task", 0, [], 10_000), once("irq", "hardirq", 100, [])]), "irq"),
    ).toMatchObject({ time: 100, depth: 2 });
    expect(
      starts(run([once("s", "softirq", 0, [], 10_000), once("irq", "hardirq", 100, [])]), "irq"),
    ).toMatchObject({ time: 100, depth: 2 });
    expect(
      starts(run([once("n", "nmi", 0, [], 10_000), once("irq", "hardirq", 100, [])]), "irq"),
    ).toMatchObject({ time: 10_000, depth: 1 });
    expect(
      starts(run([once("x", "irqsoff", 0, [], 10_000), once("irq", "hardirq", 100, [])]), "irq"),
    ).toMatchObject({ time: 10_000, depth: 1 });
  });

  it("a softirq interrupts task code, waits for a hard IRQ, and does not nest in another softirq", () => {
    expect(starts(run([once("t", "task", 0, [], 10_000), once("s", "softirq", 100, [])]), "s")).toMatchObject(
      { time: 100, depth: 2 },
    );
    expect(
      starts(run([once("irq", "hardirq", 0, [], 10_000), once("s", "softirq", 100, [])]), "s"),
    ).toMatchObject({ time: 10_000 });
    expect(
      starts(run([once("s1", "softirq", 0, [], 10_000), once("s2", "softirq", 100, [])]), "s2"),
    ).toMatchObject({ time: 10_000, depth: 1 });
  });

  it("task-level invocations queue behind each other; an allocator section masks a hard IRQ until it ends", () => {
    expect(starts(run([once("t1", "task", 0, [], 10_000), once("t2", "task", 100, [])]), "t2")).toMatchObject(
      { time: 10_000, depth: 1 },
    );
    const trace = simulate({
      cpus: 1,
      durationNs: MS,
      activeWindowNs: 1000,
      trace: true,
      workloads: [once("t", "task", 0, [80]), once("irq", "hardirq", 10, [])],
    }).trace;
    // Masked until the section ends at 1000; the refill irq_work raised inside the section goes first.
    const work = trace?.find((e) => e.kind === "irq_work" && e.event === "start");
    const workEnd = trace?.find((e) => e.kind === "irq_work" && e.event === "end");
    expect(work?.time).toBe(1000);
    expect(starts(trace, "irq")?.time).toBe(workEnd?.time);
  });

  it("an NMI during an NMI is latched (one) and runs after it; a further one is dropped", () => {
    const r = simulate({
      cpus: 1,
      durationNs: MS,
      trace: true,
      workloads: [once("n1", "nmi", 0, [], 10_000), once("n2", "nmi", 100, []), once("n3", "nmi", 200, [])],
    });
    expect(starts(r.trace, "n2")).toMatchObject({ time: 10_000, depth: 1 });
    expect(starts(r.trace, "n3")).toBeUndefined();
    expect(r.workloads[2]?.droppedNmis).toBe(1);
  });
});

describe("mem-alloc §15 allocator behaviour in the simulator", () => {
  it("§14 / §15.5 #1 in time: three IPI runs of 20 class-4096 allocations on a fresh CPU get 1, 4, 4", () => {
    const runs = [0, 1, 2].map((i) => once(`ipi${i}`, "irqsoff", i * 100_000, Array(20).fill(2400), 0, [1]));
    expect(simulate({ cpus: 2, durationNs: MS, workloads: runs }).workloads.map((w) => w.allocOk)).toEqual([
      1, 4, 4,
    ]);
  });

  it("§14: task context gets 20/20/20 and a following IPI run on that CPU gets 4", () => {
    const runs = [0, 1, 2].map((i) => once(`task${i}`, "task", i * 100_000, Array(20).fill(2400)));
    runs.push(once("ipi", "irqsoff", 400_000, Array(20).fill(2400)));
    expect(simulate({ cpus: 1, durationNs: MS, workloads: runs }).workloads.map((w) => w.allocOk)).toEqual([
      20, 20, 20, 4,
    ]);
  });

  it("§10 / §15.5 #3: an NMI landing in a same-class section fails although objects are free; another class succeeds", () => {
    const r = simulate({
      cpus: 1,
      durationNs: MS,
      activeWindowNs: 1000,
      workloads: [
        once("task", "task", 0, [80]),
        once("nmi96", "nmi", 500, [80]),
        once("nmi128", "nmi", 600, [100]),
      ],
    });
    expect(r.workloads[1]?.failures.reentrant).toBe(1);
    expect(r.workloads[2]?.allocOk).toBe(1);
    expect(r.workloads[0]?.allocOk).toBe(1); // the interrupted allocation itself succeeds
  });

  it("§15.4: NMI collision probability ≈ same-class operations per second × window length", () => {
    // 100k task invocations/s, each one allocation and one free of class 96: 2 × 1e5 × 100 ns = 2 %.
    const r = simulate({
      cpus: 1,
      durationNs: 500 * MS,
      seed: 3,
      activeWindowNs: 100,
      workloads: [
        { name: "task", context: "task", ratePerSec: 100_000, program: { allocs: [80], holdNs: 1000 } },
        { name: "nmi", context: "nmi", ratePerSec: 20_000, program: { allocs: [80] } },
      ],
    });
    const nmi = r.workloads[1];
    const rate = (nmi?.failures.reentrant ?? 0) / (nmi?.allocs ?? 1);
    expect(rate).toBeGreaterThan(0.016);
    expect(rate).toBeLessThan(0.024);
    expect(nmi?.failures.empty).toBe(0);
    expect(r.workloads[0]?.failedInvocations).toBe(0);
  });

  it("§15.4: irqs-on callers at normal rates never fail", () => {
    const r = simulate({
      cpus: 2,
      durationNs: 200 * MS,
      seed: 5,
      workloads: [
        { context: "task", ratePerSec: 20_000, program: { allocs: [312, 312, 100], holdNs: 20_000 } },
        { context: "softirq", ratePerSec: 5_000, program: { allocs: [312], holdNs: 5_000 } },
      ],
    });
    for (const w of r.workloads) {
      expect(w.allocs).toBeGreaterThan(0);
      expect(w.failedInvocations).toBe(0);
    }
  });

  it("§15.4: an irqs-off burst fails for every allocation past the free count F (F = prefill on a fresh CPU)", () => {
    const r = simulate({
      cpus: 1,
      durationNs: MS,
      workloads: [once("burst", "hardirq", 0, Array(10).fill(100))],
    });
    expect(r.workloads[0]).toMatchObject({ allocOk: 4, failures: { empty: 6, reentrant: 0, noClass: 0 } });
  });

  it("§8.1 refill timing: 6.12+ runs the refill at the restore; 2023 one IPI latency later; tick mode at the next tick; RT after the thread wakes", () => {
    const base: SimConfig = {
      cpus: 1,
      durationNs: 10 * MS,
      irqWorkLatencyNs: 700,
      workloads: [once("t", "task", 1_000_000, [80])],
    };
    expect(simulate({ ...base, profile: "6.18" }).irqWork).toMatchObject({ runs: 1, maxDelayNs: 0 });
    expect(simulate({ ...base, profile: "2023" }).irqWork).toMatchObject({ runs: 1, maxDelayNs: 700 });
    expect(simulate({ ...base, irqWork: "tick", tickNs: 4 * MS }).irqWork.maxDelayNs).toBeCloseTo(
      3 * MS - 30,
      6,
    );
    expect(simulate({ ...base, irqWork: "rt" }).irqWork.maxDelayNs).toBe(700);
  });

  it("§8.1: a refill queued in a hard IRQ runs when the handler ends", () => {
    const r = simulate({ cpus: 1, durationNs: MS, workloads: [once("irq", "hardirq", 0, [100], 5000)] });
    expect(r.irqWork.runs).toBe(1);
    expect(r.irqWork.maxDelayNs).toBe(5000 + 30); // queued at the end of the allocation (30), run after the free (5060)
  });

  it("§12: on the 2023 order an irqs-on task can find the list empty before the IPI lands; on 6.12+ it cannot", () => {
    // Six class-4096 allocations in a row: prefill 1, low 2, batch 3.
    const run = (profile: "2023" | "6.18") =>
      simulate({
        cpus: 1,
        durationNs: MS,
        profile,
        irqWorkLatencyNs: 500,
        workloads: [once("t", "task", 0, Array(6).fill(4000))],
      }).workloads[0];
    expect(run("6.18")?.failures.empty).toBe(0);
    expect(run("2023")?.failures.empty).toBeGreaterThan(0);
  });

  it("§9.2 RCU reuse delay: freed-by-RCU objects come back only after a normal grace period, to slab after a tasks-trace one", () => {
    const program = { allocs: [80], free: "rcu" as const };
    const at = (ms: number) =>
      simulate({
        cpus: 1,
        durationNs: ms * MS,
        rcuGpNs: 20 * MS,
        tasksTraceGpNs: 100 * MS,
        workloads: [{ context: "task", at: [0], program }],
      }).allocator;
    expect(at(19)).toMatchObject({ rcuGracePeriods: 1, ttraceGracePeriods: 0, returnedToSlab: 0 });
    expect(at(21)).toMatchObject({ ttraceGracePeriods: 1, returnedToSlab: 0 });
    expect(at(121)).toMatchObject({ returnedToSlab: 1 });
  });

  it("§8.2 / §15.3: slab failures make refills partial and, with irqs-off bursts, empty-list failures", () => {
    const r = simulate({
      cpus: 1,
      durationNs: 100 * MS,
      slabFailProbability: 0.5,
      seed: 11,
      workloads: [{ context: "hardirq", ratePerSec: 10_000, program: { allocs: Array(6).fill(1000) } }],
    });
    expect(r.allocator.slabFailures).toBeGreaterThan(0);
    expect(r.allocator.partialRefills).toBeGreaterThan(0);
    expect(r.workloads[0]?.failures.empty).toBeGreaterThan(0);
    expect(r.workloads[0]?.failures.reentrant).toBe(0);
  });

  it("§15 statistics: peak memory covers the prefill and grows with refills", () => {
    const r = simulate({
      cpus: 2,
      durationNs: 10 * MS,
      workloads: [{ context: "task", ratePerSec: 10_000, program: { allocs: [80] } }],
    });
    expect(r.allocator.peakBytesFromSlab).toBe(2 * 10_816 + 2 * 48 * 96);
    expect(r.allocator.refills).toBe(2);
  });

  it("§15.3: a program function sees each invocation's context and decides what it does (e.g. refusing irqs-off callers)", () => {
    const seen: Array<[string, boolean, number]> = [];
    const r = simulate({
      cpus: 1,
      durationNs: MS,
      workloads: [
        once("task", "task", 0, [], 10_000),
        {
          name: "walker",
          context: "nmi",
          at: [5000, 20_000],
          cpus: [0],
          program: (info) => {
            seen.push([info.context, info.irqsOff, info.interrupted]);
            return info.interrupted > 0 ? { allocs: [], outcome: "ebusy" } : { allocs: [80], outcome: "ran" };
          },
        },
      ],
    });
    expect(seen).toEqual([
      ["nmi", true, 1],
      ["nmi", true, 0],
    ]);
    expect(r.workloads[1]).toMatchObject({ outcomes: { ebusy: 1, ran: 1 }, allocs: 1, allocOk: 1 });
  });

  it("§15: invocation durations include the time spent interrupted", () => {
    const r = simulate({
      cpus: 1,
      durationNs: MS,
      workloads: [once("task", "task", 0, [], 10_000), once("nmi", "nmi", 1000, [], 2000)],
    });
    expect(r.workloads[0]).toMatchObject({ busyNs: 12_000, maxDurationNs: 12_000 });
    expect(r.workloads[1]).toMatchObject({ busyNs: 2000, maxDurationNs: 2000 });
  });
});
