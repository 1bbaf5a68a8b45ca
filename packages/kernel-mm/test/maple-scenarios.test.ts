import { describe, expect, it } from "vitest";
import {
  dupTree,
  Errno,
  emptyArea,
  emptyAreaRev,
  KernelMmError,
  MAX,
  MapleTree,
  MaState,
  MaStatus,
  MM_MT_FLAGS,
  MT_FLAGS_ALLOC_RANGE,
  StoreType,
  validateTree,
  XA_ZERO_ENTRY,
} from "../src/index.js";

// Scenarios of lib/test_maple_tree.c and tools/testing/radix-tree/maple.c (spec 2), rewritten.
const valid = (tree: MapleTree) => expect(validateTree(tree)).toEqual([]);
const v = (i: number | bigint) => `v${i}`;

function filled(n: number, width: number, flags = MT_FLAGS_ALLOC_RANGE, step = 10): MapleTree {
  const tree = new MapleTree(flags);
  for (let i = 0; i <= n; i++) tree.store(BigInt(i * step), BigInt(i * step + width), v(i));
  return tree;
}

describe("maple scenarios ported from the kernel's tests", () => {
  it("check_iteration: stores through the iterating state keep the walk correct", () => {
    const tree = filled(125, 9);
    const mas = new MaState(tree, 0n);
    let i = 0;
    for (let e = mas.find(925n); e !== null; e = mas.find(925n)) {
      expect([mas.index, mas.last]).toEqual([BigInt(i * 10), BigInt(i * 10 + 9)]);
      if (i === 92) {
        mas.index = 925n;
        mas.last = 929n;
        mas.store(e);
      }
      i++;
    }
    expect(mas.find(MAX)).toBe(v(i));

    mas.set(0n);
    i = 0;
    for (let e = mas.find(785n); e !== null; e = mas.find(785n)) {
      expect([mas.index, mas.last]).toEqual([BigInt(i * 10), BigInt(i * 10 + 9)]);
      if (i === 78) {
        mas.index = 780n;
        mas.last = 785n;
        mas.store(e);
      } else i++;
    }
    expect(mas.find(MAX)).toBe(v(i));

    mas.set(0n);
    i = 0;
    for (let e = mas.find(765n); e !== null; e = mas.find(765n)) {
      expect([mas.index, mas.last]).toEqual([BigInt(i * 10), BigInt(i * 10 + 9)]);
      if (i === 76) {
        mas.index = 760n;
        mas.last = 765n;
        mas.store(e);
      }
      i++;
    }
    expect(mas.find(MAX)).toBe(v(76));
    valid(tree);
  });

  it("next_prev_test: moves across leaf and level boundaries, at 0 and at MAX", () => {
    const tree = filled(200, 5);
    expect(tree.height).toBeGreaterThanOrEqual(3);
    const mas = new MaState(tree, 0n);
    // Forward over every entry, then backward over every entry.
    for (let i = 0; i <= 200; i++) {
      expect(i === 0 ? mas.find(MAX) : mas.next(MAX)).toBe(v(i));
      expect([mas.index, mas.last]).toEqual([BigInt(i * 10), BigInt(i * 10 + 5)]);
    }
    expect(mas.next(MAX)).toBeNull();
    expect(mas.status).toBe(MaStatus.overflow);
    expect([mas.index, mas.last]).toEqual([2006n, MAX]);
    for (let i = 200; i >= 0; i--) {
      expect(mas.prev(0n)).toBe(v(i));
      expect(mas.index).toBe(BigInt(i * 10));
    }
    expect(mas.prev(0n)).toBeNull();
    expect(mas.status).toBe(MaStatus.underflow);
    // Walk to a gap (686 is between 680-685 and 690-695), then next finds 690.
    mas.set(686n);
    expect(mas.walk()).toBeNull();
    expect([mas.index, mas.last]).toEqual([686n, 689n]);
    expect(mas.next(MAX)).toBe(v(69));
    // for_each with a pause every step visits every entry once.
    mas.set(0n);
    let count = 0;
    for (let e = mas.find(MAX); e !== null; e = mas.find(MAX)) {
      expect(e).toBe(v(count));
      count++;
      mas.pause();
    }
    expect(count).toBe(201);
    // next_range/prev_range see the gaps too.
    mas.set(0n);
    mas.walk();
    expect(mas.nextRange(MAX)).toBeNull();
    expect([mas.index, mas.last]).toEqual([6n, 9n]);
    expect(mas.nextRange(MAX)).toBe(v(1));
    expect(mas.prevRange(0n)).toBeNull();
    expect(mas.prevRange(0n)).toBe(v(0));
  });

  it("check_prev_entry and check_rev_find: limits of prev and find_rev", () => {
    const seq = new MapleTree();
    for (let i = 0; i <= 30; i++) seq.store(BigInt(i), BigInt(i), v(i));
    const m1 = new MaState(seq, 16n);
    expect(m1.find(MAX)).toBe(v(16));
    expect(m1.prev(0n)).toBe(v(15));

    const tree = filled(16, 5);
    const mas = new MaState(tree, 20n);
    expect(mas.walk()).toBe(v(2));
    expect(mas.prev(19n)).toBeNull();
    mas.set(80n);
    expect(mas.walk()).toBe(v(8));
    expect(mas.prev(76n)).toBeNull();

    const rev = filled(200, 5);
    const r = new MaState(rev, 1000n);
    expect(r.findRev(1000n)).toBe(v(100));
    expect(r.findRev(1000n)).toBeNull();
    r.set(999n);
    expect(r.findRev(997n)).toBeNull();
    r.set(1000n);
    expect(r.findRev(900n)).toBe(v(100));
    expect(r.findRev(900n)).toBe(v(99));
    r.set(20n);
    expect([r.findRev(0n), r.findRev(0n), r.findRev(0n), r.findRev(0n)]).toEqual([v(2), v(1), v(0), null]);
  });

  it("check_vma_modification: exec stack set-up on an MM_MT_FLAGS tree", () => {
    const tree = new MapleTree(MM_MT_FLAGS);
    const mas = new MaState(tree, 0x7fffffffe000n, 0x7fffffffefffn);
    mas.setRange(0x7fffffffe000n, 0x7fffffffefffn);
    mas.store("stack");
    mas.set(0x7fffffffe000n);
    mas.walk();
    expect(mas.prevRange(0n)).toBeNull();
    expect([mas.index, mas.last]).toEqual([0n, 0x7fffffffdfffn]);
    tree.store(0x7ffde4ca1000n, 0x7fffffffefffn, "stack");
    valid(tree);
    tree.store(0x7ffde4ca2000n, 0x7fffffffefffn, null);
    valid(tree);
    expect(tree.load(0x7ffde4ca1000n)).toBe("stack");
    expect(tree.load(0x7ffde4ca2000n)).toBeNull();
    expect(tree.rangeOf(0x7ffde4ca2000n)).toEqual({ min: 0x7ffde4ca2000n, max: MAX, entry: null });
  });

  it("test_spanning_store_regression: a store that consumes a whole right leaf", () => {
    const tree = new MapleTree(MT_FLAGS_ALLOC_RANGE);
    for (let i = 0; i < 1000; i++) tree.store(BigInt(i * 100), BigInt(i * 100 + 49), v(i));
    expect(tree.height).toBeGreaterThanOrEqual(3);
    // Find a leaf boundary and write over exactly the next leaf plus a bit of this one.
    const mas = new MaState(tree, 50_000n);
    mas.walk();
    const leafEnd = mas.max;
    mas.set(leafEnd + 1n);
    mas.walk();
    const nextLeafEnd = mas.max;
    tree.store(leafEnd - 10n, nextLeafEnd, "span");
    valid(tree);
    expect(tree.load(nextLeafEnd)).toBe("span");
    expect(tree.load(nextLeafEnd + 1n)).not.toBe("span");
  });

  it("check_spanning_write: NULL stores over many nodes, the whole tree and more than two levels", () => {
    for (const flags of [MT_FLAGS_ALLOC_RANGE, 0]) {
      let tree = filled(5000, 5, flags);
      tree.store(1200n, 2380n, null);
      valid(tree);
      for (const a of [1200n, 1205n, 2000n, 2380n]) expect(tree.load(a)).toBeNull();
      expect(tree.load(2390n)).toBe(v(239));
      tree.store(9n, 50006n, null);
      valid(tree);
      expect(tree.load(0n)).toBe(v(0));
      expect(tree.rangeOf(9n)).toEqual({ min: 6n, max: MAX, entry: null });
      tree = filled(5000, 5, flags);
      tree.store(0n, 12900n, null);
      valid(tree);
      expect(tree.load(12900n)).toBeNull();
      expect(tree.load(12910n)).toBe(v(1291));
    }
  });

  it("check_bnode_min_spanning / check_spanning_relatives: NULL stores that empty whole nodes", () => {
    let tree = filled(50, 5);
    tree.store(240n, 509n, null);
    valid(tree);
    // The last entry is [500, 505]: the NULL range now runs from 236 to the end of the tree.
    expect(tree.rangeOf(240n)).toEqual({ min: 236n, max: MAX, entry: null });
    expect(tree.load(230n)).toBe(v(23));
    tree = filled(1000, 5);
    tree.store(9365n, 9955n, null);
    valid(tree);
    expect(tree.load(9360n)).toBe(v(936));
    expect(tree.load(9960n)).toBe(v(996));
    expect(tree.rangeOf(9500n)).toEqual({ min: 9365n, max: 9959n, entry: null });
  });

  it("check_node_overwrite: one store over most of a multi-level tree", () => {
    const tree = filled(1000, 5, MT_FLAGS_ALLOC_RANGE, 20);
    tree.store(319951n, 367950n, "over");
    valid(tree);
    expect(tree.load(319951n)).toBe("over");
    expect(tree.load(367950n)).toBe("over");
    tree.store(100n, 15000n, "wide");
    valid(tree);
    expect(tree.rangeOf(5000n)).toEqual({ min: 100n, max: 15000n, entry: "wide" });
    expect(tree.load(99n)).toBeNull();
    expect(tree.load(15001n)).toBe(v(750));
  });

  it("check_null_expand: NULL stores merge with neighbouring NULL ranges", () => {
    const tree = filled(100, 5);
    const mas = new MaState(tree, 959n, 963n);
    mas.setRange(959n, 963n);
    mas.store(null);
    expect(tree.rangeOf(963n)).toEqual({ min: 956n, max: 963n, entry: null });
    mas.setRange(884n, 887n);
    mas.store(null);
    expect(tree.rangeOf(884n)).toEqual({ min: 884n, max: 889n, entry: null });
    mas.setRange(900n, 905n);
    mas.store(null);
    expect(tree.rangeOf(900n)).toEqual({ min: 896n, max: 909n, entry: null });
    mas.setRange(810n, 825n);
    mas.store(null);
    expect(tree.rangeOf(810n)).toEqual({ min: 806n, max: 829n, entry: null });
    valid(tree);
  });

  it("check_rcu_simulated: a reader on an old node restarts and sees a consistent view", () => {
    const tree = filled(300, 5, MM_MT_FLAGS);
    const reader = new MaState(tree, 1000n);
    expect(reader.walk()).toBe(v(100));
    const oldLeaf = reader.node;
    // Writer replaces the reader's whole leaf (a store that changes the node's shape).
    tree.store(1006n, 1019n, "new");
    expect(oldLeaf?.dead).toBe(true);
    expect(reader.next(MAX)).toBe("new");
    expect(reader.restarts).toBeGreaterThan(0);
    // Overwriting the entry the reader sits on in place (exact fit) is seen on the next walk.
    reader.set(1030n);
    expect(reader.walk()).toBe(v(103));
    tree.store(1030n, 1035n, "replaced");
    expect(reader.walk()).toBe("replaced");
    // A forward RCU iterator never goes backwards while writers churn behind and ahead of it.
    const it = new MaState(tree, 0n);
    let lastSeen = -1n;
    let step = 0;
    for (let e = it.find(MAX); e !== null; e = it.find(MAX)) {
      expect(it.index > lastSeen).toBe(true);
      lastSeen = it.last;
      const at = BigInt((step * 37) % 3000);
      if (step % 2) tree.store(at, at + 3n, `w${step}`);
      else tree.erase(at);
      step++;
    }
    valid(tree);
  });

  it("check_root_expand: single entries at 0 and elsewhere", () => {
    const tree = new MapleTree();
    tree.store(0n, 0n, "zero");
    expect(tree.root).toBeNull();
    expect(tree.height).toBe(0);
    expect(tree.load(0n)).toBe("zero");
    expect(tree.load(1n)).toBeNull();
    tree.store(1n, 1n, "one");
    expect(tree.height).toBe(1);
    expect(tree.load(0n)).toBe("zero");
    expect(tree.load(1n)).toBe("one");
    valid(tree);
    const t2 = new MapleTree();
    t2.store(0n, MAX, "all");
    expect(t2.lastStoreType).toBe(StoreType.newRoot);
    expect(t2.load(MAX)).toBe("all");
    // The kernel classifies exact fit before new root: the single slot is NULLed in place.
    t2.store(0n, MAX, null);
    expect(t2.lastStoreType).toBe(StoreType.exactFit);
    expect(t2.load(5n)).toBeNull();
    // A NULL store over [0, MAX] of a tree with several ranges is a new root: the tree empties.
    const t3 = filled(100, 5);
    t3.store(0n, MAX, null);
    expect(t3.empty).toBe(true);
    expect(t3.height).toBe(0);
  });

  it("check_insert_range: inserts into occupied ranges fail with EEXIST", () => {
    const tree = filled(50, 5);
    expect(() => tree.insert(3n, 7n, "x")).toThrow(KernelMmError);
    try {
      tree.insert(8n, 12n, "x");
    } catch (e) {
      expect((e as KernelMmError).errno).toBe(Errno.EEXIST);
    }
    tree.insert(6n, 9n, "gap");
    expect(tree.load(7n)).toBe("gap");
    expect(() => tree.store(5n, 4n, "bad")).toThrow(/index > last/);
    valid(tree);
  });

  it("check_seq / check_rev_seq: ascending and descending single-index inserts", () => {
    for (const rev of [false, true]) {
      const tree = new MapleTree();
      for (let k = 0; k < 1000; k++) {
        const i = rev ? 1000 - k : k;
        tree.store(BigInt(i), BigInt(i), v(i));
        if (k % 97 === 0) valid(tree);
      }
      valid(tree);
      expect(tree.height).toBeGreaterThan(1);
      for (let k = 0; k < 1000; k++) {
        const i = rev ? 1000 - k : k;
        expect(tree.load(BigInt(i))).toBe(v(i));
      }
    }
  });

  it("empty area search: lowest and highest windows, EBUSY and EINVAL", () => {
    const tree = new MapleTree(MM_MT_FLAGS);
    for (const [a, b] of [
      [0x1000n, 0x1fffn],
      [0x4000n, 0x4fffn],
      [0x8000n, 0x9fffn],
    ] as const) {
      tree.store(a, b, "x");
    }
    expect(emptyArea(tree, 0x1000n, 0xffffn, 0x2000n)).toEqual({ index: 0x2000n, last: 0x3fffn });
    expect(emptyArea(tree, 0x1000n, 0xffffn, 0x3000n)).toEqual({ index: 0x5000n, last: 0x7fffn });
    expect(emptyAreaRev(tree, 0n, 0x7fffn, 0x1000n)).toEqual({ index: 0x7000n, last: 0x7fffn });
    expect(emptyAreaRev(tree, 0x1000n, 0x3fffn, 0x2000n)).toEqual({ index: 0x2000n, last: 0x3fffn });
    expect(() => emptyArea(tree, 0x1000n, 0x4fffn, 0x3000n)).toThrow(/no free window/);
    expect(() => emptyArea(tree, 5n, 4n, 1n)).toThrow(KernelMmError);
    expect(emptyArea(new MapleTree(MM_MT_FLAGS), 10n, 100n, 5n)).toEqual({ index: 10n, last: 14n });
  });

  it("check_dup: a duplicated tree has the same shape and contents", () => {
    const tree = filled(400, 5, MM_MT_FLAGS);
    const copy = dupTree(tree);
    valid(copy);
    expect(copy.height).toBe(tree.height);
    const a = new MaState(tree, 0n);
    const b = new MaState(copy, 0n);
    for (let e = a.find(MAX); e !== null; e = a.find(MAX)) {
      expect(b.find(MAX)).toBe(e);
      expect([b.index, b.last, b.node?.end]).toEqual([a.index, a.last, a.node?.end]);
    }
    copy.store(0n, 100n, null);
    expect(tree.load(0n)).toBe(v(0));
  });

  it("XA_ZERO_ENTRY reads as NULL through mtree_load but is returned by mas_find", () => {
    const tree = new MapleTree(MM_MT_FLAGS);
    tree.store(0x1000n, 0x1fffn, XA_ZERO_ENTRY);
    expect(tree.load(0x1000n)).toBeNull();
    expect(new MaState(tree, 0n).find(MAX)).toBe(XA_ZERO_ENTRY);
  });
});
