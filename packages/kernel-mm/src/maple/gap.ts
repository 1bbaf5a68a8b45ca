import { Errno, KernelMmError } from "../errors.js";
import type { MapleNode } from "./node.js";
import type { MapleTree } from "./tree.js";

/** A free window `[index, last]` found by the empty-area search. */
export interface AreaWindow {
  index: bigint;
  last: bigint;
}

function checkArgs(min: bigint, max: bigint, size: bigint, op: string): void {
  if (min > max || size === 0n || max - min < size - 1n) {
    throw new KernelMmError(`${op}: invalid window [${min}, ${max}] for size ${size}`, Errno.EINVAL, op);
  }
}

/**
 * `mas_empty_area`: the lowest window of `size` free indices inside `[min, max]`, descending only
 * into children whose recorded gap is large enough (spec 1.11). −EBUSY when there is none.
 */
export function emptyArea(tree: MapleTree, min: bigint, max: bigint, size: bigint): AreaWindow {
  checkArgs(min, max, size, "empty_area");
  let lo = min;
  if (tree.root === null) {
    if (tree.rootEntry !== null && lo === 0n) lo = 1n;
    if (max - lo < size - 1n) throw busy("empty_area");
    return { index: lo, last: lo + size - 1n };
  }
  const found = searchUp(tree.root, 0n, lo, max, size);
  if (found === undefined) throw busy("empty_area");
  return { index: found, last: found + size - 1n };
}

/** `mas_empty_area_rev`: the highest such window. */
export function emptyAreaRev(tree: MapleTree, min: bigint, max: bigint, size: bigint): AreaWindow {
  checkArgs(min, max, size, "empty_area_rev");
  if (tree.root === null) {
    let lo = min;
    if (tree.rootEntry !== null && lo === 0n) lo = 1n;
    if (max - lo < size - 1n) throw busy("empty_area_rev");
    return { index: max - size + 1n, last: max };
  }
  const found = searchDown(tree.root, 0n, min, max, size);
  if (found === undefined) throw busy("empty_area_rev");
  return { index: found - size + 1n, last: found };
}

function busy(op: string): KernelMmError {
  return new KernelMmError(`${op}: no free window of that size`, Errno.EBUSY, op);
}

function searchUp(node: MapleNode, nmin: bigint, min: bigint, max: bigint, size: bigint): bigint | undefined {
  let start = nmin;
  for (let i = 0; i <= node.end; i++) {
    const end = node.pivots[i] as bigint;
    const cmin = start;
    start = end + 1n;
    if (end < min) continue;
    if (cmin > max) break;
    if (node.isLeaf) {
      if (node.slots[i] !== null) continue;
      const lo = cmin > min ? cmin : min;
      const hi = end < max ? end : max;
      if (hi >= lo && hi - lo + 1n >= size) return lo;
      continue;
    }
    if (node.gaps && (node.gaps[i] as bigint) < size) continue;
    const r = searchUp(node.child(i), cmin, min, max, size);
    if (r !== undefined) return r;
  }
  return undefined;
}

function searchDown(
  node: MapleNode,
  nmin: bigint,
  min: bigint,
  max: bigint,
  size: bigint,
): bigint | undefined {
  for (let i = node.end; i >= 0; i--) {
    const end = node.pivots[i] as bigint;
    const cmin = i > 0 ? (node.pivots[i - 1] as bigint) + 1n : nmin;
    if (cmin > max) continue;
    if (end < min) break;
    if (node.isLeaf) {
      if (node.slots[i] !== null) continue;
      const lo = cmin > min ? cmin : min;
      const hi = end < max ? end : max;
      if (hi >= lo && hi - lo + 1n >= size) return hi;
      continue;
    }
    if (node.gaps && (node.gaps[i] as bigint) < size) continue;
    const r = searchDown(node.child(i), cmin, min, max, size);
    if (r !== undefined) return r;
  }
  return undefined;
}

/**
 * `mtree_alloc_range`: stores `entry` in the lowest free window of `size` inside `[min, max]`
 * and returns its first index (−EBUSY / −EINVAL as `KernelMmError`).
 */
export function allocRange(tree: MapleTree, entry: unknown, size: bigint, min: bigint, max: bigint): bigint {
  const w = emptyArea(tree, min, max, size);
  tree.store(w.index, w.last, entry);
  return w.index;
}

/** `mtree_alloc_rrange`: the same with the highest window. */
export function allocRangeRev(
  tree: MapleTree,
  entry: unknown,
  size: bigint,
  min: bigint,
  max: bigint,
): bigint {
  const w = emptyAreaRev(tree, min, max, size);
  tree.store(w.index, w.last, entry);
  return w.index;
}
