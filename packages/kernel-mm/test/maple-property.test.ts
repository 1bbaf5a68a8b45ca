import { describe, expect, it } from "vitest";
import { MAX, MapleTree, MaState, MM_MT_FLAGS, validateTree } from "../src/index.js";
import { RangeModel } from "./reference.js";

/** Small deterministic PRNG so failures reproduce. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function treeRanges(tree: MapleTree) {
  const out: Array<{ start: bigint; last: bigint; entry: unknown }> = [];
  const mas = new MaState(tree, 0n);
  // findNext is the for_each_vma fast path; it must agree with mas_find(MAX) everywhere.
  const check = new MaState(tree, 0n);
  for (let e = mas.findNext(); e !== null; e = mas.findNext()) {
    out.push({ start: mas.index, last: mas.last, entry: e });
    expect(check.find(MAX)).toBe(e);
  }
  expect(check.find(MAX)).toBeNull();
  return out;
}

function check(tree: MapleTree, model: RangeModel, step: string) {
  const errors = validateTree(tree);
  if (errors.length) throw new Error(`${step}: ${errors.slice(0, 5).join("; ")}`);
  const got = treeRanges(tree);
  // The tree keeps adjacent equal entries as separate ranges, as does the model.
  expect(got, step).toEqual(model.ranges);
}

describe("maple tree against a reference model", () => {
  for (const [name, flags] of [
    ["alloc tree", MM_MT_FLAGS],
    ["plain tree", 0],
  ] as const) {
    it(`random store/erase/walk sequences keep every invariant (${name})`, () => {
      for (let seed = 1; seed <= 6; seed++) {
        const rand = rng(seed);
        const tree = new MapleTree(flags);
        const model = new RangeModel();
        const span = seed % 3 === 0 ? 5000 : 600;
        for (let step = 0; step < 400; step++) {
          const op = rand();
          const a = BigInt(Math.floor(rand() * span));
          const len = BigInt(Math.floor(rand() * (rand() < 0.8 ? 8 : 300)));
          const b = a + len;
          const label = `seed ${seed} step ${step}`;
          if (op < 0.6) {
            const v = { v: `${a}-${b}-${step}` };
            tree.store(a, b, v);
            model.store(a, b, v);
          } else if (op < 0.85) {
            tree.store(a, b, null);
            model.store(a, b, null);
          } else {
            tree.erase(a);
            model.erase(a);
          }
          check(tree, model, `${label} op ${op.toFixed(2)} [${a},${b}]`);
          const probe = BigInt(Math.floor(rand() * span));
          expect(tree.load(probe)).toBe(model.load(probe));
        }
      }
    });
  }
});

describe("ma_state moves against the reference model", () => {
  it("find, prev and reverse iteration agree with the model on random trees", () => {
    let maxHeight = 0;
    for (let seed = 100; seed < 106; seed++) {
      const rand = rng(seed);
      const tree = new MapleTree(MM_MT_FLAGS);
      const model = new RangeModel();
      for (let step = 0; step < 400; step++) {
        const a = BigInt(Math.floor(rand() * 20000));
        const b = a + BigInt(Math.floor(rand() * 40));
        const v = rand() < 0.75 ? { step } : null;
        tree.store(a, b, v);
        model.store(a, b, v);
        maxHeight = Math.max(maxHeight, tree.height);
        const p = BigInt(Math.floor(rand() * 21000));
        const ranges = model.ranges;
        const mas = new MaState(tree, p);
        const nextR = ranges.find((r) => r.last >= p);
        expect(mas.find(MAX), `find ${p}`).toBe(nextR?.entry ?? null);
        if (nextR) expect([mas.index, mas.last]).toEqual([nextR.start, nextR.last]);
        // prev from a fresh state: the entry before the range containing p.
        const containing = ranges.find((r) => r.start <= p && p <= r.last);
        let startOfRange = containing?.start;
        if (startOfRange === undefined) {
          const before = ranges.filter((r) => r.last < p).at(-1);
          startOfRange = before ? before.last + 1n : 0n;
        }
        const prevR = ranges.filter((r) => r.last < (startOfRange as bigint)).at(-1);
        mas.set(p);
        expect(mas.prev(0n), `prev ${p}`).toBe(prevR?.entry ?? null);
        if (prevR) expect([mas.index, mas.last]).toEqual([prevR.start, prevR.last]);
      }
      const mas = new MaState(tree, MAX);
      const back: unknown[] = [];
      for (let e = mas.findRev(0n); e !== null; e = mas.prev(0n)) back.push(e);
      expect(back).toEqual(model.ranges.map((r) => r.entry).reverse());
    }
    expect(maxHeight).toBeGreaterThanOrEqual(3);
  });
});
