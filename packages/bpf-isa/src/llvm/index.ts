export type { ParseLlvmOptions } from "./parse.js";
export { parseLlvm, parseLlvmInsn } from "./parse.js";
export type { LlvmPrintOptions } from "./print.js";
export { LLVM_UNKNOWN, llvmBranchTarget, llvmHex, printLlvm } from "./print.js";
