export type { CoreDemo, CoreDemoRow, KernelProfile } from "./core-demo.js";
export { coreSizeDemo, KERN_DATA_HEAD } from "./core-demo.js";
export type { LabDesign, WalkCost, WalkCosts } from "./cost-model.js";
export { DEFAULT_WALK_COSTS, MAPLE_LEAF_SLOTS, mapleDepth, walkCost } from "./cost-model.js";
export { MA_STATE_6_12 } from "./ma-state-6-12.js";
export type { PlotSeries } from "./plot.js";
export { failureRatePlot } from "./plot.js";
export type { StructLayout, StructMember } from "./struct-layout.js";
export { btfForLayout, MA_STATE_6_6, MA_STATE_6_18, structLayoutFromBtf } from "./struct-layout.js";
