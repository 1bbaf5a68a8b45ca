import type { Region } from "@bpfkit/vm";
import { Errno } from "../errno.js";
import { MapFlag, round8, UpdateFlag } from "./constants.js";
import {
  BpfMap,
  keyBytes,
  keyString,
  type MapEntry,
  type MapHost,
  type MapSpec,
  type SysResult,
} from "./map.js";

/**
 * `HASH`, `PERCPU_HASH`, `LRU_HASH`, `LRU_PERCPU_HASH`. Elements live in slots of one slab region
 * (`max_entries` plus one spare, like the kernel's per-CPU extra element), so value pointers stay
 * valid guest memory after a delete, as with the kernel's preallocated elements. Replacing a
 * non-per-CPU value takes a fresh slot and frees the old one, as `htab_map_update_elem` does, so a
 * pointer obtained before the update still shows the old value until the slot is reused.
 * LRU maps evict the least recently used element when full; the kernel's LRU is approximate (per-CPU
 * free lists), so which element goes can differ when the map overflows.
 */
export class HashMap extends BpfMap {
  readonly slab: Region;
  readonly stride: number;
  readonly #slotBytes: number;
  readonly #percpu: boolean;
  readonly #lru: boolean;
  /** Key -> slot, in insertion order (LRU: least recently used first). */
  readonly #index = new Map<string, number>();
  readonly #free: number[] = [];

  constructor(spec: MapSpec, host: MapHost, percpu: boolean, lru: boolean) {
    super(spec, host);
    this.#percpu = percpu;
    this.#lru = lru;
    this.stride = round8(spec.valueSize);
    this.#slotBytes = this.stride * (percpu ? host.nrCpus : 1);
    const slots = spec.maxEntries + 1;
    this.slab = host.memory.map(this.#slotBytes * slots, { name: `map:${spec.name}`, kind: "map-value" });
    for (let i = 0; i < slots; i++) this.#free.push(i);
  }

  override get perCpu(): boolean {
    return this.#percpu;
  }

  override get sysValueSize(): number {
    return this.#percpu ? this.stride * this.host.nrCpus : this.valueSize;
  }

  get size(): number {
    return this.#index.size;
  }

  #offset(slot: number, cpu: number): number {
    return slot * this.#slotBytes + cpu * this.stride;
  }

  #touch(k: string, slot: number): void {
    if (!this.#lru) return;
    this.#index.delete(k);
    this.#index.set(k, slot);
  }

  lookup(key: Uint8Array): bigint {
    const k = keyString(key);
    const slot = this.#index.get(k);
    if (slot === undefined) return 0n;
    this.#touch(k, slot);
    return this.slab.address(this.#offset(slot, this.#percpu ? this.host.cpu() : 0));
  }

  /** A slot for a new element: from the free list, or (LRU) by evicting the oldest element. */
  #allocate(): number | undefined {
    // Keep one slot spare for replacements, like the kernel's extra elements.
    if (this.#index.size < this.maxEntries) return this.#free.shift();
    if (!this.#lru) return undefined;
    const oldest = this.#index.keys().next();
    if (oldest.done) return undefined;
    const slot = this.#index.get(oldest.value) as number;
    this.#index.delete(oldest.value);
    this.#free.push(slot);
    return this.#free.shift();
  }

  #write(slot: number, value: Uint8Array, sys: boolean, fresh: boolean): void {
    const bytes = this.slab.bytes;
    if (!this.#percpu) {
      bytes.set(value.subarray(0, this.valueSize), this.#offset(slot, 0));
      this.keepLock(bytes, this.#offset(slot, 0));
      return;
    }
    for (let cpu = 0; cpu < this.host.nrCpus; cpu++) {
      const at = this.#offset(slot, cpu);
      if (sys) bytes.set(value.subarray(cpu * this.stride, cpu * this.stride + this.valueSize), at);
      else if (cpu === this.host.cpu()) bytes.set(value.subarray(0, this.valueSize), at);
      // A new element from a program: other CPUs' copies start zeroed.
      else if (fresh) bytes.fill(0, at, at + this.stride);
    }
  }

  update(key: Uint8Array, value: Uint8Array, flags: number, sys = false): number {
    const op = flags & ~UpdateFlag.LOCK;
    // Only the plain hash accepts BPF_F_LOCK; the per-CPU and LRU variants refuse any other bit.
    if ((this.#lru || this.#percpu ? flags : op) > UpdateFlag.EXIST) return -Errno.EINVAL;
    if (flags & UpdateFlag.LOCK && this.spec.spinLockOffset === undefined) return -Errno.EINVAL;
    const k = keyString(key);
    // LRU maps take a node (possibly evicting) before they look at the flags, as the kernel does.
    let spare: number | undefined;
    if (this.#lru && !this.#percpu) {
      spare = this.#allocate();
      if (spare === undefined) return -Errno.ENOMEM;
    }
    const old = this.#index.get(k);
    const release = (): void => {
      if (spare !== undefined) this.#free.push(spare);
    };
    if (old !== undefined && op === UpdateFlag.NOEXIST) {
      release();
      return -Errno.EEXIST;
    }
    if (old === undefined && op === UpdateFlag.EXIST) {
      release();
      return -Errno.ENOENT;
    }
    if (old !== undefined && (this.#percpu || flags & UpdateFlag.LOCK)) {
      // Per-CPU values and BPF_F_LOCK updates are copied in place.
      release();
      this.#write(old, value, sys, false);
      this.#touch(k, old);
      return 0;
    }
    let slot = spare;
    if (slot === undefined) {
      if (old === undefined && this.#index.size >= this.maxEntries) {
        const evicted = this.#lru ? this.#allocate() : undefined;
        if (evicted === undefined) return -Errno.E2BIG;
        slot = evicted;
      } else {
        slot = this.#free.shift();
        if (slot === undefined) return -Errno.E2BIG;
      }
    }
    this.#write(slot, value, sys, true);
    if (old !== undefined) {
      this.#index.delete(k);
      this.#free.push(old);
    }
    this.#index.set(k, slot);
    return 0;
  }

  delete(key: Uint8Array): number {
    const k = keyString(key);
    const slot = this.#index.get(k);
    if (slot === undefined) return -Errno.ENOENT;
    this.#index.delete(k);
    this.#free.push(slot);
    return 0;
  }

  protected readValue(key: Uint8Array): SysResult {
    const slot = this.#index.get(keyString(key));
    if (slot === undefined) return -Errno.ENOENT;
    return this.#valueOf(slot);
  }

  #valueOf(slot: number): Uint8Array {
    const at = this.#offset(slot, 0);
    if (!this.#percpu) return this.slab.bytes.slice(at, at + this.valueSize);
    const out = new Uint8Array(this.sysValueSize);
    for (let cpu = 0; cpu < this.host.nrCpus; cpu++) {
      const o = this.#offset(slot, cpu);
      out.set(this.slab.bytes.subarray(o, o + this.valueSize), cpu * this.stride);
    }
    return out;
  }

  protected override lookupAndDelete(key: Uint8Array, flags: number): SysResult {
    if ((flags & ~UpdateFlag.LOCK) !== 0) return -Errno.EINVAL;
    const value = this.readValue(key);
    if (typeof value === "number") return value;
    this.delete(key);
    return value;
  }

  nextKey(key: Uint8Array | undefined): SysResult {
    const keys = [...this.#index.keys()];
    if (keys.length === 0) return -Errno.ENOENT;
    const at = key === undefined ? -1 : keys.indexOf(keyString(key));
    const next = keys[at + 1];
    return next === undefined ? -Errno.ENOENT : keyBytes(next);
  }

  entries(): MapEntry[] {
    const out: MapEntry[] = [];
    for (const [k, slot] of this.#index) {
      const key = keyBytes(k);
      if (!this.#percpu) {
        out.push({ key, value: this.#valueOf(slot) });
        continue;
      }
      const values: Uint8Array[] = [];
      for (let cpu = 0; cpu < this.host.nrCpus; cpu++) {
        const o = this.#offset(slot, cpu);
        values.push(this.slab.bytes.slice(o, o + this.valueSize));
      }
      out.push({ key, values });
    }
    return out;
  }

  /** True when created with `BPF_F_NO_PREALLOC`. */
  get noPrealloc(): boolean {
    return (this.flags & MapFlag.NO_PREALLOC) !== 0;
  }
}
