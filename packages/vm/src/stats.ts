/** What one `Vm.run` did. Counts are exact; `wallNs` comes from `performance.now()`, so the VM also runs in browsers (which coarsen it to 5-100 µs). */
export interface RunStats {
  /** Instructions executed, across all frames and tail calls. */
  insns: number;
  /** Wall time of the run in nanoseconds. */
  wallNs: number;
  helperCalls: number;
  kfuncCalls: number;
  /** bpf-to-bpf calls, direct and through `callx`. */
  localCalls: number;
  /** Successful tail calls (at most 33 per run). */
  tailCalls: number;
  /** Deepest frame reached: 1 for a program that makes no bpf-to-bpf call. */
  maxFrames: number;
}
