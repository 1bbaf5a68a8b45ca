export { formatPrintf } from "./format.js";
export type { HelperImpl } from "./standard.js";
export { BPF_LOOP_MAX, STANDARD_HELPERS as HELPERS_BY_NAME } from "./standard.js";
