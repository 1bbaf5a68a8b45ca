import { readFileSync } from "node:fs";
import type { Btf, CoreTarget } from "@bpfkit/btf";
import { type LoadedObject, loadObject, openObject } from "../../src/index.js";

/** What the libbpf oracle (libbpf-insns.c) prints for one object. */
export interface OracleResult {
  open: boolean;
  loaded?: boolean;
  error: string;
  maps?: Array<{
    name: string;
    type: number;
    keySize: number;
    valueSize: number;
    maxEntries: number;
    /** max_entries in the object: the oracle sizes 0-entry maps (the tests size them at run time). */
    objectMaxEntries?: number;
    /** Hex of the value libbpf initialised (global data, .kconfig). */
    initial?: string;
    flags: number;
    fd: number;
  }>;
  programs?: Array<{ name: string; section: string; type: number; autoload: boolean; insns: string }>;
}

/** The outcome of comparing one object. */
export interface Comparison {
  /** `both-reject`: bpfkit and libbpf both refuse the object (at open, or before relocation). */
  status: "equal" | "differ" | "excluded" | "both-reject";
  reason: string;
}

/** libbpf errors that happen before relocation (externs, map creation). */
function beforeRelocation(error: string): boolean {
  return /extern|failed to create|bpf_create_map|not resolved/.test(error);
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** Replaces map fds in lddw src 1/2 by map indices and module BTF fds by 0, in place. */
export function normaliseOracleInsns(bytes: Uint8Array, fdToIndex: Map<number, number>): void {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i + 8 <= bytes.length; i += 8) {
    if (bytes[i] !== 0x18) continue;
    const src = bytes[i + 1]! >> 4;
    if (src === 1 || src === 2) {
      const idx = fdToIndex.get(v.getInt32(i + 4, true));
      if (idx !== undefined) v.setInt32(i + 4, idx, true);
    } else if (src === 3 && i + 16 <= bytes.length) v.setInt32(i + 12, 0, true);
    i += 8;
  }
}

export interface Target {
  kernelBtf: Btf;
  modules: CoreTarget[];
  kallsyms: (name: string) => bigint | undefined;
  possibleCpus: number;
  kconfig: Record<string, string>;
}

/** Opens and loads `path` with bpfkit and compares it with the oracle's view. */
export function compareObject(path: string, oracle: OracleResult, target: Target): Comparison {
  let loaded: LoadedObject;
  try {
    const obj = openObject(readFileSync(path), { fileName: path, kernelBtf: target.kernelBtf });
    loaded = loadObject(obj, target);
  } catch (e) {
    if (!oracle.open)
      return {
        status: "both-reject",
        reason: `bpfkit: ${(e as Error).message}; libbpf open: ${oracle.error}`,
      };
    if (!oracle.loaded && beforeRelocation(oracle.error))
      return { status: "both-reject", reason: `bpfkit: ${(e as Error).message}; libbpf: ${oracle.error}` };
    return {
      status: "differ",
      reason: `bpfkit failed: ${(e as Error).message}; libbpf: ${oracle.error || "loaded"}`,
    };
  }
  // libbpf 1.1 predates these objects' features (arena, extern maps, ...); bpfkit loads them.
  if (!oracle.open) return { status: "excluded", reason: `libbpf 1.1 cannot open it: ${oracle.error}` };
  // A map the kernel refused (e.g. max_entries 0, set by the test at run time) or an unresolved
  // extern stops libbpf before relocation: there is no final instruction stream to compare.
  if (!oracle.loaded && beforeRelocation(oracle.error))
    return { status: "excluded", reason: `libbpf stopped before relocation: ${oracle.error}` };
  const omaps = oracle.maps ?? [];
  // The kernel adds BPF_F_RDONLY_PROG to devmaps itself (programs must not write them).
  const kflags = (type: number, flags: number) => (type === 14 || type === 25 ? flags | 0x80 : flags);
  const ours = loaded.maps.map(
    (m) => `${m.name} ${m.type} ${m.keySize} ${m.valueSize} ${m.maxEntries} ${kflags(m.type, m.flags)}`,
  );
  const theirs = omaps.map((m) => {
    const max = m.objectMaxEntries === 0 && m.type !== 4 ? 0 : m.maxEntries;
    return `${m.name} ${m.type} ${m.keySize} ${m.valueSize} ${max} ${m.flags}`;
  });
  if (ours.join("|") !== theirs.join("|")) {
    const i = ours.findIndex((m, j) => m !== theirs[j]);
    return { status: "differ", reason: `map #${i}: bpfkit '${ours[i] ?? "-"}' libbpf '${theirs[i] ?? "-"}'` };
  }
  for (const [i, m] of omaps.entries()) {
    if (m.initial === undefined) continue;
    const mine = loaded.maps[i]?.initial;
    const a = mine ? hex(mine) : "";
    if (a !== m.initial)
      return { status: "differ", reason: `map '${m.name}' initial value: bpfkit ${a} libbpf ${m.initial}` };
  }
  // After a failed program load libbpf has closed the fds; the oracle recovers them from its debug
  // lines, and a map missing there was created right after the previous one (fds ascend).
  const fdToIndex = new Map<number, number>();
  let prev = -1;
  omaps.forEach((m, i) => {
    const fd = m.fd >= 0 ? m.fd : prev >= 0 ? prev + 1 : -1;
    if (fd >= 0) fdToIndex.set(fd, i);
    prev = fd;
  });
  const mine = new Map(loaded.programs.map((p) => [p.name, p]));
  for (const op of oracle.programs ?? []) {
    if (!op.autoload) continue;
    const p = mine.get(op.name);
    if (!p) return { status: "differ", reason: `program '${op.name}' missing` };
    if (p.progType !== op.type && op.type !== 0)
      return { status: "differ", reason: `program '${op.name}': type ${p.progType} != ${op.type}` };
    const theirs = Buffer.from(op.insns, "hex");
    normaliseOracleInsns(theirs, fdToIndex);
    const a = hex(p.insns);
    const b = theirs.toString("hex");
    if (a !== b) {
      const n = Math.min(a.length, b.length);
      let k = 0;
      while (k < n && a[k] === b[k]) k++;
      const insn = Math.floor(k / 16);
      return {
        status: "differ",
        reason: `program '${op.name}' insn #${insn} of ${p.insns.length / 8}/${theirs.length / 8}: bpfkit ${a.slice(insn * 16, insn * 16 + 16)} libbpf ${b.slice(insn * 16, insn * 16 + 16)}`,
      };
    }
  }
  return {
    status: "equal",
    reason: oracle.loaded ? "loaded" : `relocated; kernel load failed: ${oracle.error}`,
  };
}
