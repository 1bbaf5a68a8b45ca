import { MapleNode } from "./node.js";
import { MapleTree } from "./tree.js";

/**
 * `__mt_dup`: a copy of `tree` with the same node shape (fork copies the parent's tree this way).
 * `mapEntry` lets the caller substitute entries (fork gives the child its own VMAs).
 */
export function dupTree(tree: MapleTree, mapEntry: (entry: unknown) => unknown = (e) => e): MapleTree {
  const copy = new MapleTree(tree.flags);
  copy.flags = tree.flags;
  copy.rootEntry = tree.rootEntry === null ? null : mapEntry(tree.rootEntry);
  const clone = (node: MapleNode, parent: MapleNode | null, slot: number): MapleNode => {
    const n = new MapleNode(node.type);
    copy.stats.allocated++;
    n.end = node.end;
    n.pivots.set(node.pivots);
    n.fp.set(node.fp);
    if (node.gaps && n.gaps) n.gaps.set(node.gaps);
    n.gapSlot = node.gapSlot;
    n.parent = parent;
    n.parentSlot = slot;
    for (let i = 0; i <= node.end; i++) {
      const s = node.slots[i];
      n.slots[i] = node.isLeaf ? (s === null ? null : mapEntry(s)) : clone(s as MapleNode, n, i);
    }
    return n;
  };
  copy.root = tree.root ? clone(tree.root, null, 0) : null;
  return copy;
}
