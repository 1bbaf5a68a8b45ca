import { MAX } from "../maple/constants.js";
import { MaState } from "../maple/state.js";
import type { MapleTree } from "../maple/tree.js";
import type { VmArea } from "./vma.js";

// Local copy: imported bindings are getter calls under vite-node.
const LIMIT = MAX;

/**
 * `struct vma_iterator` (an `ma_state` over `mm->mm_mt`, spec 3). After `init(addr)` the first
 * `next()` returns the VMA containing `addr` or the lowest one above it (first `vm_end > addr`).
 */
export class VmaIterator {
  readonly mas: MaState;

  constructor(tree: MapleTree, addr = 0n) {
    this.mas = new MaState(tree, addr);
  }

  /** `vma_iter_init` / `vma_iter_set`: restart at `addr`. */
  set(addr: bigint): void {
    this.mas.set(addr);
  }

  /** `vma_next`: the next VMA, null at the end (and on every later call). */
  next(): VmArea | null {
    return this.mas.findNext() as VmArea | null;
  }

  /** `vma_find`: the next VMA starting below `end`. */
  find(end: bigint): VmArea | null {
    return this.mas.find(end - 1n) as VmArea | null;
  }

  /** `vma_prev`: the VMA before the current range. */
  prev(): VmArea | null {
    return this.mas.prev(0n) as VmArea | null;
  }

  /** `vma_iter_next_range`: one range forward, null for gaps. */
  nextRange(): VmArea | null {
    return this.mas.nextRange(LIMIT) as VmArea | null;
  }

  /** `vma_iter_prev_range`. */
  prevRange(): VmArea | null {
    return this.mas.prevRange(0n) as VmArea | null;
  }

  /** `vma_iter_load`: the VMA containing the index, or null. */
  load(): VmArea | null {
    return this.mas.walk() as VmArea | null;
  }

  /** `vma_iter_invalidate`: pause before dropping the lock; the next step re-walks. */
  invalidate(): void {
    this.mas.pause();
  }

  /** `vma_iter_addr`. */
  get addr(): bigint {
    return this.mas.index;
  }

  /** `vma_iter_end`. */
  get end(): bigint {
    return this.mas.last + 1n;
  }

  /** `for_each_vma`. */
  *[Symbol.iterator](): IterableIterator<VmArea> {
    for (let v = this.next(); v !== null; v = this.next()) yield v;
  }

  /** `for_each_vma_range`: VMAs intersecting `[addr, end)`. */
  *range(end: bigint): IterableIterator<VmArea> {
    for (let v = this.find(end); v !== null; v = this.find(end)) yield v;
  }
}
