import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { BpfMemAlloc, ManualHost, simulate } from "../src/index.js";

describe("mem-alloc README example", () => {
  it("the README still contains the example this test runs", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    expect(readme).toContain("const got = Array.from({ length: 20 }, () => ma.alloc(1, 300 * 8));");
    expect(readme).toContain('{ context: "nmi", ratePerSec: 20_000, program: { allocs: [112] } },');
  });

  it("§14: the example's numbers: 1 object from an irqs-off burst; about 2 % NMI collisions", () => {
    const host = new ManualHost();
    const ma = new BpfMemAlloc({ cpus: 2, profile: "6.18", host });
    host.disableIrqs(1);
    const got = Array.from({ length: 20 }, () => ma.alloc(1, 300 * 8));
    expect(got.filter((p) => p !== null).length).toBe(1);
    const run = simulate({
      cpus: 2,
      durationNs: 100e6,
      seed: 1,
      activeWindowNs: 100,
      workloads: [
        { context: "task", ratePerSec: 100_000, program: { allocs: [112], holdNs: 1000 } },
        { context: "nmi", ratePerSec: 20_000, program: { allocs: [112] } },
      ],
    });
    const nmi = run.workloads[1];
    expect(nmi?.failures.empty).toBe(0);
    expect(nmi?.failures.noClass).toBe(0);
    const rate = (nmi?.failures.reentrant ?? 0) / (nmi?.allocs ?? 1);
    expect(rate).toBeGreaterThan(0.015);
    expect(rate).toBeLessThan(0.025);
  });
});
