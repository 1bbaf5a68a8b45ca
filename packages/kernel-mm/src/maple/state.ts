import { EXACT_F, MAX, MAX_F, MaStatus, StoreType } from "./constants.js";
import type { MapleNode } from "./node.js";
import type { MapleTree } from "./tree.js";

function toF(v: bigint): number {
  return v === MAX ? MAX_F : Number(v);
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
  /** Range of the current node. */
  min = 0n;
  max = MAX;
  status: MaStatus = MaStatus.start;
  masFlags = 0;
  storeType: StoreType = StoreType.invalid;
  /** Number of times a reader found a dead node and restarted from the root. */
  restarts = 0;
  private minF = 0;
  private maxF = MAX_F;
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
    this.node = null;
    this.status = MaStatus.start;
  }

  /** `mas_set`. */
  set(index: bigint): void {
    this.setRange(index, index);
  }

  /** `mas_reset`. */
  reset(): void {
    this.materialize();
    this.node = null;
    this.status = MaStatus.start;
  }

  /** `mas_pause`: the next call re-walks from the root (used before dropping a lock). */
  pause(): void {
    this.materialize();
    this.node = null;
    this.status = MaStatus.pause;
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
    if (l < EXACT_F) return limF < EXACT_F ? l >= limF : false;
    return limF < EXACT_F ? true : this.last >= lim;
  }

  /** `index <= lim`. */
  private indexLE(limF: number, lim: bigint): boolean {
    let x: number;
    if (this.derived) {
      const o = this.offset;
      x = o === 0 ? this.minF : ((this.node as MapleNode).fp[o - 1] as number) + 1;
    } else x = this.idxF;
    if (x < EXACT_F) return limF < EXACT_F ? x <= limF : true;
    return limF < EXACT_F ? false : this.index <= lim;
  }

  /** `mas_walk`: the entry at `index`; sets `index/last` to its range. Always starts at the root. */
  walk(): unknown {
    this.status = MaStatus.start;
    for (;;) {
      const entry = this.stateWalk();
      if (this.status !== MaStatus.start) return entry;
      this.restarts++;
    }
  }

  private stateWalk(): unknown {
    const tree = this.tree;
    const root = tree.root;
    const index = this.index;
    if (root === null) {
      this.node = null;
      if (tree.rootEntry === null) {
        this.status = MaStatus.none;
        this.setExplicit(0n, MAX);
        return null;
      }
      if (index === 0n) {
        this.status = MaStatus.root;
        this.setExplicit(0n, 0n);
        return tree.rootEntry;
      }
      this.status = MaStatus.none;
      this.setExplicit(1n, MAX);
      return null;
    }
    const xF = toF(index);
    let node = root;
    let min = 0n;
    let depth = 0;
    for (;;) {
      const fp = node.fp;
      const end = node.end;
      let i = 0;
      while (i < end && (fp[i] as number) < xF) i++;
      if (xF >= EXACT_F) while (i < end && (node.pivots[i] as bigint) < index) i++;
      const slot = node.slots[i];
      if (node.dead) return null;
      if (node.isLeaf) {
        this.node = node;
        this.offset = i;
        this.end = end;
        this.min = min;
        this.minF = toF(min);
        this.max = node.pivots[end] as bigint;
        this.maxF = fp[end] as number;
        this.depth = depth;
        this.derived = true;
        this.status = MaStatus.active;
        return slot;
      }
      if (i > 0) min = (node.pivots[i - 1] as bigint) + 1n;
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
    if (this.maxF < EXACT_F ? maxF < EXACT_F && this.maxF >= maxF : maxF < EXACT_F || this.max >= max) {
      this.status = MaStatus.overflow;
      return false;
    }
    let n = this.node as MapleNode;
    let up = 0;
    for (;;) {
      const p = n.parent;
      if (n.dead) return null;
      if (!p) {
        this.status = MaStatus.overflow;
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
    this.min = this.max + 1n;
    this.minF = toF(this.min);
    this.node = m;
    this.end = m.end;
    this.max = m.pivots[m.end] as bigint;
    this.maxF = m.fp[m.end] as number;
    this.offset = 0;
    return true;
  }

  private nextSlot(maxF: number, max: bigint, empty: boolean): unknown {
    retry: for (;;) {
      const node = this.node as MapleNode;
      const save = this.last;
      if (node.dead) {
        this.rewalk(save);
        continue;
      }
      const atLimit =
        this.maxF < EXACT_F ? maxF < EXACT_F && this.maxF >= maxF : maxF < EXACT_F || this.max >= max;
      if (atLimit && (this.offset >= this.end || this.lastGE(maxF, max))) {
        this.status = MaStatus.overflow;
        return null;
      }
      for (;;) {
        if (this.offset < this.end) {
          this.offset++;
          this.derived = true;
        } else {
          this.materialize();
          const moved = this.nextNode(maxF, max);
          if (moved === null) {
            this.rewalk(save);
            continue retry;
          }
          if (!moved) return null;
          this.derived = true;
        }
        const cur = this.node as MapleNode;
        const entry = cur.slots[this.offset];
        if (cur.dead) {
          this.rewalk(save);
          continue retry;
        }
        if (entry !== null || empty) return entry;
        if (this.lastGE(maxF, max)) {
          this.status = MaStatus.overflow;
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
        this.status = MaStatus.underflow;
        return null;
      }
      for (;;) {
        if (this.offset > 0) {
          this.offset--;
          this.derived = true;
        } else {
          if (this.indexLE(minF, min)) {
            this.status = MaStatus.underflow;
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
          this.status = MaStatus.underflow;
          return null;
        }
      }
    }
  }

  /** `mas_find`: the entry at `index` or the next one starting at or below `max`. */
  find(max: bigint = MAX): unknown {
    const maxF = toF(max);
    let entry: unknown = null;
    switch (this.status) {
      case MaStatus.active:
        if (this.lastGE(maxF, max)) return null;
        entry = this.nextSlot(maxF, max, false);
        this.status = MaStatus.active;
        return entry;
      case MaStatus.start:
        break;
      case MaStatus.pause: {
        if (this.lastGE(maxF, max)) return null;
        const l = this.last + 1n;
        this.setExplicit(l, l);
        this.status = MaStatus.start;
        break;
      }
      case MaStatus.none:
        if (this.lastGE(maxF, max)) return null;
        this.setExplicit(this.last, this.last);
        this.status = MaStatus.start;
        break;
      case MaStatus.underflow:
        if (this.index >= max) {
          this.status = MaStatus.overflow;
          return null;
        }
        entry = this.walk();
        if (entry !== null) return entry;
        break;
      case MaStatus.overflow:
        if (this.lastGE(maxF, max)) return null;
        this.status = MaStatus.active;
        entry = this.walk();
        if (entry !== null) return entry;
        break;
      case MaStatus.root:
        break;
      default:
        return null;
    }
    if (this.status === MaStatus.start) {
      if (this.index > max) return null;
      entry = this.walk();
      if (entry !== null) return entry;
    }
    if (this.status === MaStatus.root) {
      this.status = MaStatus.none;
      this.setExplicit(1n, MAX);
      return null;
    }
    if (this.is(MaStatus.none)) return null;
    if (this.index === max) return null;
    entry = this.nextSlot(maxF, max, false);
    this.status = MaStatus.active;
    return entry;
  }

  /** `mas_next`: the next entry after the current range, only if it starts at or below `max`. */
  next(max: bigint = MAX): unknown {
    return this.nextImpl(max, false);
  }

  /** `mas_next_range`: one range forward, returning null for gaps. */
  nextRange(max: bigint = MAX): unknown {
    return this.nextImpl(max, true);
  }

  private nextImpl(max: bigint, empty: boolean): unknown {
    const maxF = toF(max);
    if (this.status === MaStatus.active) {
      if (this.lastGE(maxF, max)) {
        this.status = MaStatus.overflow;
        return null;
      }
      return this.nextSlot(maxF, max, empty);
    }
    if (this.lastGE(maxF, max)) {
      this.status = MaStatus.overflow;
      return null;
    }
    switch (this.status) {
      case MaStatus.none:
      case MaStatus.pause:
      case MaStatus.start:
        this.status = MaStatus.start;
        this.walk();
        break;
      case MaStatus.overflow:
        this.status = MaStatus.active;
        break;
      case MaStatus.underflow: {
        this.status = MaStatus.active;
        const entry = this.walk();
        if (entry !== null) return entry;
        break;
      }
      case MaStatus.root:
        break;
      default:
        return null;
    }
    if (this.status === MaStatus.active) return this.nextSlot(maxF, max, empty);
    if (this.status === MaStatus.root) {
      this.status = MaStatus.none;
      this.setExplicit(1n, MAX);
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
      this.status = MaStatus.underflow;
      return null;
    }
    switch (this.status) {
      case MaStatus.active:
        return this.prevSlot(minF, min, empty);
      case MaStatus.start:
        break;
      case MaStatus.none:
      case MaStatus.pause:
        this.status = MaStatus.start;
        break;
      case MaStatus.underflow:
        this.status = MaStatus.active;
        break;
      case MaStatus.overflow: {
        this.status = MaStatus.active;
        const entry = this.walk();
        if (entry !== null) return entry;
        break;
      }
      case MaStatus.root:
        break;
      default:
        return null;
    }
    if (this.status === MaStatus.start) this.walk();
    if (this.is(MaStatus.root) || this.is(MaStatus.none)) {
      if (this.tree.rootEntry !== null && this.index !== 0n) {
        this.setExplicit(0n, 0n);
        this.status = MaStatus.root;
        return this.tree.rootEntry;
      }
      this.status = MaStatus.none;
      return null;
    }
    return this.prevSlot(minF, min, empty);
  }

  /** `mas_find_rev`: the entry at `index` or the previous one ending at or above `min`. */
  findRev(min = 0n): unknown {
    const minF = toF(min);
    switch (this.status) {
      case MaStatus.active:
        return this.index < min ? null : this.prevSlot(minF, min, false);
      case MaStatus.start:
        break;
      case MaStatus.pause: {
        if (this.indexLE(minF, min)) {
          this.status = MaStatus.underflow;
          return null;
        }
        const i = this.index - 1n;
        this.setExplicit(i, i);
        this.status = MaStatus.start;
        break;
      }
      case MaStatus.none:
        if (this.indexLE(minF, min)) return null;
        this.setExplicit(this.index, this.index);
        this.status = MaStatus.start;
        break;
      case MaStatus.overflow:
        if (this.indexLE(minF, min)) {
          this.status = MaStatus.underflow;
          return null;
        }
        this.status = MaStatus.active;
        break;
      case MaStatus.underflow:
        if (this.indexLE(minF, min)) return null;
        this.status = MaStatus.active;
        break;
      case MaStatus.root:
        break;
      default:
        return null;
    }
    if (this.status === MaStatus.start) {
      if (this.index < min) return null;
      const entry = this.walk();
      if (entry !== null) return entry;
    }
    if (this.status === MaStatus.root) {
      this.status = MaStatus.none;
      return null;
    }
    if (this.is(MaStatus.none)) {
      // Walked to the out-of-range part of a root-entry tree: step back onto index 0.
      this.setExplicit(0n, 0n);
      if (this.tree.rootEntry === null) return null;
      this.status = MaStatus.root;
      return this.tree.rootEntry;
    }
    if (this.index < min) return null;
    return this.prevSlot(minF, min, false);
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
