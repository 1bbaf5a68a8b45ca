import { Errno, KernelMmError } from "../errors.js";
import { MmStruct } from "../mm/mm-struct.js";
import { flagsFromPerms, type VmFlagsTable, vmFlagsFromSmaps, vmFlagsTableFor } from "../mm/vm-flags.js";
import { type PgoffSource, VmArea, type VmFile } from "../mm/vma.js";

/** The static x86_64 gate VMA: printed last in maps, never in the tree (spec 6.1). */
export const VSYSCALL_START = 0xffffffffff600000n;
/** `STACK_TOP_MAX >> 12` with 4-level paging; `[stack]` pgoff + pages equals it (spec 6.3). */
export const STACK_TOP_PAGES_4LEVEL = 0x7ffffffffn;
/** Same with 5-level paging. */
export const STACK_TOP_PAGES_5LEVEL = 0xfffffffffffn;

/** One line of `/proc/PID/maps` (or an smaps header), fields as printed. */
export interface MapsLine {
  start: bigint;
  end: bigint;
  perms: string;
  offset: bigint;
  major: number;
  minor: number;
  inode: bigint;
  name: string;
}

/** One smaps entry: the header plus the keys bpfkit uses. */
export interface SmapsEntry extends MapsLine {
  vmFlags: string[] | null;
  protectionKey: number;
  anonymousKb: number | null;
}

/** A VMA as imported from `/proc`, with the kernel's `vm_flags` and `vm_pgoff`. */
export interface ImportedVma {
  start: bigint;
  end: bigint;
  flags: bigint;
  pgoff: bigint;
  pgoffSource: PgoffSource;
  perms: string;
  /** `/proc` name or path ("" for plain anonymous memory). */
  path: string;
  major: number;
  minor: number;
  inode: bigint;
  /** True when the flags came from smaps VmFlags (exact); false when only from the perms. */
  flagsExact: boolean;
  anonVma: boolean | null;
}

/**
 * Heap and stack bounds from `/proc/PID/stat` (start_brk is field 47, start_stack field 28). The
 * current brk is not in stat (field 48 is arg_start): `parseStat` reports start_brk for it and
 * `buildMm` raises it to the end of the `[heap]` VMA, the page-aligned value the kernel shows.
 */
export interface ProcStat {
  startBrk: bigint;
  brk: bigint;
  startStack: bigint;
  threads?: number;
}

/** A recorded or live address space: the input of `buildMm`. */
export interface AddressSpace {
  vmas: ImportedVma[];
  stat: ProcStat | null;
  release: string;
  table: VmFlagsTable;
  /** The `[vsyscall]` line was present (it is never part of the tree). */
  vsyscall: boolean;
}

const headerRe =
  /^([0-9a-f]+)-([0-9a-f]+) ([-r][-w][-x][sp]) ([0-9a-f]+) ([0-9a-f]+):([0-9a-f]+) (\d+)(?: +(.*))?$/;

/** Parses one maps line; the name is the rest after the inode with leading spaces removed. */
export function parseMapsLine(line: string, where = "maps"): MapsLine {
  const m = headerRe.exec(line);
  if (!m) throw new KernelMmError(`malformed maps line "${line}" in ${where}`, Errno.EINVAL, where);
  return {
    start: BigInt(`0x${m[1]}`),
    end: BigInt(`0x${m[2]}`),
    perms: m[3] as string,
    offset: BigInt(`0x${m[4]}`),
    major: Number.parseInt(m[5] as string, 16),
    minor: Number.parseInt(m[6] as string, 16),
    inode: BigInt(m[7] as string),
    name: m[8] ?? "",
  };
}

/** Parses a whole `/proc/PID/maps`. */
export function parseMaps(text: string, where = "maps"): MapsLine[] {
  const out: MapsLine[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.length > 0) out.push(parseMapsLine(line, `${where}:${i + 1}`));
  });
  return out;
}

/** Parses `/proc/PID/smaps`: each header line starts an entry; VmFlags/ProtectionKey/Anonymous are kept. */
export function parseSmaps(text: string, where = "smaps"): SmapsEntry[] {
  const out: SmapsEntry[] = [];
  let cur: SmapsEntry | null = null;
  text.split("\n").forEach((line, i) => {
    if (line.length === 0) return;
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) {
      cur = {
        ...parseMapsLine(line, `${where}:${i + 1}`),
        vmFlags: null,
        protectionKey: 0,
        anonymousKb: null,
      };
      out.push(cur);
      return;
    }
    if (!cur)
      throw new KernelMmError(`smaps line before any header in ${where}:${i + 1}`, Errno.EINVAL, where);
    const entry: SmapsEntry = cur;
    const colon = line.indexOf(":");
    const key = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    if (key === "VmFlags") entry.vmFlags = value.split(/\s+/).filter((c) => c.length > 0);
    else if (key === "ProtectionKey") entry.protectionKey = Number(value);
    else if (key === "Anonymous") entry.anonymousKb = Number.parseInt(value, 10);
  });
  return out;
}

/** Parses `/proc/PID/stat` (the command may contain spaces and parentheses). */
export function parseStat(text: string, where = "stat"): ProcStat {
  const close = text.lastIndexOf(")");
  if (close < 0) throw new KernelMmError(`malformed stat in ${where}`, Errno.EINVAL, where);
  // Fields after the command start at field 3.
  const fields = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  const field = (n: number) => BigInt(fields[n - 3] ?? "0");
  return { startStack: field(28), startBrk: field(47), brk: field(47), threads: Number(field(20)) };
}

const specialNames = /^\[(vdso|vvar|vvar_vclock|uprobes|sigpage|vectors)\]$/;

/** `vm_pgoff` the kernel holds for a VMA, by the rules of spec 6.3. */
export function inferPgoff(line: MapsLine): { pgoff: bigint; source: PgoffSource } {
  if (line.inode !== 0n) return { pgoff: line.offset >> 12n, source: "file" };
  if (line.name === "[stack]") {
    const top = line.end > STACK_TOP_PAGES_4LEVEL << 12n ? STACK_TOP_PAGES_5LEVEL : STACK_TOP_PAGES_4LEVEL;
    return { pgoff: top - ((line.end - line.start) >> 12n), source: "stack" };
  }
  if (specialNames.test(line.name)) return { pgoff: 0n, source: "special" };
  return { pgoff: line.start >> 12n, source: "anon-inferred" };
}

/** Turns parsed smaps (or plain maps) lines into imported VMAs; `[vsyscall]` is left out. */
export function importVmas(
  lines: Array<MapsLine | SmapsEntry>,
  table: VmFlagsTable,
  where = "smaps",
): ImportedVma[] {
  const out: ImportedVma[] = [];
  for (const line of lines) {
    if (line.start === VSYSCALL_START && line.name === "[vsyscall]") continue;
    const smaps = "vmFlags" in line ? line : null;
    const codes = smaps?.vmFlags ?? null;
    const flags = codes
      ? vmFlagsFromSmaps(codes, smaps?.protectionKey ?? 0, table, `${where} VMA 0x${line.start.toString(16)}`)
      : flagsFromPerms(line.perms);
    const { pgoff, source } = inferPgoff(line);
    out.push({
      start: line.start,
      end: line.end,
      flags,
      pgoff,
      pgoffSource: source,
      perms: line.perms,
      path: line.name,
      major: line.major,
      minor: line.minor,
      inode: line.inode,
      flagsExact: codes !== null,
      anonVma: smaps?.anonymousKb == null ? null : smaps.anonymousKb > 0 ? true : null,
    });
  }
  return out;
}

/** Recorded files of one process; `smaps` is preferred, `maps` alone gives only the perm bits. */
export interface SavedProcess {
  smaps?: string;
  maps?: string;
  stat?: string;
  /** `uname -r` of the kernel the files came from (chooses the VmFlags table). */
  release?: string;
}

/** Imports a recorded address space (pure: works in a browser). */
export function importSaved(saved: SavedProcess): AddressSpace {
  const release = saved.release?.trim() || "6.18.0";
  const table = vmFlagsTableFor(release);
  let lines: Array<MapsLine | SmapsEntry>;
  if (saved.smaps !== undefined) lines = parseSmaps(saved.smaps);
  else if (saved.maps !== undefined) lines = parseMaps(saved.maps);
  else throw new KernelMmError("a saved process needs smaps or maps text", Errno.EINVAL, "import");
  const vsyscall = lines.some((l) => l.start === VSYSCALL_START);
  return {
    vmas: importVmas(lines, table, saved.smaps !== undefined ? "smaps" : "maps"),
    stat: saved.stat ? parseStat(saved.stat) : null,
    release,
    table,
    vsyscall,
  };
}

/**
 * Applies `vm_pgoff` values read from the kernel (e.g. by a BPF task_vma walk) to an import and
 * marks every VMA the oracle covered as exact. Returns how many inferred values were wrong (a
 * faulted anonymous VMA moved by mremap keeps its old pgoff, which /proc cannot show).
 */
export function confirmPgoff(
  space: AddressSpace,
  kernel: ReadonlyArray<{ start: bigint; end: bigint; pgoff: bigint }>,
): number {
  const byStart = new Map(kernel.map((k) => [k.start, k]));
  let corrected = 0;
  for (const v of space.vmas) {
    const k = byStart.get(v.start);
    if (!k || k.end !== v.end) continue;
    if (k.pgoff !== v.pgoff) corrected++;
    v.pgoff = k.pgoff;
    v.pgoffSource = "oracle";
  }
  return corrected;
}

function fileOf(v: ImportedVma): VmFile | null {
  if (v.inode === 0n) return null;
  return { path: v.path, major: v.major, minor: v.minor, ino: v.inode };
}

/**
 * Builds an `mm_struct` from an imported address space: VMAs stored in address order on an
 * MM_MT_FLAGS tree (the live tree's node shape depends on history and is not reproduced).
 */
export function buildMm(space: AddressSpace): MmStruct {
  const mm = new MmStruct();
  if (space.stat) {
    mm.startBrk = space.stat.startBrk;
    mm.brk = space.stat.brk;
    mm.startStack = space.stat.startStack;
    if (space.stat.threads && space.stat.threads > 0) mm.mmUsers = space.stat.threads;
  }
  mm.mmapWriteTrylock("import");
  for (const v of space.vmas) {
    const file = fileOf(v);
    const name = file ? "" : v.path;
    const anon = /^\[anon:(.*)\]$/.exec(name);
    mm.insertVma(
      new VmArea({
        start: v.start,
        end: v.end,
        flags: v.flags,
        pgoff: v.pgoff,
        file,
        name: anon ? "" : name,
        anonName: anon ? (anon[1] as string) : null,
        pgoffSource: v.pgoffSource,
        anonVma: v.anonVma,
      }),
    );
    if (name === "[heap]" && v.end > mm.brk) mm.brk = v.end;
  }
  mm.mmapWriteUnlock();
  return mm;
}
