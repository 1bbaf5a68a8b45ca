import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Op } from "../src/ops.js";

// The interpreter switches on numeric literals (a switch over enum property loads cannot become a
// jump table under per-file transforms); this keeps every literal honest against the enum.
describe("interpreter op literals", () => {
  const source = readFileSync(join(import.meta.dirname, "../src/vm.ts"), "utf8");
  const cases = [...source.matchAll(/case (\d+):\s*(?:\{\s*)?\/\/ ([A-Z0-9_]+)/g)].map((m) => ({
    value: Number(m[1]),
    name: m[2] as string,
  }));

  it("names every case with its enum member", () => {
    expect(cases.length).toBeGreaterThan(100);
    for (const { value, name } of cases)
      expect(`${name}=${(Op as Record<string, unknown>)[name]}`).toBe(`${name}=${value}`);
  });

  it("handles every op exactly once", () => {
    const values = cases.map((c) => c.value).sort((a, b) => a - b);
    const ops = Object.values(Op).filter((v): v is number => typeof v === "number");
    // LDDW_HI is the switch's default.
    expect(values).toEqual(ops.filter((v) => v !== Op.LDDW_HI).sort((a, b) => a - b));
  });
});
