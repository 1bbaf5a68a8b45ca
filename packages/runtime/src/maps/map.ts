import type { Btf } from "@bpfkit/btf";
import type { Memory, Region } from "@bpfkit/vm";
import { Errno } from "../errno.js";
import { MAP_TYPE_NAMES, MapFlag, UpdateFlag } from "./constants.js";

/** A map definition, as a loader (or a test) gives it: the fields of `BPF_MAP_CREATE`. */
export interface MapSpec {
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags?: number;
  /** Template of the inner maps of an array/hash of maps. */
  inner?: MapSpec;
  /** BTF that describes key and value, for `formatted` dumps. */
  btf?: Btf;
  btfKeyTypeId?: number;
  btfValueTypeId?: number;
  /** Byte offset of a `struct bpf_spin_lock` in the value; `BPF_F_LOCK` is refused without one. */
  spinLockOffset?: number;
}

/** What a map needs from the kernel around it: guest memory and the CPUs. */
export interface MapHost {
  readonly memory: Memory;
  /** Possible CPUs: the number of copies of a per-CPU value. */
  readonly nrCpus: number;
  /** The CPU the program runs on. */
  cpu(): number;
  /** Next map id (the kernel's idr), shown in dumps of map-in-map values. */
  nextMapId(): number;
}

/** One element of a dump: a key with its value, or with one value per CPU. */
export interface MapEntry {
  key: Uint8Array;
  value?: Uint8Array;
  values?: Uint8Array[];
}

/** Result of a user-space style operation: 0, a negative errno, or bytes. */
export type SysResult = Uint8Array | number;

/**
 * A map with kernel semantics. Two faces: the program side (`lookup` gives a guest address,
 * `update`/`delete` return 0 or -errno like the helpers) and the user-space side (`sys*`: the
 * `bpf()` commands with their permission and flag checks, returning bytes or -errno).
 */
export abstract class BpfMap {
  readonly name: string;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  readonly id: number;
  /** The `struct bpf_map` stand-in: its guest address is what `lddw map` puts in a register. */
  readonly object: Region;
  frozen = false;

  constructor(
    readonly spec: MapSpec,
    readonly host: MapHost,
  ) {
    this.name = spec.name;
    this.type = spec.type;
    this.keySize = spec.keySize;
    this.valueSize = spec.valueSize;
    this.maxEntries = spec.maxEntries;
    this.flags = spec.flags ?? 0;
    this.id = host.nextMapId();
    // Programs may not touch the map object itself; only its address matters.
    this.object = host.memory.map(64, {
      name: `map:${spec.name}`,
      kind: "kernel",
      readable: false,
      writable: false,
    });
  }

  /** Guest address of the map (the value `lddw rX, map` produces). */
  get address(): bigint {
    return this.object.base;
  }

  get typeName(): string {
    return MAP_TYPE_NAMES[this.type] ?? `type ${this.type}`;
  }

  /** True for maps whose user-space value holds one copy per CPU. */
  get perCpu(): boolean {
    return false;
  }

  /** Bytes of a value as user space reads or writes it. */
  get sysValueSize(): number {
    return this.valueSize;
  }

  // ---- program side ----

  /** `bpf_map_lookup_elem` from a program: the value's guest address, or 0n. */
  abstract lookup(key: Uint8Array): bigint;
  /** `bpf_map_update_elem` from a program (or, with `sys`, from user space after the syscall checks). */
  abstract update(key: Uint8Array, value: Uint8Array, flags: number, sys?: boolean): number;
  /** `bpf_map_delete_elem`: 0 or -errno. */
  abstract delete(key: Uint8Array, sys?: boolean): number;
  /** Every element, in iteration order. */
  abstract entries(): MapEntry[];
  /** The key after `key` (the first key when `key` is missing or undefined), or -ENOENT at the end. */
  abstract nextKey(key: Uint8Array | undefined): SysResult;

  push(_value: Uint8Array, _flags: number): number {
    return -Errno.EOPNOTSUPP;
  }
  pop(_out: Uint8Array): number {
    return -Errno.EOPNOTSUPP;
  }
  peek(_out: Uint8Array): number {
    return -Errno.EOPNOTSUPP;
  }

  /** The value as user space sees it (all CPUs for per-CPU maps), or -errno. */
  protected abstract readValue(key: Uint8Array): SysResult;

  // ---- user-space side: the bpf() commands ----

  protected get canWrite(): boolean {
    return !this.frozen && (this.flags & MapFlag.RDONLY) === 0;
  }

  protected get canRead(): boolean {
    return (this.flags & MapFlag.WRONLY) === 0;
  }

  /** BPF_MAP_LOOKUP_ELEM. */
  sysLookup(key: Uint8Array | undefined, flags = 0): SysResult {
    if ((flags & ~UpdateFlag.LOCK) !== 0) return -Errno.EINVAL;
    if (!this.canRead) return -Errno.EPERM;
    if (flags & UpdateFlag.LOCK && this.spec.spinLockOffset === undefined) return -Errno.EINVAL;
    const k = this.copyKey(key);
    if (typeof k === "number") return k;
    return this.readValue(k);
  }

  /** BPF_MAP_UPDATE_ELEM. */
  sysUpdate(key: Uint8Array | undefined, value: Uint8Array, flags = 0): number {
    if (!this.canWrite) return -Errno.EPERM;
    if (flags & UpdateFlag.LOCK && this.spec.spinLockOffset === undefined) return -Errno.EINVAL;
    const k = this.copyKey(key);
    if (typeof k === "number") return k;
    if (value.length < this.sysValueSize) return -Errno.EFAULT;
    return this.update(k, value.subarray(0, this.sysValueSize), flags, true);
  }

  /** BPF_MAP_DELETE_ELEM. */
  sysDelete(key: Uint8Array | undefined): number {
    if (!this.canWrite) return -Errno.EPERM;
    const k = this.copyKey(key);
    if (typeof k === "number") return k;
    return this.delete(k, true);
  }

  /** BPF_MAP_GET_NEXT_KEY. */
  sysNextKey(key: Uint8Array | undefined): SysResult {
    if (!this.canRead) return -Errno.EPERM;
    if (key !== undefined && key.length < this.keySize) return -Errno.EFAULT;
    return this.nextKey(key?.subarray(0, this.keySize));
  }

  /** BPF_MAP_LOOKUP_AND_DELETE_ELEM (queue/stack pop; hash maps lookup then delete). */
  sysLookupAndDelete(key: Uint8Array | undefined, flags = 0): SysResult {
    if (!this.canWrite || !this.canRead) return -Errno.EPERM;
    const k = this.copyKey(key);
    if (typeof k === "number") return k;
    return this.lookupAndDelete(k, flags);
  }

  protected lookupAndDelete(_key: Uint8Array, _flags: number): SysResult {
    return -Errno.ENOTSUPP;
  }

  /** BPF_MAP_FREEZE: no more writes from user space; a second freeze is refused as a write (-EPERM). */
  freeze(): number {
    if (!this.canWrite) return -Errno.EPERM;
    this.frozen = true;
    return 0;
  }

  /**
   * Writing a value never touches its `struct bpf_spin_lock` (the kernel's copy_map_value skips
   * special fields), so the lock word stays 0, unlocked, which is also what lookups show.
   */
  protected keepLock(bytes: Uint8Array, at: number): void {
    const lock = this.spec.spinLockOffset;
    if (lock !== undefined) bytes.fill(0, at + lock, at + lock + 4);
  }

  /** Keys are copied like `__bpf_copy_key`: a map without keys refuses a key pointer. */
  protected copyKey(key: Uint8Array | undefined): Uint8Array | number {
    if (this.keySize === 0) return key === undefined ? new Uint8Array(0) : -Errno.EINVAL;
    if (key === undefined || key.length < this.keySize) return -Errno.EFAULT;
    return key.subarray(0, this.keySize);
  }
}

/** Latin-1 string of a key: a cheap Map key. */
export function keyString(key: Uint8Array): string {
  if (key.length <= 256) return String.fromCharCode.apply(null, key as unknown as number[]);
  let s = "";
  for (let i = 0; i < key.length; i++) s += String.fromCharCode(key[i] as number);
  return s;
}

/** Bytes of a key string made by `keyString`. */
export function keyBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
