import { MapleType, MT_SLOTS } from "./constants.js";

// Node arrays are views into shared chunks: a typed array above 64 bytes gets its own off-heap
// buffer, which costs microseconds to allocate, while a view into an existing buffer costs about a
// hundred nanoseconds. A chunk is released by the GC once no node viewing it is left.
const CHUNK = 4096;
let f64Chunk: Float64Array | null = null;
let f64At = CHUNK;
let u64Chunk: BigUint64Array | null = null;
let u64At = CHUNK;

function takeF64(n: number): Float64Array {
  if (f64At + n > CHUNK || f64Chunk === null) {
    f64Chunk = new Float64Array(CHUNK);
    f64At = 0;
  }
  const v = f64Chunk.subarray(f64At, f64At + n);
  f64At += n;
  return v;
}

function takeU64(n: number): BigUint64Array {
  if (u64At + n > CHUNK || u64Chunk === null) {
    u64Chunk = new BigUint64Array(CHUNK);
    u64At = 0;
  }
  const v = u64Chunk.subarray(u64At, u64At + n);
  u64At += n;
  return v;
}

/**
 * One 256-byte maple node as an object. Pivots are exact in a BigUint64Array with a Float64Array
 * mirror for the hot comparisons (rounding is monotonic, so a strict double comparison is always
 * right and only ties above 2^53 need the bigint). Unlike the kernel's image, `pivots[end]` always
 * holds the node's max, so readers never need the parent to know where a node ends.
 */
export class MapleNode {
  readonly type: MapleType;
  /** Data end: index of the last used slot (`ma_meta.end`). */
  end = 0;
  readonly pivots: BigUint64Array;
  readonly fp: Float64Array;
  /** Entries in leaves (null = gap), child nodes in internal nodes. */
  readonly slots: unknown[];
  /** Largest gap below each child (arange_64 only). */
  readonly gaps: BigUint64Array | null;
  /** `ma_meta.gap`: slot of the largest gap. */
  gapSlot = 0;
  parent: MapleNode | null = null;
  parentSlot = 0;
  /** Set when a write replaced the node; an RCU reader that sees it re-walks from the root. */
  dead = false;

  constructor(type: MapleType) {
    this.type = type;
    const n = MT_SLOTS[type] ?? 16;
    this.pivots = takeU64(n);
    this.fp = takeF64(n);
    this.slots = new Array<unknown>(n).fill(null);
    this.gaps = type === MapleType.arange64 ? takeU64(n) : null;
  }

  get isLeaf(): boolean {
    // range64 = 2; a literal, since imported bindings are getters under vite-node.
    return this.type < 2;
  }

  get max(): bigint {
    return this.pivots[this.end] as bigint;
  }

  setPivot(i: number, value: bigint): void {
    this.pivots[i] = value;
    this.fp[i] = Number(value);
  }

  child(i: number): MapleNode {
    return this.slots[i] as MapleNode;
  }
}

/** Lowest index a node covers, derived through the parents as the kernel does. */
export function nodeMin(node: MapleNode): bigint {
  const min = 0n;
  let n = node;
  for (;;) {
    const p = n.parent;
    if (!p) return min;
    if (n.parentSlot > 0) return (p.pivots[n.parentSlot - 1] as bigint) + 1n;
    n = p;
  }
}

/** Next node on the same level, or null at the right edge. */
export function levelNext(node: MapleNode): MapleNode | null {
  let up = 0;
  let n = node;
  while (n.parent && n.parentSlot >= n.parent.end) {
    n = n.parent;
    up++;
  }
  if (!n.parent) return null;
  let m = n.parent.child(n.parentSlot + 1);
  for (; up > 0; up--) m = m.child(0);
  return m;
}

/** Previous node on the same level, or null at the left edge. */
export function levelPrev(node: MapleNode): MapleNode | null {
  let up = 0;
  let n = node;
  while (n.parent && n.parentSlot === 0) {
    n = n.parent;
    up++;
  }
  if (!n.parent) return null;
  let m = n.parent.child(n.parentSlot - 1);
  for (; up > 0; up--) m = m.child(m.end);
  return m;
}

/** Largest NULL range in a leaf (`ma_leaf_max_gap`), computed on demand as in the kernel. */
export function leafMaxGap(leaf: MapleNode, min: bigint): bigint {
  // Below 2^53 (every user address) doubles are exact: no bigint arithmetic per slot.
  const end = leaf.end;
  const fp = leaf.fp;
  if ((fp[end] as number) < 2 ** 53) {
    let bestF = 0;
    let startF = Number(min);
    for (let i = 0; i <= end; i++) {
      const piv = fp[i] as number;
      if (leaf.slots[i] === null && piv - startF + 1 > bestF) bestF = piv - startF + 1;
      startF = piv + 1;
    }
    return BigInt(bestF);
  }
  let best = 0n;
  let start = min;
  for (let i = 0; i <= leaf.end; i++) {
    const piv = leaf.pivots[i] as bigint;
    if (leaf.slots[i] === null) {
      const size = BigInt.asUintN(64, piv - start + 1n);
      if (size > best) best = size;
    }
    start = piv + 1n;
  }
  return best;
}

/** Largest gap recorded in an internal node, or computed for a leaf. */
export function nodeMaxGap(node: MapleNode, min: bigint): bigint {
  if (node.isLeaf) return leafMaxGap(node, min);
  const gaps = node.gaps;
  if (!gaps) return 0n;
  return gaps[node.gapSlot] as bigint;
}

/** Recomputes `gaps[]` and `gapSlot` of an arange node from its children. */
export function fillGaps(node: MapleNode, min: bigint): void {
  const gaps = node.gaps;
  if (!gaps) return;
  let start = min;
  let best = 0n;
  let bestSlot = 0;
  for (let i = 0; i <= node.end; i++) {
    const g = nodeMaxGap(node.child(i), start);
    gaps[i] = g;
    if (g > best) {
      best = g;
      bestSlot = i;
    }
    start = (node.pivots[i] as bigint) + 1n;
  }
  for (let i = node.end + 1; i < gaps.length; i++) gaps[i] = 0n;
  node.gapSlot = bestSlot;
}
