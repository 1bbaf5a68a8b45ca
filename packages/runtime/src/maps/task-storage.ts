import type { Region } from "@bpfkit/vm";
import { Errno } from "../errno.js";
import { u32 } from "./array.js";
import { UpdateFlag } from "./constants.js";
import { BpfMap, type MapEntry, type MapHost, type MapSpec, type SysResult } from "./map.js";

/** What task storage needs to know about a task: its guest address and pid. */
export interface StorageOwner {
  readonly address: bigint;
  readonly pid: number;
}

/**
 * `BPF_MAP_TYPE_TASK_STORAGE`: one value per task, created on demand by `bpf_task_storage_get`
 * with `BPF_LOCAL_STORAGE_GET_F_CREATE`. Each value is its own region, freed on delete. User space
 * keys it by pid here (the kernel takes a pidfd); iteration is not supported, as in the kernel.
 */
export class TaskStorageMap extends BpfMap {
  readonly #values = new Map<bigint, { owner: StorageOwner; region: Region }>();

  constructor(
    spec: MapSpec,
    host: MapHost,
    /** Finds a task by pid for the user-space side. */
    readonly taskByPid: (pid: number) => StorageOwner | undefined,
  ) {
    super(spec, host);
  }

  /** `bpf_task_storage_get`: the value's address, created when `create` and missing, else 0n. */
  get(owner: StorageOwner, init: Uint8Array | undefined, create: boolean): bigint {
    const found = this.#values.get(owner.address);
    if (found) return found.region.base;
    if (!create) return 0n;
    const region = this.host.memory.map(this.valueSize, {
      name: `task_storage:${this.name}[${owner.pid}]`,
      kind: "map-value",
    });
    if (init) region.bytes.set(init.subarray(0, this.valueSize));
    this.#values.set(owner.address, { owner, region });
    return region.base;
  }

  /** `bpf_task_storage_delete`: 0 or -ENOENT. */
  remove(owner: StorageOwner): number {
    const found = this.#values.get(owner.address);
    if (!found) return -Errno.ENOENT;
    this.host.memory.unmap(found.region);
    this.#values.delete(owner.address);
    return 0;
  }

  #owner(key: Uint8Array): StorageOwner | undefined {
    return this.taskByPid(new DataView(key.buffer, key.byteOffset, 4).getInt32(0, true));
  }

  lookup(key: Uint8Array): bigint {
    const owner = this.#owner(key);
    return owner ? this.get(owner, undefined, false) : 0n;
  }

  update(key: Uint8Array, value: Uint8Array, flags: number): number {
    if ((flags & ~UpdateFlag.LOCK) > UpdateFlag.EXIST) return -Errno.EINVAL;
    const owner = this.#owner(key);
    if (!owner) return -Errno.EBADF;
    const exists = this.#values.has(owner.address);
    if (exists && (flags & ~UpdateFlag.LOCK) === UpdateFlag.NOEXIST) return -Errno.EEXIST;
    if (!exists && (flags & ~UpdateFlag.LOCK) === UpdateFlag.EXIST) return -Errno.ENOENT;
    this.get(owner, undefined, true);
    const region = this.#values.get(owner.address)!.region;
    region.bytes.set(value.subarray(0, this.valueSize));
    this.keepLock(region.bytes, 0);
    return 0;
  }

  delete(key: Uint8Array): number {
    const owner = this.#owner(key);
    return owner ? this.remove(owner) : -Errno.EBADF;
  }

  protected readValue(key: Uint8Array): SysResult {
    const owner = this.#owner(key);
    if (!owner) return -Errno.EBADF;
    const found = this.#values.get(owner.address);
    return found ? found.region.bytes.slice() : -Errno.ENOENT;
  }

  nextKey(): SysResult {
    return -Errno.ENOTSUPP;
  }

  entries(): MapEntry[] {
    return [...this.#values.values()].map(({ owner, region }) => ({
      key: u32(owner.pid),
      value: region.bytes.slice(),
    }));
  }
}
