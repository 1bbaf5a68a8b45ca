import { beforeAll, describe, expect, it } from "vitest";
import { skipReason } from "../../../scripts/test-env.js";
import {
  allocRange,
  allocRangeRev,
  emptyArea,
  emptyAreaRev,
  KernelMmError,
  MAX,
  MapleTree,
  MT_FLAGS_ALLOC_RANGE,
  validateTree,
  XA_ZERO_ENTRY,
} from "../src/index.js";
import { constArrays, hasLinuxSource, kernelSourceFile, linuxTarball } from "./kernel-source.js";

// check_alloc_range and check_alloc_rev_range of lib/test_maple_tree.c: VMAs of a real
// /proc/self/maps, the holes between them, and allocation requests with their expected answers;
// the tables are read from the kernel source at run time.
const MTREE_ALLOC_MAX = 0x2000000000000n;
const skip = skipReason("maple check_alloc_range", [[hasLinuxSource, `${linuxTarball} not installed`]]);

function signed(v: bigint): bigint {
  return BigInt.asIntN(64, v);
}

describe.skipIf(skip)("maple tree: check_alloc_range / check_alloc_rev_range tables", () => {
  let fwd = new Map<string, bigint[]>();
  let rev = new Map<string, bigint[]>();
  beforeAll(() => {
    const src = kernelSourceFile("lib/test_maple_tree.c");
    fwd = constArrays(src, "void __init check_alloc_range(");
    rev = constArrays(src, "void __init check_alloc_rev_range(");
  });

  function build(range: bigint[]): MapleTree {
    const tree = new MapleTree(MT_FLAGS_ALLOC_RANGE);
    tree.store(MTREE_ALLOC_MAX, MAX, XA_ZERO_ENTRY);
    for (let i = 0; i < range.length; i += 2) {
      const a = (range[i] as bigint) >> 12n;
      tree.insert(a, ((range[i + 1] as bigint) >> 12n) - 1n, `v${a}`);
      expect(validateTree(tree)).toEqual([]);
    }
    return tree;
  }

  function request(
    tree: MapleTree,
    alloc: typeof allocRange,
    req: bigint[],
    i: number,
  ): { got: bigint | number; want: bigint | number } {
    const [start, end, size, expected, eret] = req.slice(i, i + 5) as [
      bigint,
      bigint,
      bigint,
      bigint,
      bigint,
    ];
    const ret = signed(eret);
    try {
      const got = alloc(tree, `v${start >> 12n}`, size >> 12n, start >> 12n, end >> 12n);
      return { got, want: ret === 0n ? expected >> 12n : Number(ret) };
    } catch (e) {
      if (!(e instanceof KernelMmError)) throw e;
      return { got: -e.errno, want: ret === 0n ? expected >> 12n : Number(ret) };
    }
  }

  it("forward: holes found in order, then every request", () => {
    const range = fwd.get("range") as bigint[];
    const holes = fwd.get("holes") as bigint[];
    const req = fwd.get("req_range") as bigint[];
    expect(range.length).toBeGreaterThan(20);
    expect(req.length).toBeGreaterThanOrEqual(35);
    const tree = build(range);
    let min = range[0] as bigint;
    for (let i = 0; i < holes.length; i += 3) {
      const w = emptyArea(tree, min >> 12n, (holes[i + 1] as bigint) >> 12n, (holes[i + 2] as bigint) >> 12n);
      expect(w.index, `hole ${i / 3}`).toBe((holes[i] as bigint) >> 12n);
      min = holes[i + 1] as bigint;
    }
    for (let i = 0; i < req.length; i += 5) {
      const { got, want } = request(tree, allocRange, req, i);
      expect(got, `request ${i / 5}`).toBe(want);
      expect(validateTree(tree)).toEqual([]);
    }
  });

  it("reverse: holes found from the top, then every request", () => {
    const range = rev.get("range") as bigint[];
    const holes = rev.get("holes") as bigint[];
    const req = rev.get("req_range") as bigint[];
    expect(req.length).toBeGreaterThanOrEqual(35);
    const tree = build(range);
    let min = 0n;
    for (let i = 0; i < holes.length; i += 3) {
      const max = (holes[i + 1] as bigint) >> 12n;
      const size = (holes[i + 2] as bigint) >> 12n;
      const w = emptyAreaRev(tree, min, max, size);
      expect(w.last + 1n, `hole ${i / 3}`).toBe(max);
      expect(w.index).toBe(max - size);
      min = max;
    }
    for (let i = 0; i < req.length; i += 5) {
      const { got, want } = request(tree, allocRangeRev, req, i);
      expect(got, `request ${i / 5}`).toBe(want);
      expect(validateTree(tree)).toEqual([]);
    }
  });
});
