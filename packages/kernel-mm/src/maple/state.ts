import { MA_STATE_LAYOUT, type StructLayout, writeField } from "../mm/layout.js";
import { EXACT_F, MAX, MAX_F, MaStatus, StoreType } from "./constants.js";
import type { MapleNode } from "./node.js";
import type { MapleTree } from "./tree.js";

// Module-local copies: under vite-node (vitest, `pnpm bench`) every imported binding read is a
// getter call, which would dominate the per-step cost of the hot loops below.
const St = MaStatus;
const EXACT = EXACT_F;
const MAXB = MAX;
const MAXF = MAX_F;

function toF(v: bigint): number {
  return v === MAXB ? MAXF : Number(v);
}

/**
 * `struct ma_state`: a cursor into a maple tree with the kernel's walk/find/next/prev semantics at
 * the limits (spec 1.12) and its RCU reader rules (1.10): after every slot read the cursor checks
 * whether the node died under it and, if so, re-walks from the root at the saved index. While the
 * cursor sits on a slot, `index`/`last` are derived from the node, so stepping costs no allocation.
 */
export class MaState {
  tree: MapleTree;
  node: MapleNode | null = null;
  offset = 0;
  end = 0;
  depth = 0;
  status: MaStatus = St.start;
  masFlags = 0;
  storeType: StoreType = StoreType.invalid;
  /** Number of times a reader found a dead node and restarted from the root. */
  restarts = 0;
  private minF = 0;
  private maxF = MAXF;
  private minB = 0n;
  /**
   * When set, `min` is `minAfter.pivots[minAfterSlot] + 1`, computed on demand: walks and leaf
   * steps then allocate no bigint.
   */
  private minAfter: MapleNode | null = null;
  private minAfterSlot = 0;
  private maxB = MAXB;

  /** Lowest index of the current node. */
  get min(): bigint {
    const after = this.minAfter;
    if (after !== null) {
      this.minB = (after.pivots[this.minAfterSlot] as bigint) + 1n;
      this.minAfter = null;
    }
    return this.minB;
  }

  set min(v: bigint) {
    this.minAfter = null;
    this.minB = v;
    this.minF = toF(v);
  }

  /** Highest index of the current node. */
  get max(): bigint {
    const n = this.node;
    return n !== null ? (n.pivots[n.end] as bigint) : this.maxB;
  }

  set max(v: bigint) {
    this.maxB = v;
    this.maxF = toF(v);
  }
  private derived = false;
  private idx: bigint;
  private lst: bigint;
  private idxF: number;
  private lstF: number;

  constructor(tree: MapleTree, index = 0n, last = index) {
    this.tree = tree;
    this.idx = index;
    this.lst = last;
    this.idxF = toF(index);
    this.lstF = toF(last);
  }

  get index(): bigint {
    if (!this.derived) return this.idx;
    const o = this.offset;
    return o === 0 ? this.min : ((this.node as MapleNode).pivots[o - 1] as bigint) + 1n;
  }

  set index(v: bigint) {
    this.materialize();
    this.idx = v;
    this.idxF = toF(v);
  }

  get last(): bigint {
    return this.derived ? ((this.node as MapleNode).pivots[this.offset] as bigint) : this.lst;
  }

  set last(v: bigint) {
    this.materialize();
    this.lst = v;
    this.lstF = toF(v);
  }

  /** Status test that TypeScript does not narrow away across calls that change the status. */
  is(status: MaStatus): boolean {
    return this.status === status;
  }

  /** `mas_set_range`: restart at `[index, last]`. */
  setRange(index: bigint, last: bigint): void {
    this.derived = false;
    this.idx = index;
    this.lst = last;
    this.idxF = toF(index);
    this.lstF = toF(last);
    this.dropNode();
    this.status = St.start;
  }

  /** `mas_set`. */
  set(index: bigint): void {
    this.setRange(index, index);
  }

  /** `mas_reset`. */
  reset(): void {
    this.materialize();
    this.dropNode();
    this.status = St.start;
  }

  /** `mas_pause`: the next call re-walks from the root (used before dropping a lock). */
  pause(): void {
    this.materialize();
    this.dropNode();
    this.status = St.pause;
  }

  /** Forgets the node but keeps its range, as the kernel's `min`/`max` fields stay. */
  private dropNode(): void {
    const n = this.node;
    if (n !== null) {
      this.maxB = n.pivots[n.end] as bigint;
      this.minB = this.min;
    }
    this.node = null;
  }

  private materialize(): void {
    if (!this.derived) return;
    this.idx = this.index;
    this.lst = this.last;
    this.idxF = toF(this.idx);
    this.lstF = toF(this.lst);
    this.derived = false;
  }

  private setExplicit(index: bigint, last: bigint): void {
    this.derived = false;
    this.idx = index;
    this.lst = last;
    this.idxF = toF(index);
    this.lstF = toF(last);
  }

  /** `last >= lim`, exact for every 64-bit value with doubles on the common path. */
  private lastGE(limF: number, lim: bigint): boolean {
    const l = this.derived ? ((this.node as MapleNode).fp[this.offset] as number) : this.lstF;
    if (l < EXACT) return limF < EXACT ? l >= limF : false;
    return limF < EXACT ? true : this.last >= lim;
  }

  /** `index <= lim`. */
  private indexLE(limF: number, lim: bigint): boolean {
    let x: number;
    if (this.derived) {
      const o = this.offset;
      x = o === 0 ? this.minF : ((this.node as MapleNode).fp[o - 1] as number) + 1;
    } else x = this.idxF;
    if (x < EXACT) return limF < EXACT ? x <= limF : true;
    return limF < EXACT ? false : this.index <= lim;
  }

  /** `mas_walk`: the entry at `index`; sets `index/last` to its range. Always starts at the root. */
  walk(): unknown {
    this.status = St.start;
    for (;;) {
      const entry = this.stateWalk();
      if (this.status !== St.start) return entry;
      this.restarts++;
    }
  }

  private stateWalk(): unknown {
    const tree = this.tree;
    const root = tree.root;
    const index = this.index;
    if (root === null) {
      this.dropNode();
      if (tree.rootEntry === null) {
        this.status = St.none;
        this.setExplicit(0n, MAXB);
        return null;
      }
      if (index === 0n) {
        this.status = St.root;
        this.setExplicit(0n, 0n);
        return tree.rootEntry;
      }
      this.status = St.none;
      this.setExplicit(1n, MAXB);
      return null;
    }
    const xF = toF(index);
    let node = root;
    let minNode: MapleNode | null = null;
    let minSlot = 0;
    let minF = 0;
    let depth = 0;
    for (;;) {
      const fp = node.fp;
      const end = node.end;
      let i = 0;
      while (i < end && (fp[i] as number) < xF) i++;
      if (xF >= EXACT) while (i < end && (node.pivots[i] as bigint) < index) i++;
      const slot = node.slots[i];
      if (node.dead) return null;
      if (node.isLeaf) {
        this.node = node;
        this.offset = i;
        this.end = end;
        if (minNode === null) this.min = 0n;
        else {
          this.minAfter = minNode;
          this.minAfterSlot = minSlot;
          this.minF = minF;
        }
        this.maxF = fp[end] as number;
        this.depth = depth;
        this.derived = true;
        this.status = St.active;
        return slot;
      }
      if (i > 0) {
        minNode = node;
        minSlot = i - 1;
        minF = (fp[i - 1] as number) + 1;
      }
      node = slot as MapleNode;
      depth++;
    }
  }

  private rewalk(at: bigint): void {
    this.restarts++;
    this.setExplicit(at, at);
    this.walk();
  }

  /** Moves to the next leaf; false with `overflow` when the limit or the tree end is reached. */
  private nextNode(maxF: number, max: bigint): boolean | null {
    if (this.maxF < EXACT ? maxF < EXACT && this.maxF >= maxF : maxF < EXACT || this.max >= max) {
      this.status = St.overflow;
      return false;
    }
    let n = this.node as MapleNode;
    let up = 0;
    for (;;) {
      const p = n.parent;
      if (n.dead) return null;
      if (!p) {
        this.status = St.overflow;
        return false;
      }
      if (n.parentSlot < p.end) break;
      n = p;
      up++;
    }
    const p = n.parent as MapleNode;
    let m = p.child(n.parentSlot + 1);
    for (; up > 0; up--) m = m.child(0);
    if (p.dead || m.dead) return null;
    const old = this.node as MapleNode;
    this.minAfter = old;
    this.minAfterSlot = old.end;
    this.minF = this.maxF + 1;
    this.node = m;
    this.end = m.end;
    this.maxF = m.fp[m.end] as number;
    this.offset = 0;
    return true;
  }

  private nextSlot(maxF: number, max: bigint, empty: boolean): unknown {
    retry: for (;;) {
      const node = this.node as MapleNode;
      // The save point (old `last`) is read lazily from the unchanged node only if it died.
      const saveOffset = this.offset;
      const saveDerived = this.derived;
      const saveLast = this.lst;
      if (node.dead) {
        this.rewalk(saveDerived ? (node.pivots[saveOffset] as bigint) : saveLast);
        continue;
      }
      const atLimit = this.maxF < EXACT ? maxF < EXACT && this.maxF >= maxF : maxF < EXACT || this.max >= max;
      if (atLimit && (this.offset >= this.end || this.lastGE(maxF, max))) {
        this.status = St.overflow;
        return null;
      }
      for (;;) {
        if (this.offset < this.end) {
          this.offset++;
          this.derived = true;
        } else {
          const moved = this.nextNode(maxF, max);
          if (moved === null) {
            this.rewalk(saveDerived ? (node.pivots[saveOffset] as bigint) : saveLast);
            continue retry;
          }
          if (!moved) return null;
          this.derived = true;
        }
        const cur = this.node as MapleNode;
        const entry = cur.slots[this.offset];
        if (cur.dead) {
          this.rewalk(saveDerived ? (node.pivots[saveOffset] as bigint) : saveLast);
          continue retry;
        }
        if (entry !== null || empty) return entry;
        if (this.lastGE(maxF, max)) {
          this.status = St.overflow;
          return null;
        }
      }
    }
  }

  private prevSlot(minF: number, min: bigint, empty: boolean): unknown {
    retry: for (;;) {
      const node = this.node as MapleNode;
      const save = this.index;
      if (node.dead) {
        this.rewalk(save);
        continue;
      }
      if (this.indexLE(minF, min)) {
        this.status = St.underflow;
        return null;
      }
      for (;;) {
        if (this.offset > 0) {
          this.offset--;
          this.derived = true;
        } else {
          if (this.indexLE(minF, min)) {
            this.status = St.underflow;
            return null;
          }
          // Step into the previous leaf by walking to the index just below this node: the
          // kernel ascends instead, but the walk recomputes min/max at every level (spec 1.14).
          const dead = (this.node as MapleNode).dead;
          if (dead) {
            this.rewalk(save);
            continue retry;
          }
          this.setExplicit(this.min - 1n, this.min - 1n);
          this.walk();
        }
        const cur = this.node as MapleNode;
        const entry = cur.slots[this.offset];
        if (cur.dead) {
          this.rewalk(save);
          continue retry;
        }
        if (entry !== null || empty) return entry;
        if (this.indexLE(minF, min)) {
          this.status = St.underflow;
          return null;
        }
      }
    }
  }

  /**
   * `mas_find(mas, ULONG_MAX)`, the step of every `for_each_vma`: while the cursor sits on a live
   * leaf, the next non-NULL slot of the same leaf is the answer the general path would give, so
   * it is taken without any limit arithmetic; everything else goes through `find`.
   */
  findNext(): unknown {
    const node = this.node;
    if (this.status === St.active && this.derived && node !== null && !node.dead) {
      const slots = node.slots;
      const end = node.end;
      for (let o = this.offset + 1; o <= end; o++) {
        const e = slots[o];
        if (e !== null) {
          if (node.dead) break;
          this.offset = o;
          return e;
        }
      }
    }
    return this.find(MAXB);
  }

  /** `mas_find`: the entry at `index` or the next one starting at or below `max`. */
  find(max: bigint = MAXB): unknown {
    const maxF = toF(max);
    let entry: unknown = null;
    switch (this.status) {
      case St.active:
        if (this.lastGE(maxF, max)) return null;
        entry = this.nextSlot(maxF, max, false);
        this.status = St.active;
        return entry;
      case St.start:
        break;
      case St.pause: {
        if (this.lastGE(maxF, max)) return null;
        const l = this.last + 1n;
        this.setExplicit(l, l);
        this.status = St.start;
        break;
      }
      case St.none:
        if (this.lastGE(maxF, max)) return null;
        this.setExplicit(this.last, this.last);
        this.status = St.start;
        break;
      case St.underflow:
        if (this.index >= max) {
          this.status = St.overflow;
          return null;
        }
        entry = this.walk();
        if (entry !== null) return entry;
        break;
      case St.overflow:
        if (this.lastGE(maxF, max)) return null;
        this.status = St.active;
        entry = this.walk();
        if (entry !== null) return entry;
        break;
      case St.root:
        break;
      default:
        return null;
    }
    if (this.status === St.start) {
      if (this.index > max) return null;
      entry = this.walk();
      if (entry !== null) return entry;
    }
    if (this.status === St.root) {
      this.status = St.none;
      this.setExplicit(1n, MAXB);
      return null;
    }
    if (this.is(St.none)) return null;
    if (this.index === max) return null;
    entry = this.nextSlot(maxF, max, false);
    this.status = St.active;
    return entry;
  }

  /** `mas_next`: the next entry after the current range, only if it starts at or below `max`. */
  next(max: bigint = MAXB): unknown {
    return this.nextImpl(max, false);
  }

  /** `mas_next_range`: one range forward, returning null for gaps. */
  nextRange(max: bigint = MAXB): unknown {
    return this.nextImpl(max, true);
  }

  private nextImpl(max: bigint, empty: boolean): unknown {
    const maxF = toF(max);
    if (this.status === St.active) {
      if (this.lastGE(maxF, max)) {
        this.status = St.overflow;
        return null;
      }
      return this.nextSlot(maxF, max, empty);
    }
    if (this.lastGE(maxF, max)) {
      this.status = St.overflow;
      return null;
    }
    switch (this.status) {
      case St.none:
      case St.pause:
      case St.start:
        this.status = St.start;
        this.walk();
        break;
      case St.overflow:
        this.status = St.active;
        break;
      case St.underflow: {
        this.status = St.active;
        const entry = this.walk();
        if (entry !== null) return entry;
        break;
      }
      case St.root:
        break;
      default:
        return null;
    }
    if (this.status === St.active) return this.nextSlot(maxF, max, empty);
    if (this.status === St.root) {
      this.status = St.none;
      this.setExplicit(1n, MAXB);
    }
    return null;
  }

  /** `mas_prev`: the entry before the current range; ranges may start below `min`. */
  prev(min = 0n): unknown {
    return this.prevImpl(min, false);
  }

  /** `mas_prev_range`: one range back, returning null for gaps. */
  prevRange(min = 0n): unknown {
    return this.prevImpl(min, true);
  }

  private prevImpl(min: bigint, empty: boolean): unknown {
    const minF = toF(min);
    if (this.indexLE(minF, min)) {
      this.status = St.underflow;
      return null;
    }
    switch (this.status) {
      case St.active:
        return this.prevSlot(minF, min, empty);
      case St.start:
        break;
      case St.none:
      case St.pause:
        this.status = St.start;
        break;
      case St.underflow:
        this.status = St.active;
        break;
      case St.overflow: {
        this.status = St.active;
        const entry = this.walk();
        if (entry !== null) return entry;
        break;
      }
      case St.root:
        break;
      default:
        return null;
    }
    if (this.status === St.start) this.walk();
    if (this.is(St.root) || this.is(St.none)) {
      if (this.tree.rootEntry !== null && this.index !== 0n) {
        this.setExplicit(0n, 0n);
        this.status = St.root;
        return this.tree.rootEntry;
      }
      this.status = St.none;
      return null;
    }
    return this.prevSlot(minF, min, empty);
  }

  /** `mas_find_rev`: the entry at `index` or the previous one ending at or above `min`. */
  findRev(min = 0n): unknown {
    const minF = toF(min);
    switch (this.status) {
      case St.active:
        return this.index < min ? null : this.prevSlot(minF, min, false);
      case St.start:
        break;
      case St.pause: {
        if (this.indexLE(minF, min)) {
          this.status = St.underflow;
          return null;
        }
        const i = this.index - 1n;
        this.setExplicit(i, i);
        this.status = St.start;
        break;
      }
      case St.none:
        if (this.indexLE(minF, min)) return null;
        this.setExplicit(this.index, this.index);
        this.status = St.start;
        break;
      case St.overflow:
        if (this.indexLE(minF, min)) {
          this.status = St.underflow;
          return null;
        }
        this.status = St.active;
        break;
      case St.underflow:
        if (this.indexLE(minF, min)) return null;
        this.status = St.active;
        break;
      case St.root:
        break;
      default:
        return null;
    }
    if (this.status === St.start) {
      if (this.index < min) return null;
      const entry = this.walk();
      if (entry !== null) return entry;
    }
    if (this.status === St.root) {
      this.status = St.none;
      return null;
    }
    if (this.is(St.none)) {
      // Walked to the out-of-range part of a root-entry tree: step back onto index 0.
      this.setExplicit(0n, 0n);
      if (this.tree.rootEntry === null) return null;
      this.status = St.root;
      return this.tree.rootEntry;
    }
    if (this.index < min) return null;
    return this.prevSlot(minF, min, false);
  }

  /**
   * Writes the state as `struct ma_state` bytes at `base` (6.18 layout by default), so a runtime
   * can place an iterator where a BPF program or kernel-side code expects one. Pointers (tree,
   * node) are the caller's guest addresses.
   */
  writeTo(
    view: DataView,
    base: number,
    layout: StructLayout = MA_STATE_LAYOUT["6.18"],
    pointers: { tree?: bigint; node?: bigint } = {},
  ): void {
    writeField(view, base, layout, "tree", pointers.tree ?? 0n);
    writeField(view, base, layout, "index", this.index);
    writeField(view, base, layout, "last", this.last);
    writeField(view, base, layout, "node", pointers.node ?? 0n);
    writeField(view, base, layout, "min", this.min);
    writeField(view, base, layout, "max", this.max);
    writeField(view, base, layout, "status", BigInt(this.status));
    writeField(view, base, layout, "depth", BigInt(this.depth));
    writeField(view, base, layout, "offset", BigInt(this.offset));
    writeField(view, base, layout, "mas_flags", BigInt(this.masFlags));
    writeField(view, base, layout, "end", BigInt(this.end));
    writeField(view, base, layout, "store_type", BigInt(this.storeType));
  }

  /** `mas_store`: writes `entry` over `[index, last]` and leaves the cursor on the written range. */
  store(entry: unknown): unknown {
    const index = this.index;
    const last = this.last;
    const old = this.tree.store(index, last, entry);
    this.storeType = this.tree.lastStoreType;
    this.setExplicit(index, last);
    this.walk();
    return old;
  }

  /** `mas_erase`: erases the range containing `index`; the cursor ends on the new NULL range. */
  erase(): unknown {
    const index = this.index;
    const old = this.tree.erase(index);
    this.setExplicit(index, index);
    this.walk();
    return old;
  }
}
