import { MAX, MT_MIN_SLOTS, MT_PIVOTS } from "./constants.js";
import { leafMaxGap, type MapleNode } from "./node.js";
import type { MapleTree } from "./tree.js";

/**
 * `mt_validate`: checks every invariant of spec 1.6 and returns the violations (empty when the
 * tree is sound), each naming the node range and slot.
 */
export function validateTree(tree: MapleTree): string[] {
  const errors: string[] = [];
  const root = tree.root;
  if (root === null) {
    if (tree.height !== 0) errors.push(`height ${tree.height} recorded for a tree without nodes`);
    return errors;
  }
  if (root.parent !== null) errors.push("root node has a parent");
  let leafDepth = -1;
  let prevLeafEndsNull = false;
  const visit = (node: MapleNode, min: bigint, max: bigint, depth: number): bigint => {
    const at = `node [0x${min.toString(16)}, 0x${max.toString(16)}] depth ${depth}`;
    if (node.dead) errors.push(`${at}: dead node reachable`);
    const end = node.end;
    const slots = node.slots.length;
    if (end < 0 || end >= slots) errors.push(`${at}: data end ${end} out of range`);
    if (node !== root && max !== MAX && end < (MT_MIN_SLOTS[node.type] as number)) {
      errors.push(`${at}: data end ${end} below minimum ${MT_MIN_SLOTS[node.type]}`);
    }
    let prev = min - 1n;
    for (let i = 0; i <= end; i++) {
      const piv = node.pivots[i] as bigint;
      if (piv <= prev) {
        errors.push(`${at}: pivot ${i} = 0x${piv.toString(16)} not increasing`);
      }
      if (piv > max) errors.push(`${at}: pivot ${i} above node max`);
      if (node.fp[i] !== Number(piv)) errors.push(`${at}: pivot mirror ${i} stale`);
      if (i < end && piv === max) errors.push(`${at}: pivot ${i} reaches max before the data end`);
      prev = piv;
    }
    if ((node.pivots[end] as bigint) !== max) errors.push(`${at}: last pivot is not the node max`);
    for (let i = end + 1; i < slots; i++) {
      if (node.slots[i] !== null) errors.push(`${at}: slot ${i} past the end is used`);
      if (i < (MT_PIVOTS[node.type] as number) && node.pivots[i] !== 0n)
        errors.push(`${at}: pivot ${i} past end`);
    }
    if (node.isLeaf) {
      if (leafDepth === -1) leafDepth = depth;
      else if (leafDepth !== depth) errors.push(`${at}: leaf depth ${depth} != ${leafDepth}`);
      for (let i = 0; i <= end; i++) {
        const isNull = node.slots[i] === null;
        const prevNull = i === 0 ? prevLeafEndsNull : node.slots[i - 1] === null;
        if (isNull && prevNull) errors.push(`${at}: consecutive NULL ranges at slot ${i}`);
      }
      if (max !== MAX && node.slots[end] === null) errors.push(`${at}: non-rightmost leaf ends with NULL`);
      prevLeafEndsNull = node.slots[end] === null;
      return leafMaxGap(node, min);
    }
    let start = min;
    let best = 0n;
    let bestSlot = 0;
    for (let i = 0; i <= end; i++) {
      const child = node.slots[i] as MapleNode | null;
      const piv = node.pivots[i] as bigint;
      if (child === null || typeof child !== "object") {
        errors.push(`${at}: internal slot ${i} is empty`);
        start = piv + 1n;
        continue;
      }
      if (child.parent !== node || child.parentSlot !== i)
        errors.push(`${at}: child ${i} has a wrong parent`);
      const g = visit(child, start, piv, depth + 1);
      if (node.gaps) {
        if (node.gaps[i] !== g) errors.push(`${at}: gap ${i} = ${node.gaps[i]} but subtree gap is ${g}`);
        if (g > piv - start + 1n) errors.push(`${at}: gap ${i} exceeds the child range`);
      }
      if (g > best) {
        best = g;
        bestSlot = i;
      }
      start = piv + 1n;
    }
    if (node.gaps) {
      if (node.gapSlot !== bestSlot) errors.push(`${at}: meta.gap ${node.gapSlot} != ${bestSlot}`);
      for (let i = end + 1; i < node.gaps.length; i++)
        if (node.gaps[i] !== 0n) errors.push(`${at}: gap ${i} past end`);
    }
    return best;
  };
  visit(root, 0n, MAX, 1);
  if (leafDepth !== tree.height) errors.push(`height ${tree.height} but leaves at depth ${leafDepth}`);
  return errors;
}
