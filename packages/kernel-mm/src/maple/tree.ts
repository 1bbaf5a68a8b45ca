import { Errno, KernelMmError } from "../errors.js";
import {
  EXACT_F,
  MAX,
  MapleType,
  MT_FLAGS_ALLOC_RANGE,
  MT_FLAGS_HEIGHT_MASK,
  MT_FLAGS_HEIGHT_OFFSET,
  MT_FLAGS_USE_RCU,
  MT_MIN_SLOTS,
  MT_SLOTS,
  StoreType,
  XA_ZERO_ENTRY,
} from "./constants.js";
import { fillGaps, levelNext, levelPrev, MapleNode, nodeMaxGap, nodeMin } from "./node.js";

// Module-local copies for the lookup loop (imported bindings are getters under vite-node).
const EXACT = EXACT_F;
const EXACT_BIG = 2n ** 53n;
const ZERO = XA_ZERO_ENTRY;

/** Counters a caller can read to see what writes cost (nodes built, nodes retired through RCU). */
export interface MapleStats {
  allocated: number;
  retired: number;
  /** Retired nodes still waiting for a grace period (freed by `rcuBarrier`). */
  pendingFree: number;
}

/** A flat run of ranges used while rebuilding: `vals[i]` covers `[pivs[i-1]+1, pivs[i]]`. */
interface Items {
  pivs: bigint[];
  vals: unknown[];
}

/**
 * The maple tree of lib/maple_tree.c: a B-tree of leaf_64 and range_64/arange_64 nodes mapping
 * every index of `[0, MAX]` to an entry or null. Writers follow the kernel's write path (exact fit
 * and slot store in place, everything else copy-on-write with split, rebalance and spanning store)
 * and never change a published node except in the ways RCU readers tolerate (spec 1.10).
 */
export class MapleTree {
  flags: number;
  /** Root node, or null when the tree is empty or holds a single root entry. */
  root: MapleNode | null = null;
  /** The entry kept directly in `ma_root` for a height-0 tree (index 0 only). */
  rootEntry: unknown = null;
  /** How the last store was carried out (enum store_type). */
  lastStoreType: StoreType = StoreType.invalid;
  readonly stats: MapleStats = { allocated: 0, retired: 0, pendingFree: 0 };

  constructor(flags = 0) {
    this.flags = flags & ~MT_FLAGS_HEIGHT_MASK;
  }

  get height(): number {
    return (this.flags & MT_FLAGS_HEIGHT_MASK) >> MT_FLAGS_HEIGHT_OFFSET;
  }

  private setHeight(h: number): void {
    this.flags = (this.flags & ~MT_FLAGS_HEIGHT_MASK) | (h << MT_FLAGS_HEIGHT_OFFSET);
  }

  get allocRange(): boolean {
    return (this.flags & MT_FLAGS_ALLOC_RANGE) !== 0;
  }

  get inRcuMode(): boolean {
    return (this.flags & MT_FLAGS_USE_RCU) !== 0;
  }

  /** `mt_set_in_rcu` / `mt_clear_in_rcu`. */
  setRcu(on: boolean): void {
    this.flags = on ? this.flags | MT_FLAGS_USE_RCU : this.flags & ~MT_FLAGS_USE_RCU;
  }

  get empty(): boolean {
    return this.root === null && this.rootEntry === null;
  }

  /** `mtree_load`: the entry covering `index`; XA_ZERO_ENTRY reads as null. */
  load(index: bigint): unknown {
    if (index < EXACT_BIG && index >= 0n) return this.loadNumber(Number(index));
    const e = this.loadRaw(index);
    return e === ZERO ? null : e;
  }

  /** Lookup by a JS number (exact below 2^53, which covers every user address): no bigint work. */
  loadNumber(index: number): unknown {
    if (!(index < EXACT)) return this.load(BigInt(index));
    let node = this.root;
    if (node === null) return index === 0 ? this.rootEntry : null;
    for (;;) {
      const fp = node.fp;
      const end = node.end;
      let i = 0;
      while (i < end && (fp[i] as number) < index) i++;
      const slot = node.slots[i];
      if (node.isLeaf) return slot === ZERO ? null : slot;
      node = slot as MapleNode;
    }
  }

  loadRaw(index: bigint): unknown {
    let node = this.root;
    if (node === null) return index === 0n ? this.rootEntry : null;
    for (;;) {
      const i = slotOf(node, index);
      const slot = node.slots[i];
      if (node.isLeaf) return slot;
      node = slot as MapleNode;
    }
  }

  /** `mtree_store_range`: `[index, last]` maps to `entry`; returns the entry that covered `index`. */
  store(index: bigint, last: bigint, entry: unknown): unknown {
    if (index > last || index < 0n || last > MAX) {
      throw new KernelMmError(
        `maple store [${hex(index)}, ${hex(last)}]: index > last`,
        Errno.EINVAL,
        "store",
      );
    }
    const value = entry === undefined ? null : entry;
    if (this.root === null) return this.storeRoot(index, last, value);
    return this.storeNode(index, last, value);
  }

  /** `mtree_insert_range`: like store, but −EEXIST when any index of the range is occupied. */
  insert(index: bigint, last: bigint, entry: unknown): void {
    if (index > last) throw new KernelMmError("maple insert: index > last", Errno.EINVAL, "insert");
    if (this.firstEntryIn(index, last) !== undefined) {
      throw new KernelMmError(
        `maple insert [${hex(index)}, ${hex(last)}]: range occupied`,
        Errno.EEXIST,
        "insert",
      );
    }
    this.store(index, last, entry);
  }

  /** `mtree_erase`: nulls the whole range containing `index`; returns its old entry. */
  erase(index: bigint): unknown {
    const r = this.rangeOf(index);
    if (r.entry === null) return null;
    this.store(r.min, r.max, null);
    return r.entry;
  }

  /** The range (and entry) containing `index`, like `mas_walk`. */
  rangeOf(index: bigint): { min: bigint; max: bigint; entry: unknown } {
    let node = this.root;
    if (node === null) {
      if (index === 0n && this.rootEntry !== null) return { min: 0n, max: 0n, entry: this.rootEntry };
      return this.rootEntry !== null
        ? { min: 1n, max: MAX, entry: null }
        : { min: 0n, max: MAX, entry: null };
    }
    let min = 0n;
    for (;;) {
      const i = slotOf(node, index);
      if (i > 0) min = (node.pivots[i - 1] as bigint) + 1n;
      if (node.isLeaf) return { min, max: node.pivots[i] as bigint, entry: node.slots[i] };
      node = node.child(i);
    }
  }

  /** First non-null entry intersecting `[index, last]`, or undefined. */
  private firstEntryIn(index: bigint, last: bigint): unknown {
    let at = index;
    for (;;) {
      const r = this.rangeOf(at);
      if (r.entry !== null) return r.entry;
      if (r.max >= last || r.max === MAX) return undefined;
      at = r.max + 1n;
    }
  }

  /** `rcu_barrier`: every retired node's grace period has passed. */
  rcuBarrier(): void {
    this.stats.pendingFree = 0;
  }

  /** `mtree_destroy`. */
  destroy(): void {
    if (this.root) this.retireSubtree(this.root);
    this.root = null;
    this.rootEntry = null;
    this.setHeight(0);
  }

  private retireSubtree(node: MapleNode): void {
    node.dead = true;
    this.stats.retired++;
    this.stats.pendingFree++;
    if (!node.isLeaf) for (let i = 0; i <= node.end; i++) this.retireSubtree(node.child(i));
  }

  // ---- write path -------------------------------------------------------------------------

  private storeRoot(index: bigint, last: bigint, entry: unknown): unknown {
    const old = index === 0n ? this.rootEntry : null;
    if (index === 0n && last === 0n) {
      this.lastStoreType = StoreType.storeRoot;
      this.rootEntry = entry;
      return old;
    }
    this.lastStoreType = index === 0n && last === MAX ? StoreType.newRoot : StoreType.storeRoot;
    const items: Items =
      this.rootEntry !== null
        ? { pivs: [0n, MAX], vals: [this.rootEntry, null] }
        : { pivs: [MAX], vals: [null] };
    const out = applyStore(0n, items, index, last, entry);
    this.rootEntry = null;
    if (out.vals.length === 1 && out.vals[0] === null) {
      this.setHeight(0);
      return old;
    }
    const leaf = this.newNode(MapleType.leaf64);
    fillNode(leaf, out.pivs, out.vals, 0, out.pivs.length);
    this.root = leaf;
    this.setHeight(1);
    return old;
  }

  private storeNode(index: bigint, last: bigint, entry: unknown): unknown {
    const root = this.root as MapleNode;
    let leaf = root;
    let lmin = 0n;
    let lmax = MAX;
    while (!leaf.isLeaf) {
      const i = slotOf(leaf, index);
      if (i > 0) lmin = (leaf.pivots[i - 1] as bigint) + 1n;
      lmax = leaf.pivots[i] as bigint;
      leaf = leaf.child(i);
    }
    const end = leaf.end;
    let off = slotOf(leaf, index);
    const old = leaf.slots[off];
    const spanning = last > lmax || (last === lmax && entry === null && lmax !== MAX);
    if (spanning) {
      this.lastStoreType = index === 0n && last === MAX ? StoreType.newRoot : StoreType.spanningStore;
      const right = last === MAX ? this.rightmostLeaf() : this.leafOf(last + 1n);
      const items = leafItems(leaf);
      let runMax = lmax;
      if (right.node !== leaf) {
        if (right.min > lmax + 1n) {
          items.pivs.push(right.min - 1n);
          items.vals.push(null);
        }
        const r = leafItems(right.node);
        items.pivs.push(...r.pivs);
        items.vals.push(...r.vals);
        runMax = right.node.max;
      }
      this.rebuild(0, leaf, right.node, lmin, runMax, applyStore(lmin, items, index, last, entry));
      return old;
    }

    // Non-spanning: the whole write lands in this leaf (spec 1.8).
    let oe = off;
    while ((leaf.pivots[oe] as bigint) < last) oe++;
    let rMin = off > 0 ? (leaf.pivots[off - 1] as bigint) + 1n : lmin;
    let endPiv = leaf.pivots[oe] as bigint;
    let idx = index;
    let lst = last;
    if (entry === null) {
      if (leaf.slots[oe] === null) lst = endPiv;
      else if (lst === endPiv && oe !== end && leaf.slots[oe + 1] === null) {
        oe++;
        lst = endPiv = leaf.pivots[oe] as bigint;
      }
      if (leaf.slots[off] === null) idx = rMin;
      else if (idx === rMin && off > 0 && leaf.slots[off - 1] === null) {
        off--;
        idx = rMin = off > 0 ? (leaf.pivots[off - 1] as bigint) + 1n : lmin;
      }
    }
    if (off === oe && rMin === idx && endPiv === lst) {
      this.lastStoreType = StoreType.exactFit;
      const before = leaf.slots[off];
      leaf.slots[off] = entry;
      if ((before === null) !== (entry === null)) this.updateGapsAbove(leaf, lmin);
      return old;
    }
    const newEnd = end + 2 - (oe - off) - (rMin === idx ? 1 : 0) - (endPiv === lst ? 1 : 0);
    if (newEnd === end && oe - off === 1) {
      this.lastStoreType = StoreType.slotStore;
      if (idx === rMin) {
        leaf.slots[off] = entry;
        leaf.setPivot(off, lst);
      } else {
        leaf.setPivot(off, idx - 1n);
        leaf.slots[off + 1] = entry;
      }
      this.updateGapsAbove(leaf, lmin);
      return old;
    }
    const minSlots = MT_MIN_SLOTS[MapleType.leaf64] as number;
    const slots = MT_SLOTS[MapleType.leaf64] as number;
    this.lastStoreType =
      newEnd < minSlots && leaf !== root
        ? StoreType.rebalance
        : newEnd >= slots
          ? StoreType.splitStore
          : !this.inRcuMode && off === end
            ? StoreType.append
            : StoreType.nodeStore;
    this.rebuild(0, leaf, leaf, lmin, lmax, applyStore(lmin, leafItems(leaf), idx, lst, entry));
    return old;
  }

  private leafOf(index: bigint): { node: MapleNode; min: bigint } {
    let node = this.root as MapleNode;
    let min = 0n;
    while (!node.isLeaf) {
      const i = slotOf(node, index);
      if (i > 0) min = (node.pivots[i - 1] as bigint) + 1n;
      node = node.child(i);
    }
    return { node, min };
  }

  private rightmostLeaf(): { node: MapleNode; min: bigint } {
    let node = this.root as MapleNode;
    let min = 0n;
    while (!node.isLeaf) {
      if (node.end > 0) min = (node.pivots[node.end - 1] as bigint) + 1n;
      node = node.child(node.end);
    }
    return { node, min };
  }

  private newNode(type: MapleType): MapleNode {
    this.stats.allocated++;
    return new MapleNode(type);
  }

  /**
   * Replaces the run of nodes `first..last` on `level` (covering `[runMin, runMax]`) with nodes
   * built from `items`, then repeats one level up until a level absorbs the change with a single
   * pointer store or the root is replaced. Runs that would be too thin borrow a sibling (right
   * first, then left, through cousins when needed): the kernel's rebalance.
   */
  private rebuild(
    level: number,
    first: MapleNode,
    last: MapleNode,
    runMin: bigint,
    runMax: bigint,
    items: Items,
  ) {
    const created: MapleNode[] = [];
    const retired: MapleNode[] = [];
    const internalType = this.allocRange ? MapleType.arange64 : MapleType.range64;
    let f = first;
    let l = last;
    let lo = runMin;
    let hi = runMax;
    let it = items;
    for (;;) {
      const type = level === 0 ? MapleType.leaf64 : internalType;
      const rootLevel = f.parent === null;
      if (level === 0) mergeNulls(it);
      const minItems = (MT_MIN_SLOTS[type] as number) + 1;
      while (!rootLevel && it.pivs.length < minItems) {
        if (hi !== MAX) {
          const right = levelNext(l) as MapleNode;
          const r = nodeItems(right);
          it.pivs.push(...r.pivs);
          it.vals.push(...r.vals);
          l = right;
          hi = right.max;
        } else if (lo !== 0n) {
          const left = levelPrev(f) as MapleNode;
          const r = nodeItems(left);
          it = { pivs: [...r.pivs, ...it.pivs], vals: [...r.vals, ...it.vals] };
          f = left;
          lo = nodeMin(left);
        } else break;
        if (level === 0) mergeNulls(it);
      }
      let sizes: number[] | null = null;
      if (!rootLevel && f === l && it.pivs.length > (MT_SLOTS[type] as number)) {
        const pushed = this.tryPush(f, it, type, hi);
        if (pushed) {
          if (pushed.left) {
            f = pushed.sibling;
            lo = nodeMin(pushed.sibling);
          } else {
            l = pushed.sibling;
            hi = pushed.sibling.max;
          }
          it = pushed.items;
          sizes = pushed.sizes;
        }
      }
      for (let n: MapleNode | null = f; n; n = n === l ? null : levelNext(n)) retired.push(n);

      if (sizes === null) sizes = cut(it, type);
      const parts: MapleNode[] = [];
      let at = 0;
      let partMin = lo;
      for (const size of sizes) {
        const node = this.newNode(type);
        fillNode(node, it.pivs, it.vals, at, size);
        if (node.gaps) fillGaps(node, partMin);
        partMin = (it.pivs[at + size - 1] as bigint) + 1n;
        at += size;
        parts.push(node);
        created.push(node);
      }

      if (rootLevel) {
        let newRoot: MapleNode;
        let h = level + 1;
        if (parts.length === 1) {
          newRoot = parts[0] as MapleNode;
          while (!newRoot.isLeaf && newRoot.end === 0) {
            created.splice(created.indexOf(newRoot), 1);
            newRoot = newRoot.child(0);
            h--;
          }
        } else {
          newRoot = this.newNode(internalType);
          fillNode(
            newRoot,
            parts.map((p) => p.max),
            parts,
            0,
            parts.length,
          );
          created.push(newRoot);
          h++;
        }
        this.publish(created, retired);
        if (newRoot.isLeaf && newRoot.end === 0 && newRoot.slots[0] === null) {
          this.root = null;
          this.setHeight(0);
        } else {
          if (newRoot.gaps) fillGaps(newRoot, 0n);
          newRoot.parent = null;
          newRoot.parentSlot = 0;
          this.root = newRoot;
          this.setHeight(h);
        }
        return;
      }
      if (f === l && parts.length === 1) {
        const p = f.parent as MapleNode;
        const s = f.parentSlot;
        const node = parts[0] as MapleNode;
        p.slots[s] = node;
        node.parent = p;
        node.parentSlot = s;
        this.publish(created, retired);
        this.updateGapsAbove(node, lo);
        return;
      }
      const pa = f.parent as MapleNode;
      const pb = l.parent as MapleNode;
      const sa = f.parentSlot;
      const sb = l.parentSlot;
      const next: Items = { pivs: [], vals: [] };
      for (let i = 0; i < sa; i++) {
        next.pivs.push(pa.pivots[i] as bigint);
        next.vals.push(pa.slots[i]);
      }
      for (const p of parts) {
        next.pivs.push(p.max);
        next.vals.push(p);
      }
      for (let i = sb + 1; i <= pb.end; i++) {
        next.pivs.push(pb.pivots[i] as bigint);
        next.vals.push(pb.slots[i]);
      }
      lo = nodeMin(pa);
      hi = pb.max;
      f = pa;
      l = pb;
      it = next;
      level++;
    }
  }

  /**
   * Push before split (spec 1.9): an overflowing node first tries to shift entries into its left,
   * then its right sibling under the same parent, so the sibling ends up with `slots - 1` entries
   * and the split does not propagate. Keeps sequentially filled trees as dense as the kernel's.
   */
  private tryPush(
    node: MapleNode,
    it: Items,
    type: MapleType,
    nodeMax: bigint,
  ): { sibling: MapleNode; left: boolean; items: Items; sizes: number[] } | null {
    const parent = node.parent;
    if (!parent) return null;
    const slots = MT_SLOTS[type] as number;
    const minItems = (MT_MIN_SLOTS[type] as number) + 1;
    const bEnd = it.pivs.length - 1;
    for (const left of [true, false]) {
      const s = node.parentSlot + (left ? -1 : 1);
      if (s < 0 || s > parent.end) continue;
      const sib = parent.child(s);
      let limit = 2 * slots - 2;
      if (type === MapleType.leaf64) limit--;
      if (nodeMax === MAX) limit--;
      if (bEnd + sib.end >= limit) continue;
      const sibItems = nodeItems(sib);
      const items: Items = left
        ? { pivs: [...sibItems.pivs, ...it.pivs], vals: [...sibItems.vals, ...it.vals] }
        : { pivs: [...it.pivs, ...sibItems.pivs], vals: [...it.vals, ...sibItems.vals] };
      const total = items.pivs.length;
      let c = left ? slots - 2 : total - slots;
      if (type === MapleType.leaf64 && items.vals[c] === null)
        c += c + 2 <= slots && total - c - 2 >= minItems ? 1 : -1;
      const sizes = [c + 1, total - c - 1];
      const rightIsEdge = (left ? nodeMax : sib.max) === MAX;
      if ((sizes[0] as number) > slots || (sizes[1] as number) > slots) continue;
      if ((sizes[0] as number) < minItems || ((sizes[1] as number) < minItems && !rightIsEdge)) continue;
      return { sibling: sib, left, items, sizes };
    }
    return null;
  }

  /** Makes new nodes own their children and retires the replaced ones (after the pointer swap). */
  private publish(created: MapleNode[], retired: MapleNode[]): void {
    for (const node of created) {
      if (node.isLeaf) continue;
      for (let i = 0; i <= node.end; i++) {
        const c = node.child(i);
        c.parent = node;
        c.parentSlot = i;
      }
    }
    for (const node of retired) {
      node.dead = true;
      this.stats.retired++;
      this.stats.pendingFree++;
    }
    if (!this.inRcuMode) this.stats.pendingFree -= retired.length;
  }

  /** Propagates a changed subtree gap upward while the recorded value changes (spec 1.11). */
  private updateGapsAbove(node: MapleNode, min?: bigint): void {
    if (!this.allocRange) return;
    let child = node;
    let p = child.parent;
    while (p?.gaps) {
      const s = child.parentSlot;
      // Only a leaf needs its min (internal nodes carry their gaps); callers usually know it.
      const childMin = !child.isLeaf
        ? 0n
        : min !== undefined && child === node
          ? min
          : s > 0
            ? (p.pivots[s - 1] as bigint) + 1n
            : nodeMin(p);
      const g = nodeMaxGap(child, childMin);
      const before = p.gaps[p.gapSlot] as bigint;
      const beforeSlot = p.gapSlot;
      if (p.gaps[s] === g) return;
      p.gaps[s] = g;
      let best = 0n;
      let bestSlot = 0;
      for (let i = 0; i <= p.end; i++) {
        const v = p.gaps[i] as bigint;
        if (v > best) {
          best = v;
          bestSlot = i;
        }
      }
      p.gapSlot = bestSlot;
      if (best === before && bestSlot === beforeSlot) return;
      child = p;
      p = p.parent;
    }
  }
}

/** First slot whose pivot is ≥ `index` (else the data end), exact for every 64-bit index. */
export function slotOf(node: MapleNode, index: bigint): number {
  const end = node.end;
  const fp = node.fp;
  const x = Number(index);
  let i = 0;
  while (i < end && (fp[i] as number) < x) i++;
  if (x >= EXACT_F) while (i < end && (node.pivots[i] as bigint) < index) i++;
  return i;
}

function leafItems(leaf: MapleNode): Items {
  return nodeItems(leaf);
}

function nodeItems(node: MapleNode): Items {
  const pivs: bigint[] = [];
  const vals: unknown[] = [];
  for (let i = 0; i <= node.end; i++) {
    pivs.push(node.pivots[i] as bigint);
    vals.push(node.slots[i]);
  }
  return { pivs, vals };
}

function fillNode(
  node: MapleNode,
  pivs: readonly bigint[],
  vals: readonly unknown[],
  at: number,
  n: number,
): void {
  for (let i = 0; i < n; i++) {
    node.setPivot(i, pivs[at + i] as bigint);
    node.slots[i] = vals[at + i];
  }
  node.end = n - 1;
}

/** Writes `[index, last] = entry` into a flat run that covers the range. */
function applyStore(min: bigint, items: Items, index: bigint, last: bigint, entry: unknown): Items {
  const out: Items = { pivs: [], vals: [] };
  let start = min;
  let written = false;
  for (let i = 0; i < items.pivs.length; i++) {
    const end = items.pivs[i] as bigint;
    const v = items.vals[i];
    if (end < index || start > last) {
      if (start > last && !written) {
        out.pivs.push(last);
        out.vals.push(entry);
        written = true;
      }
      out.pivs.push(end);
      out.vals.push(v);
    } else {
      if (start < index) {
        out.pivs.push(index - 1n);
        out.vals.push(v);
      }
      if (!written) {
        out.pivs.push(last);
        out.vals.push(entry);
        written = true;
      }
      if (end > last) {
        out.pivs.push(end);
        out.vals.push(v);
      }
    }
    start = end + 1n;
  }
  mergeNulls(out);
  return out;
}

/** Adjacent NULL ranges are always one range (invariant 5). */
function mergeNulls(items: Items): void {
  const { pivs, vals } = items;
  let w = 0;
  for (let r = 0; r < pivs.length; r++) {
    if (w > 0 && vals[r] === null && vals[w - 1] === null) {
      pivs[w - 1] = pivs[r] as bigint;
      continue;
    }
    pivs[w] = pivs[r] as bigint;
    vals[w] = vals[r];
    w++;
  }
  pivs.length = w;
  vals.length = w;
}

/**
 * Cuts a big node into node-sized parts (spec 1.9): one node if it fits, two at `b_end / 2`,
 * three when the data needs it; a leaf part never ends on NULL (the cut moves right by one while
 * the part has room, else left).
 */
function cut(items: Items, type: MapleType): number[] {
  const n = items.pivs.length;
  const slots = MT_SLOTS[type] as number;
  if (n <= slots) return [n];
  let k = n <= 2 * slots ? 2 : 3;
  if (k === 2 && type === MapleType.leaf64 && n >= 2 * slots - 1 && items.vals[Math.ceil(n / 2) - 1] === null)
    k = 3;
  for (; ; k++) {
    const sizes = cutInto(items, type, k);
    if (sizes.every((s) => s <= slots)) return sizes;
  }
}

function cutInto(items: Items, type: MapleType, k: number): number[] {
  const n = items.pivs.length;
  const slots = MT_SLOTS[type] as number;
  const minItems = (MT_MIN_SLOTS[type] as number) + 1;
  const ends: number[] = [];
  let prev = -1;
  for (let j = 1; j < k; j++) {
    let c = Math.ceil((j * n) / k) - 1;
    if (type === MapleType.leaf64 && items.vals[c] === null) {
      const nextCut = j + 1 < k ? Math.ceil(((j + 1) * n) / k) - 1 : n - 1;
      if (c - prev < slots && nextCut - (c + 1) >= minItems) c++;
      else c--;
    }
    ends.push(c);
    prev = c;
  }
  ends.push(n - 1);
  const sizes: number[] = [];
  prev = -1;
  for (const e of ends) {
    sizes.push(e - prev);
    prev = e;
  }
  return sizes;
}

export function hex(v: bigint): string {
  return `0x${v.toString(16)}`;
}
