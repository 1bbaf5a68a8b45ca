import type { Region } from "@bpfkit/vm";
import { Errno } from "../errno.js";
import { MapFlag, round8, UpdateFlag } from "./constants.js";
import { BpfMap, type MapEntry, type MapHost, type MapSpec, type SysResult } from "./map.js";

/**
 * `BPF_MAP_TYPE_ARRAY` and `PERCPU_ARRAY`: `max_entries` preallocated values of 8-byte stride in
 * one region, so a pointer from lookup stays valid for the life of the map. Per-CPU arrays keep the
 * copies CPU-major and a program sees its CPU's copy. Global data sections are one-element arrays.
 */
export class ArrayMap extends BpfMap {
  readonly values: Region;
  readonly stride: number;
  readonly #percpu: boolean;

  constructor(spec: MapSpec, host: MapHost, percpu: boolean) {
    super(spec, host);
    this.#percpu = percpu;
    this.stride = round8(spec.valueSize);
    const copies = percpu ? host.nrCpus : 1;
    this.values = host.memory.map(this.stride * spec.maxEntries * copies, {
      name: `map:${spec.name}`,
      kind: "map-value",
      writable: ((spec.flags ?? 0) & MapFlag.RDONLY_PROG) === 0,
    });
  }

  override get perCpu(): boolean {
    return this.#percpu;
  }

  override get sysValueSize(): number {
    return this.#percpu ? this.stride * this.host.nrCpus : this.valueSize;
  }

  #index(key: Uint8Array): number {
    return (key[0]! | (key[1]! << 8) | (key[2]! << 16) | (key[3]! << 24)) >>> 0;
  }

  /** Byte offset of element `i` of CPU `cpu` in `values`. */
  offsetOf(i: number, cpu = this.#percpu ? this.host.cpu() : 0): number {
    return (cpu * this.maxEntries + i) * this.stride;
  }

  /** The bytes of element `i` (this CPU's copy for per-CPU arrays); a live view. */
  element(i: number, cpu?: number): Uint8Array {
    const off = this.offsetOf(i, cpu);
    return this.values.bytes.subarray(off, off + this.valueSize);
  }

  lookup(key: Uint8Array): bigint {
    const i = this.#index(key);
    if (i >= this.maxEntries) return 0n;
    return this.values.address(this.offsetOf(i));
  }

  update(key: Uint8Array, value: Uint8Array, flags: number, sys = false): number {
    if ((flags & ~UpdateFlag.LOCK) > UpdateFlag.EXIST) return -Errno.EINVAL;
    const i = this.#index(key);
    if (i >= this.maxEntries) return -Errno.E2BIG;
    if (flags & UpdateFlag.NOEXIST) return -Errno.EEXIST;
    if (flags & UpdateFlag.LOCK && this.spec.spinLockOffset === undefined) return -Errno.EINVAL;
    const bytes = this.values.bytes;
    if (this.#percpu && sys) {
      for (let cpu = 0; cpu < this.host.nrCpus; cpu++)
        bytes.set(
          value.subarray(cpu * this.stride, cpu * this.stride + this.valueSize),
          this.offsetOf(i, cpu),
        );
    } else {
      bytes.set(value.subarray(0, this.valueSize), this.offsetOf(i));
      this.keepLock(bytes, this.offsetOf(i));
    }
    return 0;
  }

  delete(_key: Uint8Array): number {
    return -Errno.EINVAL;
  }

  protected readValue(key: Uint8Array): SysResult {
    const i = this.#index(key);
    if (i >= this.maxEntries) return -Errno.ENOENT;
    if (!this.#percpu) return this.element(i).slice();
    const out = new Uint8Array(this.sysValueSize);
    for (let cpu = 0; cpu < this.host.nrCpus; cpu++) out.set(this.element(i, cpu), cpu * this.stride);
    return out;
  }

  nextKey(key: Uint8Array | undefined): SysResult {
    const i = key === undefined ? this.maxEntries : this.#index(key);
    const next = i >= this.maxEntries ? 0 : i + 1;
    if (next >= this.maxEntries) return -Errno.ENOENT;
    return u32(next);
  }

  entries(): MapEntry[] {
    const out: MapEntry[] = [];
    for (let i = 0; i < this.maxEntries; i++) {
      if (this.#percpu) {
        const values: Uint8Array[] = [];
        for (let cpu = 0; cpu < this.host.nrCpus; cpu++) values.push(this.element(i, cpu).slice());
        out.push({ key: u32(i), values });
      } else out.push({ key: u32(i), value: this.element(i).slice() });
    }
    return out;
  }
}

export function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
}
