import { KF, type KfuncDef, type KfuncRegistry } from "@bpfkit/runtime";
import type { DesignName, TaskVmaDesign } from "./designs/design.js";
import { HeldLockDesign } from "./designs/held-lock.js";
import { SnapshotDesign } from "./designs/snapshot.js";
import { TaskVmaSystem, type TaskVmaSystemOptions } from "./system.js";

/** Kfunc flags per spec 2 (A, B and C alike: `_new` is `KF_RCU`, `_next` may return NULL). */
export const TASK_VMA_FLAGS = {
  bpf_iter_task_vma_new: KF.ITER_NEW | KF.RCU,
  bpf_iter_task_vma_next: KF.ITER_NEXT | KF.RET_NULL,
  bpf_iter_task_vma_destroy: KF.ITER_DESTROY,
} as const;

/**
 * C prototypes of the three kfuncs (spec 1); the runtime takes the binary prototypes from the
 * target BTF, these are for messages and documentation.
 */
export const TASK_VMA_PROTOTYPES = {
  bpf_iter_task_vma_new:
    "int bpf_iter_task_vma_new(struct bpf_iter_task_vma *it, struct task_struct *task, u64 addr)",
  bpf_iter_task_vma_next: "struct vm_area_struct *bpf_iter_task_vma_next(struct bpf_iter_task_vma *it)",
  bpf_iter_task_vma_destroy: "void bpf_iter_task_vma_destroy(struct bpf_iter_task_vma *it)",
} as const;

export interface TaskVmaOptions extends TaskVmaSystemOptions {
  design: DesignName;
  /** `stack` only: bytes of the on-stack iterator (the proposal's 88 or 96; default 96). */
  stackBytes?: number;
  /** Share kernel state with another design instance (default: a new system). */
  system?: TaskVmaSystem;
}

/** A design instance over its own (or a shared) kernel state. Throws `TaskVmaError` when `stack` does not fit the target. */
export function createTaskVma(options: TaskVmaOptions): TaskVmaDesign {
  const system = options.system ?? new TaskVmaSystem(options);
  if (options.design === "snapshot") return new SnapshotDesign(system);
  return new HeldLockDesign(options.design, system, { stackBytes: options.stackBytes });
}

/** The kfunc definitions of one design, ready for `KfuncRegistry.registerAll`. */
export function taskVmaKfuncs(design: TaskVmaDesign): KfuncDef[] {
  return [
    {
      name: "bpf_iter_task_vma_new",
      flags: TASK_VMA_FLAGS.bpf_iter_task_vma_new,
      impl: (call, rt) => design.iterNew(rt, call.arg(1), call.arg(2), call.arg(3)),
    },
    {
      name: "bpf_iter_task_vma_next",
      flags: TASK_VMA_FLAGS.bpf_iter_task_vma_next,
      impl: (call, rt) => design.iterNext(rt, call.arg(1)),
    },
    {
      name: "bpf_iter_task_vma_destroy",
      flags: TASK_VMA_FLAGS.bpf_iter_task_vma_destroy,
      impl: (call, rt) => design.iterDestroy(rt, call.arg(1)),
    },
  ];
}

/** Adds the three kfuncs of `design` to `registry` (replacing any earlier task_vma kfuncs). */
export function registerTaskVma(registry: KfuncRegistry, design: TaskVmaDesign): KfuncRegistry {
  return registry.registerAll(taskVmaKfuncs(design));
}

/**
 * The design a kernel runs: the 2026 snapshot design from 6.12.117/6.18.44 on, the 2023 design for
 * 6.7 through 6.11 (and the seed-era `2023` profile).
 */
export function designForKernel(release: string): DesignName {
  if (release === "2023") return "original";
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release);
  if (!m) return "snapshot";
  const major = Number(m[1]);
  const minor = Number(m[2]);
  const patch = Number(m[3] ?? 0);
  if (major > 6 || (major === 6 && minor > 18)) return "snapshot";
  if (major === 6 && minor === 18) return patch >= 44 || patch === 0 ? "snapshot" : "original";
  if (major === 6 && minor === 12) return patch >= 117 ? "snapshot" : "original";
  return "original";
}
