import type { Runtime, Task } from "@bpfkit/runtime";
import { TaskVmaErrno, TaskVmaError } from "../errors.js";
import type { KernelObjects } from "../objects.js";
import type { TaskVmaSystem } from "../system.js";

/** The three iterator designs of spec 0: the 2023 heap design, the 2026 snapshot design, the rejected on-stack one. */
export type DesignName = "original" | "snapshot" | "stack";

/** Every design name, in the order of the spec's comparison table. */
export const DESIGN_NAMES: readonly DesignName[] = ["original", "snapshot", "stack"];

/**
 * One implementation of `bpf_iter_task_vma_new/next/destroy`. `it` is the guest address of the
 * program's `struct bpf_iter_task_vma`; results are what the kfuncs return to the program.
 */
export interface TaskVmaDesign {
  readonly name: DesignName;
  readonly system: TaskVmaSystem;
  /** Bytes of `struct bpf_iter_task_vma` on the BPF stack (8, or 88/96 for `stack`). */
  readonly iterSize: number;
  /** Bytes requested from `bpf_global_ma` per iterator (0 for `stack`). */
  readonly kernDataSize: number;
  /** Iterators created and not destroyed. */
  readonly live: number;
  iterNew(rt: Runtime, it: bigint, task: bigint, addr: bigint): number;
  iterNext(rt: Runtime, it: bigint): bigint;
  iterDestroy(rt: Runtime, it: bigint): void;
}

/** Shared prologue of `_new`: the bound objects and the task behind a trusted pointer. */
export function begin(
  system: TaskVmaSystem,
  rt: Runtime,
  taskAddr: bigint,
  design: DesignName,
): { objects: KernelObjects; task: Task } {
  const objects = system.bind(rt);
  const task = rt.tasks.at(taskAddr);
  // KF_RCU: the verifier only lets trusted or RCU task pointers through, never NULL.
  if (!task)
    throw new TaskVmaError(
      `bpf_iter_task_vma_new: 0x${taskAddr.toString(16)} is not a task_struct (the verifier requires a trusted task)`,
      "state",
      design,
    );
  system.stats.news++;
  return { objects, task };
}

/** Counts a failed `_new` and returns its negative errno. */
export function fail(system: TaskVmaSystem, errno: keyof typeof TaskVmaErrno): number {
  system.stats.newFailures[errno as keyof TaskVmaSystem["stats"]["newFailures"]]++;
  return -TaskVmaErrno[errno];
}
