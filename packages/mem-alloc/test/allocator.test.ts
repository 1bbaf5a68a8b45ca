import { describe, expect, it } from "vitest";
import { BpfMemAlloc, ManualHost, MemAllocError, ObjectState, ZERO_SIZE_PTR } from "../src/index.js";

const C96 = 0;
const C128 = 5;
const C4096 = 10;

function fresh(
  cpus = 2,
  profile: "2023" | "6.12" | "6.18" = "6.18",
  slabFails?: (cpu: number, bytes: number) => boolean,
) {
  const host = new ManualHost(slabFails ? { slabFails } : {});
  const alloc = new BpfMemAlloc({ cpus, profile, host });
  return { host, alloc };
}

/** One section-14 run: `n` allocations then `n` frees on `cpu`, with interrupts off or on throughout. */
function bitsRun(
  alloc: BpfMemAlloc,
  host: ManualHost,
  cpu: number,
  request: number,
  irqsOff: boolean,
  n = 20,
): number {
  if (irqsOff) host.disableIrqs(cpu);
  const got = Array.from({ length: n }, () => alloc.alloc(cpu, request));
  for (const id of got) alloc.free(cpu, id);
  if (irqsOff) host.enableIrqs(cpu);
  return got.filter((id) => id !== null).length;
}

describe("mem-alloc §6 allocation path", () => {
  it("§6 step 1: size 0 is NULL on 6.12/6.18, the zero-size pointer on the 2023 profile", () => {
    expect(fresh(1, "6.12").alloc.alloc(0, 0)).toBeNull();
    expect(fresh(1, "6.18").alloc.alloc(0, 0)).toBeNull();
    expect(fresh(1, "2023").alloc.alloc(0, 0)).toBe(ZERO_SIZE_PTR);
  });

  it("§6.1 #1: a padded size above 4096 is NULL without queueing a refill", () => {
    const { alloc, host } = fresh(1);
    expect(alloc.alloc(0, 4089)).toBeNull();
    expect(alloc.stats.failures.noClass).toBe(1);
    expect(host.queued).toHaveLength(0);
  });

  it("§6 step 4: an allocation pops the head and records the home cache in the header", () => {
    const { alloc } = fresh(2);
    const cache = alloc.cache(1, C128);
    const head = cache?.free.at(-1);
    const id = alloc.alloc(1, 100);
    expect(id).toBe(head);
    expect(alloc.homeOf(id as number)).toBe(cache);
    expect(alloc.objectState(id as number)).toBe(ObjectState.allocated);
    expect(cache?.freeCount).toBe(3 + 48); // 3 < 32: the refill ran at the restore
  });

  it("§6 step 6: a free count below low queues the refill; with interrupts on it runs at the restore (§8.1)", () => {
    const { alloc, host } = fresh(1);
    const cache = alloc.cache(0, C96);
    alloc.alloc(0, 80);
    // 4 - 1 = 3 < 32: queued before the restore, run at the restore: 3 + 48.
    expect(cache?.freeCount).toBe(51);
    expect(alloc.stats.refills).toBe(1);
    expect(host.queued).toHaveLength(0);
  });

  it("§6.1 #2: with interrupts off the list runs dry and allocations return NULL; no slab fallback", () => {
    const { alloc, host } = fresh(1);
    host.disableIrqs(0);
    const got = Array.from({ length: 6 }, () => alloc.alloc(0, 80));
    expect(got.filter((x) => x === null)).toHaveLength(2);
    expect(alloc.stats.failures.empty).toBe(2);
    expect(alloc.stats.refillFromSlab).toBe(0);
    expect(host.queued).toEqual([alloc.cache(0, C96)]); // queued once: queueing a pending work is a no-op
  });

  it("§12: 2023 queues the refill after restoring; 6.12 before (the refill runs at the restore either way on x86)", () => {
    const order: string[] = [];
    for (const profile of ["2023", "6.12"] as const) {
      const host = new ManualHost();
      const alloc = new BpfMemAlloc({ cpus: 1, profile, host });
      const queue = host.queueRefill.bind(host);
      host.queueRefill = (cache, sectionOpen) => {
        order.push(`${profile}:queue:${sectionOpen}`);
        queue(cache, sectionOpen);
      };
      host.irqRestored = () => order.push(`${profile}:restore`);
      alloc.alloc(0, 80);
    }
    expect(order).toEqual(["2023:restore", "2023:queue:false", "6.12:queue:true", "6.12:restore"]);
  });

  it("§12: the 2023 prefill does not sleep and can fail; 6.12's cannot", () => {
    const failing = () => true;
    expect(fresh(1, "2023", failing).alloc.stats.bytesFromSlab).toBe(0);
    expect(fresh(1, "6.12", failing).alloc.stats.bytesFromSlab).toBe(10_816);
  });
});

describe("mem-alloc §7 free path and §9 reuse", () => {
  it("§7/§9.1: a freed object is the very next same-class allocation on that CPU (LIFO, no grace period)", () => {
    const { alloc } = fresh(2);
    const a = alloc.alloc(0, 100);
    alloc.free(0, a);
    expect(alloc.alloc(0, 100)).toBe(a);
  });

  it("§15.5 #2: across CPUs the ids differ", () => {
    const { alloc } = fresh(2);
    const a = alloc.alloc(0, 100);
    const b = alloc.alloc(1, 100);
    expect(a).not.toBe(b);
    alloc.free(0, a);
    alloc.free(1, b);
    expect(alloc.alloc(0, 100)).toBe(a);
    expect(alloc.alloc(1, 100)).toBe(b);
  });

  it("§7 step 2: an object freed on another CPU joins that CPU's list; step 3 records its home in tgt", () => {
    const { alloc } = fresh(2);
    const id = alloc.alloc(0, 100) as number;
    const c1 = alloc.cache(1, C128);
    const before = c1?.freeCount ?? 0;
    alloc.free(1, id);
    expect(c1?.freeCount).toBe(before + 1);
    expect(c1?.free.at(-1)).toBe(id);
    expect(c1?.tgt).toBe(alloc.cache(0, C128));
  });

  it("§7 step 5 / §8.2: a free count above high queues a trim that pops down to the trim target", () => {
    const { alloc, host } = fresh(1);
    host.disableIrqs(0);
    const cache = alloc.cache(0, C4096);
    // 7 live objects: 1 prefilled + 6 that a refill adds at the next irqs-on moment... take them one at a time.
    host.enableIrqs(0);
    const live = Array.from({ length: 7 }, () => alloc.alloc(0, 4000));
    expect(live.every((x) => x !== null)).toBe(true);
    host.disableIrqs(0);
    for (const id of live) alloc.free(0, id);
    const counted = cache?.freeCount ?? 0;
    expect(counted).toBeGreaterThan(6);
    host.enableIrqs(0);
    expect(cache?.freeCount).toBe(4);
    expect(cache?.ttraceWait.length).toBe(counted - 4);
  });

  it("§7: a double free or a free of an unknown id is a MemAllocError", () => {
    const { alloc } = fresh(1);
    const id = alloc.alloc(0, 10) as number;
    alloc.free(0, id);
    expect(() => alloc.free(0, id)).toThrow(MemAllocError);
    expect(() => alloc.free(0, 999)).toThrow(/never allocated/);
    expect(() => alloc.alloc(5, 10)).toThrow(/cpu 5/);
  });
});

describe("mem-alloc §8 refill work", () => {
  it("§8.1: with interrupts off the refill waits until they come back on that CPU", () => {
    const { alloc, host } = fresh(2);
    host.disableIrqs(0);
    alloc.alloc(0, 4000);
    const cache = alloc.cache(0, C4096);
    expect(cache?.pending).toBe(true);
    expect(cache?.freeCount).toBe(0);
    host.enableIrqs(1); // another CPU's interrupts do nothing for it
    expect(cache?.freeCount).toBe(0);
    host.enableIrqs(0);
    expect(cache?.pending).toBe(false);
    expect(cache?.freeCount).toBe(3);
  });

  it("§8.2: a count within [low, high] when the work runs does nothing (the count is read at run time)", () => {
    const { alloc, host } = fresh(1);
    const cache = alloc.cache(0, C4096);
    const a = alloc.alloc(0, 4000); // 1 -> 0: refilled at the restore to 3
    const b = alloc.alloc(0, 4000); // 2: not below low
    expect(alloc.stats.refills).toBe(1);
    host.disableIrqs(0);
    const c = alloc.alloc(0, 4000); // 1 < 2: queued
    const d = alloc.alloc(0, 4000);
    for (const id of [a, b, c, d]) alloc.free(0, id); // back to 4 before the work runs
    expect(cache?.pending).toBe(true);
    host.enableIrqs(0);
    expect(alloc.stats.refillRuns).toBe(2);
    expect(alloc.stats.refills).toBe(1);
    expect(alloc.stats.trims).toBe(0);
    expect(cache?.freeCount).toBe(4);
  });

  it("§8.2: a refill takes objects from free_by_rcu_ttrace, then waiting_for_gp_ttrace, then slab", () => {
    const { alloc, host } = fresh(1);
    const cache = alloc.cache(0, C4096);
    if (cache === undefined) throw new Error("no cache");
    cache.ttraceFree.push(...[alloc.alloc(0, 4000) as number]);
    cache.ttraceWait.push(alloc.alloc(0, 4000) as number);
    host.disableIrqs(0);
    while (cache.freeCount > 0) alloc.alloc(0, 4000);
    const fromSlab = alloc.stats.refillFromSlab;
    const fromTtrace = alloc.stats.refillFromTtrace;
    host.enableIrqs(0);
    expect(alloc.stats.refillFromTtrace - fromTtrace).toBe(2);
    expect(alloc.stats.refillFromSlab - fromSlab).toBe(1);
  });

  it("§8.2 / §15.5 #5: a slab failure makes the refill partial; the next allocation below low queues another", () => {
    let failAfter = Number.POSITIVE_INFINITY;
    const { alloc, host } = fresh(1, "6.18", () => failAfter-- <= 0);
    const cache = alloc.cache(0, C4096);
    host.disableIrqs(0);
    alloc.alloc(0, 4000);
    failAfter = 1; // one slab object, then failure
    host.enableIrqs(0);
    expect(cache?.freeCount).toBe(1);
    expect(alloc.stats.partialRefills).toBe(1);
    expect(host.queued).toHaveLength(0); // not retried on its own
    failAfter = Number.POSITIVE_INFINITY;
    alloc.alloc(0, 4000); // 0 < 2: queued and run at the restore
    expect(cache?.freeCount).toBe(3);
  });
});

describe("mem-alloc §9 reclaim and grace periods", () => {
  it("§9.3: trimmed objects wait one tasks-trace grace period, then go back to slab", () => {
    const { alloc, host } = fresh(1);
    const cache = alloc.cache(0, C4096);
    const live = Array.from({ length: 8 }, () => alloc.alloc(0, 4000));
    const bytes = alloc.stats.bytesFromSlab;
    for (const id of live) alloc.free(0, id);
    const waiting = cache?.ttraceWait.length ?? 0;
    expect(waiting).toBeGreaterThan(0);
    expect(host.gracePeriods.map((gp) => gp.kind)).toEqual(["tasks-trace"]);
    expect(alloc.stats.bytesFromSlab).toBe(bytes);
    host.endGracePeriods("tasks-trace");
    expect(alloc.stats.returnedToSlab).toBe(waiting);
    expect(alloc.stats.bytesFromSlab).toBe(bytes - waiting * 4096);
  });

  it("§9.3 step 1: with a tasks-trace callback in flight, new trims stay on free_by_rcu_ttrace (reusable)", () => {
    const { alloc, host } = fresh(1);
    const cache = alloc.cache(0, C4096);
    for (let round = 0; round < 2; round++) {
      const live = Array.from({ length: 8 }, () => alloc.alloc(0, 4000));
      for (const id of live) alloc.free(0, id);
    }
    expect(host.gracePeriods).toHaveLength(1);
    expect(cache?.ttraceFree.length).toBeGreaterThan(0);
    const parked = cache?.ttraceFree.length ?? 0;
    host.endGracePeriods();
    expect(cache?.ttraceFree.length).toBe(parked); // not reclaimed by that grace period
  });

  it("§15.5 #4: a trim on CPU 1 routes CPU 0's objects to CPU 0's ttrace list; CPU 0's refill reuses them before the grace period ends", () => {
    const { alloc, host } = fresh(2);
    const live = Array.from({ length: 8 }, () => alloc.alloc(0, 4000) as number);
    for (const id of live) alloc.free(1, id); // CPU 1's count passes high 6: trim routed to tgt = CPU 0's cache
    const c0 = alloc.cache(0, C4096);
    const routed = (c0?.ttraceWait.length ?? 0) + (c0?.ttraceFree.length ?? 0);
    expect(routed).toBeGreaterThan(0);
    expect(alloc.cache(1, C4096)?.ttraceWait.length).toBe(0);
    host.disableIrqs(0);
    while ((c0?.freeCount ?? 0) > 0) alloc.alloc(0, 4000);
    const slabBefore = alloc.stats.refillFromSlab;
    host.enableIrqs(0);
    expect(alloc.stats.refillFromTtrace).toBeGreaterThan(0);
    expect(alloc.stats.refillFromSlab - slabBefore).toBe(3 - Math.min(3, routed));
    expect(host.gracePeriods).toHaveLength(1); // still not ended
  });

  it("§9.2: bpf_mem_free_rcu: reusable only after a normal RCU grace period, reclaimed after a tasks-trace one", () => {
    const { alloc, host } = fresh(1);
    const cache = alloc.cache(0, C96);
    const id = alloc.alloc(0, 80) as number;
    const before = cache?.freeCount;
    alloc.freeRcu(0, id);
    expect(cache?.freeCount).toBe(before);
    expect(alloc.objectState(id)).toBe(ObjectState.rcu);
    expect(cache?.waitingForGp).toEqual([id]); // the refill ran at the restore and started the RCU GP
    expect(host.gracePeriods.map((gp) => gp.kind)).toEqual(["rcu"]);
    host.endGracePeriods("rcu");
    expect(alloc.objectState(id)).toBe(ObjectState.ttrace);
    expect(host.gracePeriods.map((gp) => gp.kind)).toEqual(["tasks-trace"]);
    host.endGracePeriods("tasks-trace");
    expect(alloc.objectState(id)).toBe(ObjectState.slab);
  });

  it("§12: the 2023 profile has no bpf_mem_free_rcu", () => {
    const { alloc } = fresh(1, "2023");
    expect(() => alloc.freeRcu(0, alloc.alloc(0, 8))).toThrow(/no bpf_mem_free_rcu/);
  });
});

describe("mem-alloc §10 active counter and reentrancy", () => {
  it("§10 / §15.5 #3: an allocation nested in a same-class section returns NULL although the list is not empty", () => {
    const { alloc, host } = fresh(1);
    host.disableIrqs(0);
    const cache = alloc.cache(0, C96);
    if (cache === undefined) throw new Error("no cache");
    const outer = alloc.allocCache(0, 80);
    expect(outer).toBe(cache);
    alloc.enter(cache); // the interrupted allocation holds active
    expect(cache.freeCount).toBe(4);
    expect(alloc.alloc(0, 80)).toBeNull(); // the NMI's allocation
    expect(alloc.stats.failures.reentrant).toBe(1);
    expect(cache.pending).toBe(true); // queued, count treated as 0
    expect(alloc.leaveAlloc(cache)).not.toBeNull();
  });

  it("§10: collisions are per (CPU, class): another class or another CPU is unaffected", () => {
    const { alloc } = fresh(2);
    const cache = alloc.cache(0, C96);
    if (cache === undefined) throw new Error("no cache");
    alloc.enter(cache);
    expect(alloc.alloc(0, 100)).not.toBeNull(); // class 128
    expect(alloc.alloc(1, 80)).not.toBeNull(); // class 96 on CPU 1
    alloc.leaveAlloc(cache);
  });

  it("§10 / §15.5 #3: a nested free lands in free_llist_extra, and reappears only after a trim", () => {
    const { alloc, host } = fresh(1);
    const cache = alloc.cache(0, C4096);
    if (cache === undefined) throw new Error("no cache");
    const nmiObject = alloc.alloc(0, 4000) as number;
    alloc.enter(cache); // interrupted section
    alloc.free(0, nmiObject);
    expect(cache.extra).toEqual([nmiObject]);
    expect(alloc.stats.freesToExtra).toBe(1);
    alloc.leaveAlloc(cache);
    host.disableIrqs(0);
    while (cache.freeCount > 0) alloc.alloc(0, 4000);
    expect(alloc.alloc(0, 4000)).toBeNull(); // not handed out from extra
    host.enableIrqs(0);
    expect(cache.extra).toEqual([nmiObject]); // a refill does not touch it
    const live = Array.from({ length: 8 }, () => alloc.alloc(0, 4000));
    for (const id of live) alloc.free(0, id); // trims
    expect(cache.extra).toEqual([]);
    expect(alloc.objectState(nmiObject)).toBe(ObjectState.ttrace);
  });

  it("§8.2/§10: each object a refill adds is pushed in its own active section, which opens at 1", () => {
    const { alloc } = fresh(1);
    const cache = alloc.cache(0, C96);
    if (cache === undefined) throw new Error("no cache");
    const seen: number[] = [];
    for (const c of alloc.refill(cache)) seen.push(c === null ? cache.active : c.active * 10);
    expect(seen).toEqual(Array.from({ length: 96 }, (_, i) => (i % 2 === 0 ? 10 : 0))); // open at 1, closed at 0, 48 times
  });
});

describe("mem-alloc §14 calibration against the 6.18.44 observations", () => {
  it("§14 / §15.5 #1: class 4096 from an IPI (irqs off) on a fresh CPU: 1 → 4 → 4", () => {
    const { alloc, host } = fresh(2);
    expect([0, 1, 2].map(() => bitsRun(alloc, host, 1, 300 * 8, true))).toEqual([1, 4, 4]);
  });

  it("§14: class 2048 (200 words): 1 → 7; class 1024 (100 words): 1 → 13", () => {
    const { alloc, host } = fresh(2);
    expect([0, 1].map(() => bitsRun(alloc, host, 1, 200 * 8, true))).toEqual([1, 7]);
    expect([0, 1].map(() => bitsRun(alloc, host, 0, 100 * 8, true))).toEqual([1, 13]);
  });

  it("§14: class 4096 in task context (irqs on): 20/20/20, then an IPI run on the same CPU gets 4, 4 (trimmed to 4)", () => {
    const { alloc, host } = fresh(2);
    expect([0, 1, 2].map(() => bitsRun(alloc, host, 0, 300 * 8, false))).toEqual([20, 20, 20]);
    expect(alloc.cache(0, C4096)?.freeCount).toBe(4);
    expect([0, 1].map(() => bitsRun(alloc, host, 0, 300 * 8, true))).toEqual([4, 4]);
  });
});
