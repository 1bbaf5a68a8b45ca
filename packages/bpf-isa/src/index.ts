export type {
  AccessSize,
  AluOp,
  AtomicOp,
  InsnDescription,
  InsnKind,
  JmpOp,
  Operand,
  Width,
} from "./classify.js";
export { ALU_OPS, classify, JMP_OPS } from "./classify.js";
export type { CodecOptions, Endian } from "./codec.js";
export { decode, encode } from "./codec.js";
export type { BpfIsaErrorKind } from "./error.js";
export { BpfIsaError } from "./error.js";
export { HELPER_MAX_ID, HELPER_NAMES, helperId, helperName } from "./helpers.js";
export type { Instruction } from "./instruction.js";
export { imm64, insn, lddw, slotCount, slotIndices } from "./instruction.js";
export type { KernelLine } from "./kernel/parse.js";
export { parseKernel, parseKernelInsn, parseKernelLines } from "./kernel/parse.js";
export type { KernelListingOptions, KernelPrintOptions } from "./kernel/print.js";
export {
  bpftoolImm,
  formatVerifierLine,
  formatXlatedLine,
  KERNEL_ALU_OPS,
  KERNEL_JMP_OPS,
  printKernel,
  printKernelInsn,
} from "./kernel/print.js";
export * from "./llvm/index.js";
export * from "./opcodes.js";
export type { UbpfAssembleOptions } from "./ubpf/assemble.js";
export { assembleUbpf } from "./ubpf/assemble.js";
export type { ConformanceCase } from "./ubpf/data-file.js";
export { parseConformanceData } from "./ubpf/data-file.js";
export { disassembleUbpf, disassembleUbpfInsn } from "./ubpf/disassemble.js";
export type { ValidationIssue } from "./validate.js";
export { isKnownOpcode, validate, validateInstruction } from "./validate.js";
