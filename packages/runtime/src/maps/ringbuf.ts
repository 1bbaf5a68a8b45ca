import type { Region } from "@bpfkit/vm";
import { Errno } from "../errno.js";
import { BpfMap, type MapEntry, type MapHost, type MapSpec, type SysResult } from "./map.js";

/** Bytes of a ring buffer record header (`BPF_RINGBUF_HDR_SZ`): length word and page offset. */
export const RINGBUF_HDR_SZ = 8;
/** Set in the length word while the record is reserved and not yet committed. */
export const RINGBUF_BUSY_BIT = 0x80000000;
/** Set in the length word of a discarded record. */
export const RINGBUF_DISCARD_BIT = 0x40000000;
/** `bpf_ringbuf_query` selectors (UAPI `BPF_RB_*`). */
export const RingbufQuery = { AVAIL_DATA: 0, RING_SIZE: 1, CONS_POS: 2, PROD_POS: 3 } as const;
/** Wake-up flags accepted by submit/discard/output. */
export const RINGBUF_WAKEUP_FLAGS = 3;

/**
 * `BPF_MAP_TYPE_RINGBUF`: records of an 8-byte header plus data rounded to 8 bytes, at positions
 * that grow forever and wrap by `mask`. The kernel maps the data pages twice so a record that
 * crosses the end stays contiguous; a region of twice the size gives programs the same contiguous
 * view. User space consumes committed records with `consume`.
 */
export class RingbufMap extends BpfMap {
  readonly data: Region;
  readonly mask: number;
  consumerPos = 0;
  producerPos = 0;

  constructor(spec: MapSpec, host: MapHost) {
    super(spec, host);
    this.mask = spec.maxEntries - 1;
    this.data = host.memory.map(spec.maxEntries * 2, { name: `ringbuf:${spec.name}`, kind: "map-value" });
  }

  /** `bpf_ringbuf_reserve`: the sample's guest address, or 0n when it does not fit. */
  reserve(size: number, flags: number): bigint {
    if (flags !== 0) return 0n;
    if (size > this.maxEntries - RINGBUF_HDR_SZ) return 0n;
    const len = (size + RINGBUF_HDR_SZ + 7) & ~7;
    // The oldest record not yet consumed holds the space back, committed or not.
    if (this.producerPos + len - this.consumerPos > this.maxEntries) return 0n;
    const at = this.producerPos & this.mask;
    const view = this.data.view;
    view.setUint32(at, (size | RINGBUF_BUSY_BIT) >>> 0, true);
    view.setUint32(at + 4, 0, true);
    this.data.bytes.fill(0, at + RINGBUF_HDR_SZ, at + len);
    this.producerPos += len;
    return this.data.address(at + RINGBUF_HDR_SZ);
  }

  /** Commits (or discards) the sample at `sample`; false when it is not a reserved record. */
  commit(sample: bigint, discard: boolean): boolean {
    const off = Number(sample - this.data.base) - RINGBUF_HDR_SZ;
    if (off < 0 || off >= this.maxEntries) return false;
    const len = this.data.view.getUint32(off, true);
    if ((len & RINGBUF_BUSY_BIT) === 0) return false;
    const size = len & ~(RINGBUF_BUSY_BIT | RINGBUF_DISCARD_BIT);
    this.data.view.setUint32(off, (size | (discard ? RINGBUF_DISCARD_BIT : 0)) >>> 0, true);
    return true;
  }

  /** `bpf_ringbuf_output`: copies `bytes` in one record; 0 or -errno. */
  output(bytes: Uint8Array, flags: number): number {
    if (flags & ~RINGBUF_WAKEUP_FLAGS) return -Errno.EINVAL;
    const sample = this.reserve(bytes.length, 0);
    if (sample === 0n) return -Errno.EAGAIN;
    this.data.bytes.set(bytes, Number(sample - this.data.base));
    this.commit(sample, false);
    return 0;
  }

  /** `bpf_ringbuf_query`. */
  query(flags: number): bigint {
    switch (flags) {
      case RingbufQuery.AVAIL_DATA:
        return BigInt(this.producerPos - this.consumerPos);
      case RingbufQuery.RING_SIZE:
        return BigInt(this.maxEntries);
      case RingbufQuery.CONS_POS:
        return BigInt(this.consumerPos);
      case RingbufQuery.PROD_POS:
        return BigInt(this.producerPos);
      default:
        return 0n;
    }
  }

  /** Committed samples from the consumer position up to the first record still reserved; advances it. */
  consume(): Uint8Array[] {
    const out: Uint8Array[] = [];
    while (this.consumerPos < this.producerPos) {
      const at = this.consumerPos & this.mask;
      const word = this.data.view.getUint32(at, true);
      if (word & RINGBUF_BUSY_BIT) break;
      const size = word & ~RINGBUF_DISCARD_BIT;
      if ((word & RINGBUF_DISCARD_BIT) === 0)
        out.push(this.data.bytes.slice(at + RINGBUF_HDR_SZ, at + RINGBUF_HDR_SZ + size));
      this.consumerPos += (size + RINGBUF_HDR_SZ + 7) & ~7;
    }
    return out;
  }

  lookup(): bigint {
    return 0n;
  }
  update(): number {
    return -Errno.ENOTSUPP;
  }
  delete(): number {
    return -Errno.ENOTSUPP;
  }
  protected readValue(): SysResult {
    return -Errno.ENOTSUPP;
  }
  nextKey(): SysResult {
    return -Errno.ENOTSUPP;
  }
  entries(): MapEntry[] {
    return [];
  }
}
