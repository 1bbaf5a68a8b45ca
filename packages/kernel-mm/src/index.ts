export { Errno, KernelMmError } from "./errors.js";
export * from "./maple/constants.js";
export { dupTree } from "./maple/dup.js";
export { type AreaWindow, emptyArea, emptyAreaRev } from "./maple/gap.js";
export { MapleNode } from "./maple/node.js";
export { MaState } from "./maple/state.js";
export { type MapleStats, MapleTree } from "./maple/tree.js";
export { validateTree } from "./maple/validate.js";
