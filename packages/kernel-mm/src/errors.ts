/** Kernel errno values the model reports, negated as the kernel returns them. */
export const Errno = { ENOENT: 2, EAGAIN: 11, ENOMEM: 12, EBUSY: 16, EEXIST: 17, EINVAL: 22 } as const;

/**
 * The one error class of `@bpfkit/kernel-mm`. `errno` is the positive kernel errno the operation
 * would return (EINVAL for `index > last`, EEXIST for an occupied insert, ...); `where` names the
 * operation or input (a `/proc` file and line) that failed.
 */
export class KernelMmError extends Error {
  readonly isInputError = true;
  constructor(
    message: string,
    readonly errno: number,
    readonly where: string,
  ) {
    super(message);
    this.name = "KernelMmError";
  }
}
