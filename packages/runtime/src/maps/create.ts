import { Errno } from "../errno.js";
import { RuntimeError } from "../error.js";
import { ArrayMap } from "./array.js";
import { MAP_TYPE_NAMES, MapFlag, MapType } from "./constants.js";
import { FdMap, type FdResolver, type FdTarget } from "./fd-maps.js";
import { HashMap } from "./hash.js";
import type { BpfMap, MapHost, MapSpec } from "./map.js";
import { QueueMap } from "./queue.js";
import { RingbufMap } from "./ringbuf.js";
import { type StorageOwner, TaskStorageMap } from "./task-storage.js";

/** What map creation needs beyond memory: fds for map-of-fds updates, tasks for task storage. */
export interface MapFactoryHost extends MapHost {
  resolveFd: FdResolver;
  taskByPid(pid: number): StorageOwner | undefined;
  /** True when `target` may go into a prog_array (a program of a compatible type). */
  isProgram(target: FdTarget): boolean;
}

const PAGE_SIZE = 4096;

/** The -errno `BPF_MAP_CREATE` returns for `spec`, or 0 when the kernel would create it. */
export function checkMapSpec(spec: MapSpec): number {
  const { keySize: k, valueSize: v, maxEntries: n } = spec;
  const flags = spec.flags ?? 0;
  const err = checkSizes(spec, k, v, n, flags);
  if (err !== 0) return err;
  // A bpf_spin_lock in the value is only supported by these map types (map_check_btf).
  if (spec.spinLockOffset !== undefined && !LOCK_TYPES.has(spec.type)) return -Errno.EOPNOTSUPP;
  return 0;
}

const LOCK_TYPES = new Set<number>([MapType.HASH, MapType.ARRAY, MapType.TASK_STORAGE]);

function checkSizes(spec: MapSpec, k: number, v: number, n: number, flags: number): number {
  switch (spec.type) {
    case MapType.ARRAY:
    case MapType.PERCPU_ARRAY:
      return k !== 4 || v === 0 || n === 0 ? -Errno.EINVAL : 0;
    case MapType.HASH:
    case MapType.PERCPU_HASH:
    case MapType.LRU_HASH:
    case MapType.LRU_PERCPU_HASH:
      if (k === 0 || v === 0 || n === 0) return -Errno.EINVAL;
      if (flags & MapFlag.NO_PREALLOC && spec.type >= MapType.LRU_HASH) return -Errno.ENOTSUPP;
      return 0;
    case MapType.PROG_ARRAY:
    case MapType.ARRAY_OF_MAPS:
      return k !== 4 || v !== 4 || n === 0 ? -Errno.EINVAL : 0;
    case MapType.HASH_OF_MAPS:
      return k === 0 || v !== 4 || n === 0 ? -Errno.EINVAL : 0;
    case MapType.QUEUE:
    case MapType.STACK:
      return k !== 0 || v === 0 || n === 0 ? -Errno.EINVAL : 0;
    case MapType.RINGBUF:
      if (k !== 0 || v !== 0) return -Errno.EINVAL;
      return n === 0 || (n & (n - 1)) !== 0 || n % PAGE_SIZE !== 0 ? -Errno.EINVAL : 0;
    case MapType.TASK_STORAGE:
      if (k !== 4 || v === 0 || n !== 0 || !(flags & MapFlag.NO_PREALLOC)) return -Errno.EINVAL;
      return 0;
    default:
      return -Errno.EINVAL;
  }
}

/** Creates a map with the kernel's checks; throws `RuntimeError` (with `errno`) when it would refuse. */
export function createMap(spec: MapSpec, host: MapFactoryHost): BpfMap {
  const err = checkMapSpec(spec);
  if (err !== 0) {
    const type = MAP_TYPE_NAMES[spec.type] ?? `type ${spec.type}`;
    throw new RuntimeError(
      `map "${spec.name}" (${type}, key ${spec.keySize}, value ${spec.valueSize}, max_entries ${spec.maxEntries}) is refused by the kernel's checks (errno ${-err})`,
      { kind: "map", name: spec.name, errno: -err },
    );
  }
  switch (spec.type) {
    case MapType.ARRAY:
      return new ArrayMap(spec, host, false);
    case MapType.PERCPU_ARRAY:
      return new ArrayMap(spec, host, true);
    case MapType.HASH:
      return new HashMap(spec, host, false, false);
    case MapType.PERCPU_HASH:
      return new HashMap(spec, host, true, false);
    case MapType.LRU_HASH:
      return new HashMap(spec, host, false, true);
    case MapType.LRU_PERCPU_HASH:
      return new HashMap(spec, host, true, true);
    case MapType.PROG_ARRAY: {
      // The first program stored fixes the type every later one must have (bpf_prog_map_compatible).
      let owner: string | undefined;
      return new FdMap(spec, host, host.resolveFd, (t): t is FdTarget => {
        if (!host.isProgram(t)) return false;
        const type = (t as { type?: string }).type;
        owner ??= type;
        return owner === type;
      });
    }
    case MapType.ARRAY_OF_MAPS:
    case MapType.HASH_OF_MAPS: {
      const inner = spec.inner;
      if (!inner)
        throw new RuntimeError(`map-in-map "${spec.name}" needs an inner map template`, {
          kind: "map",
          name: spec.name,
          errno: Errno.EINVAL,
        });
      return new FdMap(spec, host, host.resolveFd, (t): t is FdTarget => fitsInner(t, inner));
    }
    case MapType.QUEUE:
    case MapType.STACK:
      return new QueueMap(spec, host);
    case MapType.RINGBUF:
      return new RingbufMap(spec, host);
    default:
      return new TaskStorageMap(spec, host, (pid) => host.taskByPid(pid));
  }
}

/** `bpf_map_meta_equal`: same type, key and value size, flags, and max_entries (unless BPF_F_INNER_MAP). */
function fitsInner(target: FdTarget, inner: MapSpec): boolean {
  const m = target as Partial<BpfMap>;
  if (m.type === undefined) return false;
  const innerMapFlag = 1 << 12;
  return (
    m.type === inner.type &&
    m.keySize === inner.keySize &&
    m.valueSize === inner.valueSize &&
    ((inner.flags ?? 0) & innerMapFlag ? true : m.maxEntries === inner.maxEntries)
  );
}
