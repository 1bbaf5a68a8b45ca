/** Names of the kernel versions whose allocator the model can follow (spec mem-alloc.md section 12). */
export type KernelProfileName = "2023" | "6.12" | "6.18";

/** Allocator behaviours that differ between kernel versions (spec section 12). */
export interface KernelProfile {
  readonly name: KernelProfileName;
  /** Size 0 returns NULL (6.12 on); the mid-2023 code returned the special zero-size pointer. */
  readonly zeroSizeIsNull: boolean;
  /** The refill is queued before interrupts are restored, so an irqs-on caller gets it at the restore. */
  readonly queueBeforeRestore: boolean;
  /** Prefill may sleep (6.12 on) and therefore never fails; mid-2023 prefilled without sleeping. */
  readonly sleepingPrefill: boolean;
  /** Per-CPU-data caches use watermarks 1/3, batch 1, prefill 1. */
  readonly percpuWatermarks: boolean;
  /** `bpf_mem_free_rcu` and its normal-RCU list exist (section 9.2). */
  readonly rcuDeferredFree: boolean;
}

/** The three profiles of spec section 12; 6.18 follows 6.12's code where its BTF is silent. */
export const KERNEL_PROFILES: Readonly<Record<KernelProfileName, KernelProfile>> = {
  "2023": {
    name: "2023",
    zeroSizeIsNull: false,
    queueBeforeRestore: false,
    sleepingPrefill: false,
    percpuWatermarks: false,
    rcuDeferredFree: false,
  },
  "6.12": {
    name: "6.12",
    zeroSizeIsNull: true,
    queueBeforeRestore: true,
    sleepingPrefill: true,
    percpuWatermarks: true,
    rcuDeferredFree: true,
  },
  "6.18": {
    name: "6.18",
    zeroSizeIsNull: true,
    queueBeforeRestore: true,
    sleepingPrefill: true,
    percpuWatermarks: true,
    rcuDeferredFree: true,
  },
};
