// The facade: the whole stack from one import. Re-exports stay thin; the only code here is the
// Kernel that wires object loading, the runtime and the task_vma kfuncs together.
export * as isa from "@bpfkit/bpf-isa";
export * as btf from "@bpfkit/btf";
export * as kernelMm from "@bpfkit/kernel-mm";
export * as taskVma from "@bpfkit/kfuncs-task-vma";
export * as memAlloc from "@bpfkit/mem-alloc";
export * as object from "@bpfkit/object";
export * as runtime from "@bpfkit/runtime";
export * as vm from "@bpfkit/vm";
export type { KernelOptions, VerifyResult } from "./kernel.js";
export { createKernel, Kernel, LoadedBpfObject, Program } from "./kernel.js";
