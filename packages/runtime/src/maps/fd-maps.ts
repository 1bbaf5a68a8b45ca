import { Errno } from "../errno.js";
import { u32 } from "./array.js";
import { MapType, UpdateFlag } from "./constants.js";
import {
  BpfMap,
  keyBytes,
  keyString,
  type MapEntry,
  type MapHost,
  type MapSpec,
  type SysResult,
} from "./map.js";

/** What a map-of-fds slot holds: a program (prog_array) or a map (map-in-map), with its kernel id. */
export interface FdTarget {
  readonly id: number;
}

/** Turns a user-space fd into the object it names (or undefined: -EBADF). */
export type FdResolver = (fd: number) => FdTarget | undefined;

/**
 * Maps whose values are references: `PROG_ARRAY` (tail-call targets), `ARRAY_OF_MAPS` and
 * `HASH_OF_MAPS`. User space writes fds and reads back ids; programs see the inner map's address
 * (map-in-map) or reach the program through `bpf_tail_call`.
 */
export class FdMap<T extends FdTarget = FdTarget> extends BpfMap {
  readonly #slots = new Map<string, T>();
  readonly #hashed: boolean;

  constructor(
    spec: MapSpec,
    host: MapHost,
    readonly resolveFd: FdResolver,
    /** Refuses a target that does not fit (wrong program type, inner map shape): -EINVAL. */
    readonly accepts: (target: FdTarget) => target is T,
  ) {
    super(spec, host);
    this.#hashed = spec.type === MapType.HASH_OF_MAPS;
  }

  #index(key: Uint8Array): number {
    return (key[0]! | (key[1]! << 8) | (key[2]! << 16) | (key[3]! << 24)) >>> 0;
  }

  /** The object in slot `key`, for tail calls and inner-map lookups. */
  get(key: Uint8Array): T | undefined {
    return this.#slots.get(keyString(key));
  }

  /** The object at array index `i`. */
  at(i: number): T | undefined {
    return this.#slots.get(keyString(u32(i)));
  }

  /** Stores `target` directly (for embedders that hold objects, not fds). */
  set(key: Uint8Array, target: T, flags = 0): number {
    if (this.#hashed) {
      if (flags > UpdateFlag.EXIST) return -Errno.EINVAL;
      const k = keyString(key);
      const old = this.#slots.has(k);
      if (old && flags === UpdateFlag.NOEXIST) return -Errno.EEXIST;
      if (!old && flags === UpdateFlag.EXIST) return -Errno.ENOENT;
      if (!old && this.#slots.size >= this.maxEntries) return -Errno.E2BIG;
      this.#slots.set(k, target);
      return 0;
    }
    if (flags !== UpdateFlag.ANY) return -Errno.EINVAL;
    if (this.#index(key) >= this.maxEntries) return -Errno.E2BIG;
    this.#slots.set(keyString(key), target);
    return 0;
  }

  lookup(key: Uint8Array): bigint {
    const target = this.get(key) as unknown as { address?: bigint } | undefined;
    return target?.address ?? 0n;
  }

  update(key: Uint8Array, value: Uint8Array, flags: number): number {
    if (!this.#hashed && flags !== UpdateFlag.ANY) return -Errno.EINVAL;
    if (!this.#hashed && this.#index(key) >= this.maxEntries) return -Errno.E2BIG;
    const fd = new DataView(value.buffer, value.byteOffset, 4).getUint32(0, true);
    const target = this.resolveFd(fd);
    if (target === undefined) return -Errno.EBADF;
    if (!this.accepts(target)) return -Errno.EINVAL;
    return this.set(key, target, flags);
  }

  delete(key: Uint8Array): number {
    if (!this.#hashed && this.#index(key) >= this.maxEntries) return -Errno.E2BIG;
    return this.#slots.delete(keyString(key)) ? 0 : -Errno.ENOENT;
  }

  protected readValue(key: Uint8Array): SysResult {
    const target = this.get(key);
    return target === undefined ? -Errno.ENOENT : u32(target.id);
  }

  nextKey(key: Uint8Array | undefined): SysResult {
    if (!this.#hashed) {
      const i = key === undefined ? this.maxEntries : this.#index(key);
      const next = i >= this.maxEntries ? 0 : i + 1;
      return next >= this.maxEntries ? -Errno.ENOENT : u32(next);
    }
    const keys = [...this.#slots.keys()];
    const at = key === undefined ? -1 : keys.indexOf(keyString(key));
    const next = keys[at + 1];
    return next === undefined ? -Errno.ENOENT : keyBytes(next);
  }

  entries(): MapEntry[] {
    const out: MapEntry[] = [];
    const keys = [...this.#slots.keys()];
    // Arrays list their occupied slots in index order.
    if (!this.#hashed) keys.sort((a, b) => this.#index(keyBytes(a)) - this.#index(keyBytes(b)));
    for (const k of keys) {
      const t = this.#slots.get(k) as T;
      out.push({ key: keyBytes(k), value: u32(t.id) });
    }
    return out;
  }
}
