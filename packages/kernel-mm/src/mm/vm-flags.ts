import { Errno, KernelMmError } from "../errors.js";

/** The kernel's `VM_*` bits of `vm_area_struct.vm_flags` on x86_64 (6.18 numbering, spec 6.2). */
export const VM = {
  READ: 1n << 0n,
  WRITE: 1n << 1n,
  EXEC: 1n << 2n,
  SHARED: 1n << 3n,
  MAYREAD: 1n << 4n,
  MAYWRITE: 1n << 5n,
  MAYEXEC: 1n << 6n,
  MAYSHARE: 1n << 7n,
  GROWSDOWN: 1n << 8n,
  UFFD_MISSING: 1n << 9n,
  PFNMAP: 1n << 10n,
  MAYBE_GUARD: 1n << 11n,
  UFFD_WP: 1n << 12n,
  LOCKED: 1n << 13n,
  IO: 1n << 14n,
  SEQ_READ: 1n << 15n,
  RAND_READ: 1n << 16n,
  DONTCOPY: 1n << 17n,
  DONTEXPAND: 1n << 18n,
  LOCKONFAULT: 1n << 19n,
  ACCOUNT: 1n << 20n,
  NORESERVE: 1n << 21n,
  HUGETLB: 1n << 22n,
  SYNC: 1n << 23n,
  PAT: 1n << 24n,
  WIPEONFORK: 1n << 25n,
  DONTDUMP: 1n << 26n,
  SOFTDIRTY: 1n << 27n,
  MIXEDMAP: 1n << 28n,
  HUGEPAGE: 1n << 29n,
  NOHUGEPAGE: 1n << 30n,
  MERGEABLE: 1n << 31n,
  PKEY_BIT0: 1n << 32n,
  PKEY_BIT1: 1n << 33n,
  PKEY_BIT2: 1n << 34n,
  PKEY_BIT3: 1n << 35n,
  SHADOW_STACK: 1n << 37n,
  DROPPABLE: 1n << 40n,
  UFFD_MINOR: 1n << 41n,
  SEALED: 1n << 42n,
} as const;

/** Which kernel's numbering of the high VM_* bits applies (they moved between 6.12 and 6.18). */
export type VmFlagsTable = "6.12" | "6.18";

const common: Record<string, number> = {
  rd: 0,
  wr: 1,
  ex: 2,
  sh: 3,
  mr: 4,
  mw: 5,
  me: 6,
  ms: 7,
  gd: 8,
  um: 9,
  pf: 10,
  uw: 12,
  lo: 13,
  io: 14,
  sr: 15,
  rr: 16,
  dc: 17,
  de: 18,
  lf: 19,
  ac: 20,
  nr: 21,
  ht: 22,
  sf: 23,
  ar: 24,
  wf: 25,
  dd: 26,
  sd: 27,
  mm: 28,
  hg: 29,
  nh: 30,
  mg: 31,
  ss: 37,
  dp: 40,
};

/** `smaps` VmFlags mnemonic → bit, per kernel (spec 6.2). */
export const VM_FLAG_MNEMONICS: Record<VmFlagsTable, Readonly<Record<string, number>>> = {
  "6.18": { ...common, gu: 11, ui: 41, sl: 42 },
  "6.12": { ...common, ui: 38, sl: 63 },
};

/**
 * Picks the table for a `uname -r` release: 6.13 and later use the 6.18 numbering (the exact
 * version where UFFD_MINOR/SEALED moved is not pinned down in the spec), earlier ones 6.12's.
 */
export function vmFlagsTableFor(release: string): VmFlagsTable {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (!m) return "6.18";
  const major = Number(m[1]);
  const minor = Number(m[2]);
  return major > 6 || (major === 6 && minor >= 13) ? "6.18" : "6.12";
}

/** `vm_flags` from a `VmFlags:` list and the `ProtectionKey:` value (spec 6.2 reconstruction). */
export function vmFlagsFromSmaps(
  codes: readonly string[],
  pkey: number,
  table: VmFlagsTable,
  where = "VmFlags",
): bigint {
  const bits = VM_FLAG_MNEMONICS[table];
  let flags = 0n;
  for (const code of codes) {
    const bit = bits[code];
    if (bit === undefined) {
      throw new KernelMmError(
        `unknown VmFlags code "${code}" for a ${table} kernel in ${where}`,
        Errno.EINVAL,
        where,
      );
    }
    flags |= 1n << BigInt(bit);
  }
  return flags | (BigInt(pkey) << 32n);
}

/** The four permission characters `/proc/PID/maps` prints for `vm_flags`. */
export function permsOf(flags: bigint): string {
  return (
    (flags & VM.READ ? "r" : "-") +
    (flags & VM.WRITE ? "w" : "-") +
    (flags & VM.EXEC ? "x" : "-") +
    (flags & VM.MAYSHARE ? "s" : "p")
  );
}

/** Flags implied by a maps line alone (no smaps): the four permission bits. */
export function flagsFromPerms(perms: string): bigint {
  let f = 0n;
  if (perms[0] === "r") f |= VM.READ;
  if (perms[1] === "w") f |= VM.WRITE;
  if (perms[2] === "x") f |= VM.EXEC;
  if (perms[3] === "s") f |= VM.MAYSHARE;
  return f;
}
