import { Errno } from "../errno.js";
import { MapType, UpdateFlag } from "./constants.js";
import { BpfMap, type MapEntry, type MapHost, type MapSpec, type SysResult } from "./map.js";

/**
 * `QUEUE` (FIFO) and `STACK` (LIFO): no keys; push with `BPF_EXIST` overwrites the oldest element
 * when full, otherwise a full map refuses with -E2BIG; pop and peek on an empty map give -ENOENT.
 */
export class QueueMap extends BpfMap {
  readonly #items: Uint8Array[] = [];
  readonly #lifo: boolean;

  constructor(spec: MapSpec, host: MapHost) {
    super(spec, host);
    this.#lifo = spec.type === MapType.STACK;
  }

  get length(): number {
    return this.#items.length;
  }

  override push(value: Uint8Array, flags: number): number {
    if (flags & ~UpdateFlag.EXIST) return -Errno.EINVAL;
    if (this.#items.length >= this.maxEntries) {
      if (!(flags & UpdateFlag.EXIST)) return -Errno.E2BIG;
      // Overwrite the oldest element: the queue's head, the bottom of the stack.
      this.#items.shift();
    }
    this.#items.push(value.slice(0, this.valueSize));
    return 0;
  }

  #take(out: Uint8Array, remove: boolean): number {
    if (this.#items.length === 0) return -Errno.ENOENT;
    const item = (this.#lifo ? this.#items[this.#items.length - 1] : this.#items[0]) as Uint8Array;
    out.set(item);
    if (remove) {
      if (this.#lifo) this.#items.pop();
      else this.#items.shift();
    }
    return 0;
  }

  override pop(out: Uint8Array): number {
    return this.#take(out, true);
  }

  override peek(out: Uint8Array): number {
    return this.#take(out, false);
  }

  lookup(): bigint {
    return 0n;
  }

  update(_key: Uint8Array, value: Uint8Array, flags: number): number {
    return this.push(value, flags);
  }

  delete(): number {
    return -Errno.EINVAL;
  }

  protected readValue(): SysResult {
    const out = new Uint8Array(this.valueSize);
    const r = this.peek(out);
    return r < 0 ? r : out;
  }

  protected override lookupAndDelete(_key: Uint8Array, flags: number): SysResult {
    if (flags !== 0) return -Errno.EINVAL;
    const out = new Uint8Array(this.valueSize);
    const r = this.pop(out);
    return r < 0 ? r : out;
  }

  nextKey(): SysResult {
    return -Errno.EINVAL;
  }

  entries(): MapEntry[] {
    const items = this.#lifo ? [...this.#items].reverse() : this.#items;
    return items.map((v) => ({ key: new Uint8Array(0), value: v.slice() }));
  }
}
