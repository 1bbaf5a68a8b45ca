/** Linux errno values the map operations and helpers return (negated, as the kernel does). */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  E2BIG: 7,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  EINVAL: 22,
  ENOSPC: 28,
  ERANGE: 34,
  EOPNOTSUPP: 95,
  /** Kernel-internal "not supported" that leaks to user space from some map types. */
  ENOTSUPP: 524,
} as const;

const NAMES = new Map<number, string>(Object.entries(Errno).map(([k, v]) => [v, k]));

/** `E2BIG` for 7 (or for -7); the number itself when unknown. */
export function errnoName(code: number): string {
  return NAMES.get(Math.abs(code)) ?? String(code);
}
