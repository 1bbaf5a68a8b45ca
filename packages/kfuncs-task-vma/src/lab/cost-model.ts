import type { DesignName } from "../designs/design.js";

/** A lab design: the three of the thread plus the experimental run-time-grown stack ("alloca"). */
export type LabDesign = DesignName | "alloca";

/**
 * Per-operation costs of the walk model, in nanoseconds. They are inputs, not measurements: the lab
 * echoes them in its output so every lockHoldNs/perVmaNs can be recomputed by hand.
 */
export interface WalkCosts {
  /** mmap_read_trylock + mmap_read_unlock pair (one atomic each). */
  mmapLockNs: number;
  /** Descending one maple-tree level (load a node, scan pivots). */
  levelNs: number;
  /** Stepping to the next slot inside a leaf. */
  slotNs: number;
  /** Per-VMA lock (vm_refcnt get/put) taken around design B's copy. */
  vmaLockNs: number;
  /** Copying one byte of vm_area_struct into kern_data (design B). */
  copyNsPerByte: number;
  /** The BPF program body run per VMA (between two _next calls). */
  bodyNs: number;
  /** Extending the stack by one frame-sized chunk at _new (alloca design only). */
  stackGrowNs: number;
}

/** Default costs: orders of magnitude of a cache-warm x86-64 core, documented in the lab guide. */
export const DEFAULT_WALK_COSTS: WalkCosts = {
  mmapLockNs: 40,
  levelNs: 15,
  slotNs: 3,
  vmaLockNs: 25,
  copyNsPerByte: 0.125,
  bodyNs: 50,
  stackGrowNs: 5,
};

/** Entries per maple-tree leaf of the VMA tree (maple_range_64: 16 slots). */
export const MAPLE_LEAF_SLOTS = 16;

/** Height of a maple tree holding `entries` ranges (gaps included: each VMA is followed by one). */
export function mapleDepth(entries: number): number {
  let depth = 1;
  for (let cap = MAPLE_LEAF_SLOTS; cap < Math.max(1, entries); cap *= MAPLE_LEAF_SLOTS) depth++;
  return depth;
}

/** Modelled cost of one walk of `vmas` VMAs by one design. */
export interface WalkCost {
  depth: number;
  /** Cost of one `_next` per VMA, averaged over the walk (program body excluded). */
  perVmaNs: number;
  /** Longest continuous lock hold in one walk (what a writer to the address space waits for). */
  lockHoldNs: number;
  /** Which lock that is. */
  lock: "mmap_lock (whole walk, program body included)" | "per-VMA lock (one copy)";
  /** Whole walk, program body included. */
  walkNs: number;
}

/**
 * A/C/alloca keep one ma_state across `_next` calls, so a step is a slot advance plus an amortised
 * climb to the next leaf; they hold the mmap read lock from `_new` to `_destroy`, across every
 * program body. B drops all state between calls: each `_next` searches again from the root for
 * next_addr, takes the VMA's lock, copies vm_area_struct and drops the lock, so its longest hold
 * is one copy.
 */
export function walkCost(
  design: LabDesign,
  vmas: number,
  vmAreaSize: number,
  c: WalkCosts = DEFAULT_WALK_COSTS,
): WalkCost {
  const depth = mapleDepth(2 * vmas + 1);
  if (design === "snapshot") {
    const copy = c.vmaLockNs + vmAreaSize * c.copyNsPerByte;
    const perVmaNs = depth * c.levelNs + c.slotNs + copy;
    return {
      depth,
      perVmaNs,
      lockHoldNs: copy,
      lock: "per-VMA lock (one copy)",
      walkNs: vmas * (perVmaNs + c.bodyNs),
    };
  }
  // A leaf holds VMAs and gaps alike: MAPLE_LEAF_SLOTS/2 VMAs per leaf, then a climb of depth-1 levels.
  const perVmaNs = 2 * c.slotNs + ((depth - 1) * c.levelNs * 2) / MAPLE_LEAF_SLOTS;
  const start = c.mmapLockNs + depth * c.levelNs + (design === "alloca" ? c.stackGrowNs : 0);
  const walkNs = start + vmas * (perVmaNs + c.bodyNs);
  return {
    depth,
    perVmaNs,
    lockHoldNs: walkNs,
    lock: "mmap_lock (whole walk, program body included)",
    walkNs,
  };
}
