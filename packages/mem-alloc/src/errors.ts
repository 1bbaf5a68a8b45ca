/** What kind of misuse a {@link MemAllocError} reports. */
export type MemAllocErrorKind =
  | "bad-cpu"
  | "bad-config"
  | "double-free"
  | "unknown-object"
  | "unsupported"
  | "class-not-initialised";

/**
 * The one error class of `@bpfkit/mem-alloc`. It reports misuse of the model (a free of an object
 * that is not allocated, a CPU that does not exist, a configuration the kernel rejects), never an
 * allocation failure: those are NULL results, exactly as in the kernel.
 */
export class MemAllocError extends Error {
  readonly isInputError = true;
  readonly kind: MemAllocErrorKind;
  /** Operation that failed, e.g. `free` or `init`. */
  readonly op: string;

  constructor(op: string, kind: MemAllocErrorKind, message: string) {
    super(`${message}, in ${op}`);
    this.name = "MemAllocError";
    this.op = op;
    this.kind = kind;
  }
}
