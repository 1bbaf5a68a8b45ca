import { describe, expect, it } from "vitest";
import { skipReason } from "../../../scripts/test-env.js";
import { emptyAreaRev, MAX, MapleTree, MaState, MT_FLAGS_ALLOC_RANGE, validateTree } from "../src/index.js";
import { constArrays, hasLinuxSource, kernelSourceFile, linuxTarball } from "./kernel-source.js";
import { RangeModel } from "./reference.js";

// check_erase2_sets of tools/testing/radix-tree/maple.c: ~40 traces of real mm workloads. The
// traces are read from the kernel source tarball at run time; triples are (op, a, b) with STORE
// storing value(a) over [a, b], SNULL storing NULL over [a, b] and ERASE erasing at a.
const value = (a: bigint) => `v${a}`;

const skip = skipReason("maple check_erase2_sets", [[hasLinuxSource, `${linuxTarball} not installed`]]);

describe.skipIf(skip)("maple tree: check_erase2_sets traces", () => {
  // Read at collection time so that every trace is its own test (each well inside the timeout).
  const sets = skip
    ? new Map<string, bigint[]>()
    : constArrays(kernelSourceFile("tools/testing/radix-tree/maple.c"), "void __init check_erase2_sets(");

  function replay(name: string): MapleTree {
    const set = sets.get(name);
    if (!set) throw new Error(`${name} missing from the kernel source`);
    const tree = new MapleTree(name === "set3" || name === "set4" ? 0 : MT_FLAGS_ALLOC_RANGE);
    const model = new RangeModel();
    for (let i = 0; i + 2 < set.length; i += 3) {
      const [op, a, b] = [set[i], set[i + 1], set[i + 2]] as [bigint, bigint, bigint];
      if (op === 1n) {
        tree.store(a, b, value(a));
        model.store(a, b, value(a));
      } else if (op === 2n) {
        tree.store(a, b, null);
        model.store(a, b, null);
      } else {
        const expected = model.load(a);
        expect(tree.erase(a), `${name} op ${i / 3} erase ${a}`).toBe(expected);
        model.erase(a);
      }
      const errors = validateTree(tree);
      if (errors.length) throw new Error(`${name} op ${i / 3}: ${errors.slice(0, 3).join("; ")}`);
      expect(tree.load(0n)).toBeNull();
    }
    const got: string[] = [];
    const mas = new MaState(tree, 0n);
    for (let e = mas.find(MAX); e !== null; e = mas.find(MAX)) got.push(`${mas.index}-${mas.last}:${e}`);
    expect(got, name).toEqual(model.ranges.map((r) => `${r.start}-${r.last}:${r.entry}`));
    return tree;
  }

  it("parses every trace from the kernel source", () => {
    expect(sets.size).toBeGreaterThanOrEqual(40);
  });

  for (const [name, set] of sets) {
    it(`replays ${name} (${set.length / 3} operations) with the invariants holding after each one`, () => {
      replay(name);
    });
  }

  it("covers more than 10,000 operations in total", () => {
    let ops = 0;
    for (const set of sets.values()) ops += set.length / 3;
    expect(ops).toBeGreaterThan(10_000);
  });

  it("answers the trace-specific lookups of check_erase2_sets", () => {
    let t = replay("set2");
    expect(t.load(140735933894656n)).toBeNull();
    const lastOfRev = (name: string, min: bigint, max: bigint, size: bigint) =>
      emptyAreaRev(replay(name), min, max, size).last;
    expect(lastOfRev("set11", 12288n, 140014592737280n, 0x2000n)).toBe(140014592573439n);
    expect(lastOfRev("set16", 4096n, 139921865637888n, 0x6000n)).toBe(139921865547775n);
    expect(lastOfRev("set17", 4096n, 139953197334528n, 0x1000n)).toBe(139953197322239n);
    expect(lastOfRev("set18", 4096n, 140222972858368n, 2215936n)).toBe(140222968475647n);
    expect(lastOfRev("set26", 4096n, 140109042671616n, 409600n)).toBe(140109040959487n);
    expect(lastOfRev("set33", 4096n, 140583656296448n, 134217728n)).toBe(140583003750399n);
    expect(lastOfRev("set42", 4096n, 4052029440n, 28672n)).toBe(4041211903n);
    const w = emptyAreaRev(replay("set28"), 4096n, 139918413357056n, 2097152n);
    expect((w.last + 1n - 2097152n) & ~2093056n).toBe(139918401601536n);

    t = replay("set19");
    const mas = new MaState(t, 140656779083776n);
    expect(mas.find(MAX)).toBe(value(140656779083776n));
    expect(mas.prev(0n)).toBe(value(140656766251008n));

    expect(replay("set20").load(94849009414144n)).toBeNull();
    t = replay("set22");
    expect(t.load(140551363362816n)).not.toBe(t.load(140551363420159n));
    expect(replay("set27").load(140415537422336n)).toBeNull();
    expect(replay("set37").load(94637033459712n)).toBeNull();
    expect(replay("set38").load(94637033459712n)).toBeNull();
    t = replay("set12");
    const m12 = new MaState(t, 0n);
    let count = 0;
    while (m12.find(MAX) !== null) count++;
    expect(count).toBeLessThanOrEqual(13);
  });
});
