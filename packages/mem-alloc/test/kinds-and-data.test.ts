import { describe, expect, it } from "vitest";
import { BpfMemAlloc, ManualHost, MemAllocError, ObjectState } from "../src/index.js";

describe("mem-alloc §2 allocator kinds", () => {
  it("§2: a fixed-size allocator has one cache per CPU whose unit is size + 8, not rounded to a class", () => {
    const a = new BpfMemAlloc({ cpus: 2, kind: "fixed", size: 100 });
    expect(a.cachesOf(0)).toHaveLength(1);
    expect(a.cache(1, 0)).toMatchObject({ unitSize: 108, classIndex: -1, low: 32, high: 96, prefill: 4 });
    const id = a.alloc(1, 0) as number;
    expect(a.homeOf(id)).toBe(a.cache(1, 0));
    a.free(0, id); // joins CPU 0's single cache
    expect(a.cache(0, 0)?.free.at(-1)).toBe(id);
    expect(a.stats.bytesFromSlab).toBe((2 * 4 + 48) * 108); // prefill on both CPUs + one refill on CPU 1
  });

  it("§6.1: only the fixed-size GFP_KERNEL variant falls back to a sleeping slab allocation when the list is empty", () => {
    const host = new ManualHost();
    const a = new BpfMemAlloc({ cpus: 1, kind: "fixed", size: 600, host });
    host.disableIrqs(0); // so the list runs dry (the refill waits)
    const got = Array.from({ length: 3 }, () => a.allocSleepable(0));
    expect(got.every((id) => id !== null)).toBe(true); // prefill 1, then two fallbacks
    expect(a.stats).toMatchObject({
      allocOk: 3,
      slabFallbacks: 2,
      failures: { empty: 0, reentrant: 0, noClass: 0 },
    });
    expect(a.alloc(0, 0)).toBeNull(); // the non-sleeping form has no fallback
    host.slabFails = () => true;
    expect(a.allocSleepable(0)).toBeNull();
    expect(a.stats.failures.empty).toBe(2);
    expect(() => new BpfMemAlloc({ cpus: 1 }).allocSleepable(0)).toThrow(/no sleeping fallback/);
  });

  it("§2: size 0 for a fixed-size (or per-CPU fixed-size) allocator is rejected, as -EINVAL in the kernel", () => {
    expect(() => new BpfMemAlloc({ cpus: 1, kind: "fixed" })).toThrow(MemAllocError);
    expect(() => new BpfMemAlloc({ cpus: 1, kind: "percpu-fixed", size: 0 })).toThrow(/positive size/);
  });

  it("§2/§11: per-CPU kmalloc-like classes exist only once initialised; then 1/3/1, prefill 1, holder + area bytes", () => {
    const a = new BpfMemAlloc({ cpus: 2, kind: "percpu-kmalloc" });
    expect(a.stats.bytesFromSlab).toBe(0);
    expect(() => a.alloc(0, 64)).toThrow(/never initialised/);
    a.initPercpuClass(64); // per-CPU request 64 -> class 64 (no header)
    expect(a.cachesOf(0).map((c) => c.unitSize)).toEqual([64]);
    expect(a.cache(0, 4)).toMatchObject({ low: 1, high: 3, batch: 1, prefill: 1, percpu: true });
    expect(a.stats.bytesFromSlab).toBe(2 * (16 + 64));
    expect(a.alloc(0, 64)).not.toBeNull();
    expect(a.cache(0, 4)?.freeCount).toBe(1); // 0 < low 1: refilled by batch 1 at the restore
    expect(() => a.alloc(0, 65)).toThrow(/class 96 was never initialised/);
  });

  it("§11: a per-CPU object costs two slab allocations (16-byte holder, then the area); both must succeed", () => {
    const calls: number[] = [];
    let failArea = false;
    const host = new ManualHost({
      slabFails: (_cpu, bytes) => {
        calls.push(bytes);
        return failArea && bytes === 256;
      },
    });
    const a = new BpfMemAlloc({ cpus: 1, kind: "percpu-kmalloc", host });
    a.initPercpuClass(200); // class 256; the prefill sleeps, so no slab calls are asked about
    expect(calls).toEqual([]);
    a.alloc(0, 200); // 1 -> 0 < low 1: the refill adds one object
    expect(calls).toEqual([16, 256]);
    a.alloc(0, 200);
    failArea = true;
    expect(a.alloc(0, 200)).not.toBeNull(); // takes the last object; the refill's area allocation then fails
    expect(a.stats.slabFailures).toBe(1);
    expect(a.stats.partialRefills).toBe(1);
  });

  it("§12: per-CPU caches on the 2023 profile use the size rule instead of 1/3/1", () => {
    const a = new BpfMemAlloc({ cpus: 1, kind: "percpu-kmalloc", profile: "2023" });
    a.initPercpuClass(64);
    expect(a.cache(0, 4)).toMatchObject({ low: 32, high: 96, batch: 48, prefill: 4 });
  });
});

describe("mem-alloc §4.3 object bytes", () => {
  it("§4.3: the caller gets unit − 8 bytes; fresh objects read as zeros", () => {
    const a = new BpfMemAlloc({ cpus: 1 });
    const id = a.alloc(0, 100) as number;
    expect(a.data(id)).toHaveLength(120);
    expect(a.data(id).every((b) => b === 0)).toBe(true);
  });

  it("§4.3/§7: recycled objects are not cleared: the next owner (and a reader after the free) sees stale bytes", () => {
    const a = new BpfMemAlloc({ cpus: 1 });
    const id = a.alloc(0, 100) as number;
    a.data(id).set([1, 2, 3]);
    a.free(0, id);
    expect(a.data(id).subarray(0, 3)).toEqual(new Uint8Array([1, 2, 3])); // stale read of a freed object
    expect(a.alloc(0, 100)).toBe(id);
    expect(a.data(id).subarray(0, 3)).toEqual(new Uint8Array([1, 2, 3]));
  });

  it("§4.3/§9.3: an object given back to slab and taken again is zero-filled", () => {
    const host = new ManualHost();
    const a = new BpfMemAlloc({ cpus: 1, host });
    const live = Array.from({ length: 8 }, () => a.alloc(0, 4000) as number);
    for (const id of live) a.data(id).fill(7);
    for (const id of live) a.free(0, id);
    host.endGracePeriods();
    const reclaimed = live.filter((id) => a.objectState(id) === ObjectState.slab);
    expect(reclaimed.length).toBeGreaterThan(0);
    expect(() => a.data(reclaimed[0] as number)).toThrow(/not held/);
    // Drain and refill until refills come from slab again (the ttrace lists go first), reusing the ids.
    let fresh: number[] = [];
    for (let round = 0; round < 5 && fresh.length === 0; round++) {
      host.disableIrqs(0);
      while ((a.cache(0, 10)?.freeCount ?? 0) > 0) a.alloc(0, 4000);
      host.enableIrqs(0);
      fresh = a.cache(0, 10)?.free.filter((id) => reclaimed.includes(id)) ?? [];
    }
    expect(fresh.length).toBeGreaterThan(0);
    for (const id of fresh) expect(a.data(id).every((b) => b === 0)).toBe(true);
  });

  it("§4.3: per-CPU data objects expose the whole class size", () => {
    const a = new BpfMemAlloc({ cpus: 1, kind: "percpu-kmalloc" });
    a.initPercpuClass(100);
    expect(a.data(a.alloc(0, 100) as number)).toHaveLength(128);
  });
});

describe("mem-alloc §9 reuse paths in detail", () => {
  it("§9.1 row 2: an object freed during a collision is handed out again only after a trim and a refill", () => {
    const host = new ManualHost();
    const a = new BpfMemAlloc({ cpus: 1, host });
    const cache = a.cache(0, 10);
    if (cache === undefined) throw new Error("no cache");
    const victim = a.alloc(0, 4000) as number;
    a.enter(cache);
    a.free(0, victim); // lands in free_llist_extra
    a.leaveAlloc(cache);
    const live = Array.from({ length: 8 }, () => a.alloc(0, 4000) as number);
    expect(live).not.toContain(victim);
    for (const id of live) a.free(0, id); // trim: extra -> ttrace list
    expect(a.objectState(victim)).toBe(ObjectState.ttrace);
    // Irqs-off bursts drain the list; each refill takes from the ttrace lists before slab.
    for (let round = 0; round < 5 && !cache.free.includes(victim); round++) {
      host.disableIrqs(0);
      while (cache.freeCount > 0) a.alloc(0, 4000);
      host.enableIrqs(0);
    }
    expect(cache.free).toContain(victim);
    expect(host.gracePeriods.length).toBeGreaterThan(0); // before any grace period ended
  });

  it("§9.2 step 1: a nested RCU free goes to free_llist_extra_rcu; the refill folds it into free_by_rcu", () => {
    const host = new ManualHost();
    const a = new BpfMemAlloc({ cpus: 1, host });
    const cache = a.cache(0, 0);
    if (cache === undefined) throw new Error("no cache");
    const id = a.alloc(0, 80) as number;
    host.disableIrqs(0);
    a.enter(cache);
    a.freeRcu(0, id);
    expect(cache.extraRcu).toEqual([id]);
    a.leaveAlloc(cache);
    host.enableIrqs(0);
    expect(cache.extraRcu).toEqual([]);
    expect(cache.waitingForGp).toEqual([id]);
  });

  it("§9.2 steps 1–2: while a normal-RCU callback is in flight, RCU frees do not queue the refill and wait on free_by_rcu", () => {
    const host = new ManualHost();
    const a = new BpfMemAlloc({ cpus: 1, host });
    const cache = a.cache(0, 0);
    if (cache === undefined) throw new Error("no cache");
    const [x, y] = [a.alloc(0, 80) as number, a.alloc(0, 80) as number];
    a.freeRcu(0, x); // starts the RCU grace period
    const runs = a.stats.refillRuns;
    a.freeRcu(0, y);
    expect(a.stats.refillRuns).toBe(runs); // not queued: callback in flight
    expect(cache.freeByRcu).toEqual([y]);
    expect(host.gracePeriods.filter((gp) => gp.kind === "rcu")).toHaveLength(1);
    host.endGracePeriods("rcu");
    expect(cache.rcuInFlight).toBe(false);
    expect(cache.freeByRcu).toEqual([y]); // waits for the next refill run
  });
});
