/** ULONG_MAX on a 64-bit kernel: the last index of every maple tree (spec 1.1). */
export const MAX = 0xffff_ffff_ffff_ffffn;
/** `MAX` rounded to a double, used by the float mirrors of pivots. */
export const MAX_F = 2 ** 64;
/** Below this every index is exact as a JS number, so double comparisons need no bigint check. */
export const EXACT_F = 2 ** 53;

/** enum maple_type: dense nodes exist in the enum but no 6.12 write path creates them (spec 1.2). */
export const MapleType = { dense: 0, leaf64: 1, range64: 2, arange64: 3 } as const;
export type MapleType = (typeof MapleType)[keyof typeof MapleType];

/** Slots per node type on 64-bit kernels: dense 31, leaf/range 16, arange 10 (spec 1.2). */
export const MT_SLOTS: readonly number[] = [31, 16, 16, 10];
/** Explicit pivots per node type: one fewer than the slots, dense none. */
export const MT_PIVOTS: readonly number[] = [0, 15, 15, 9];
/** Minimum data end (index of the last used slot) of a non-root node (spec 1.2, mt_min_slots). */
export const MT_MIN_SLOTS: readonly number[] = [15, 6, 6, 4];
/** Size of the scratch "big node" used while splitting and rebalancing. */
export const MAPLE_BIG_NODE_SLOTS = 34;
/** Deepest tree the kernel allows. */
export const MAPLE_HEIGHT_MAX = 31;
/** Size and alignment of `struct maple_node`. */
export const MAPLE_NODE_SIZE = 256;

/** Tree flags in `maple_tree.ma_flags` (spec 1.5). */
export const MT_FLAGS_ALLOC_RANGE = 0x01;
export const MT_FLAGS_USE_RCU = 0x02;
export const MT_FLAGS_HEIGHT_OFFSET = 2;
export const MT_FLAGS_HEIGHT_MASK = 0x7c;
export const MT_FLAGS_LOCK_IRQ = 0x100;
export const MT_FLAGS_LOCK_BH = 0x200;
export const MT_FLAGS_LOCK_EXTERN = 0x300;
export const MT_FLAGS_ALLOC_WRAPPED = 0x800;
/** The flags of every `mm->mm_mt`: gap tracking, external (mmap) lock, RCU readers. */
export const MM_MT_FLAGS = MT_FLAGS_ALLOC_RANGE | MT_FLAGS_LOCK_EXTERN | MT_FLAGS_USE_RCU;

/** enum maple_status of `ma_state.status` (spec 1.12). */
export const MaStatus = {
  active: 0,
  start: 1,
  root: 2,
  none: 3,
  pause: 4,
  overflow: 5,
  underflow: 6,
  error: 7,
} as const;
export type MaStatus = (typeof MaStatus)[keyof typeof MaStatus];

/** enum store_type: how the last write was carried out (spec 5.2). */
export const StoreType = {
  invalid: 0,
  newRoot: 1,
  storeRoot: 2,
  exactFit: 3,
  spanningStore: 4,
  splitStore: 5,
  rebalance: 6,
  append: 7,
  nodeStore: 8,
  slotStore: 9,
} as const;
export type StoreType = (typeof StoreType)[keyof typeof StoreType];

/**
 * The reserved "zero" entry (XA_ZERO_ENTRY, 0x406): `mtree_load`/`mt_find` read it as NULL, the
 * `mas_*` API returns it as is. mm uses it to mark where a failed fork stopped copying.
 */
export const XA_ZERO_ENTRY: object = Object.freeze({ xaZeroEntry: 0x406 });
