import { VmError } from "./error.js";

/**
 * High 32 bits of the guest address of region 0. Region `i` spans the 4 GiB window
 * `(REGION_HI_BASE + i) << 32`, so a guest pointer splits into a region index (its high word) and
 * an offset (its low word) without any search; 0 and small integers are never mapped.
 */
export const REGION_HI_BASE = 0xffff0000;
/** How many regions one `Memory` can hold (the windows up to the top of the address space). */
export const MAX_REGIONS = 0xffff;
/**
 * High word of code addresses: `lddw` with `BPF_PSEUDO_FUNC` and `callx` use `CODE_HI << 32 | slot`
 * for "the subprogram starting at slot" of the running program. No region lives there.
 */
export const CODE_HI = 0xfffe0000;

const HI_BASE_I32 = REGION_HI_BASE | 0;

/** What a region holds; only used in fault messages and by embedders. */
export type RegionKind = "stack" | "context" | "packet" | "map-value" | "kernel" | "memory";

export interface RegionOptions {
  /** Shown in faults, e.g. `stack[0]`, `ctx`, `map:counts[3]`. */
  name?: string;
  kind?: RegionKind;
  /** Default true. */
  readable?: boolean;
  /** Default true; false makes a read-only region (rodata, kernel objects the program may only read). */
  writable?: boolean;
}

/** A block of guest memory: the embedder's bytes, seen by the program at `base`. */
export class Region {
  readonly view: DataView;
  /** Guest address of byte 0 (64-bit). */
  readonly base: bigint;
  /** High word of `base`; the low word is 0. */
  readonly baseHi: number;
  readable: boolean;
  writable: boolean;
  mapped = true;

  constructor(
    readonly memory: Memory,
    readonly index: number,
    readonly bytes: Uint8Array,
    readonly name: string,
    readonly kind: RegionKind,
    readable: boolean,
    writable: boolean,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.baseHi = (REGION_HI_BASE + index) >>> 0;
    this.base = BigInt(this.baseHi) << 32n;
    this.readable = readable;
    this.writable = writable;
  }

  get size(): number {
    return this.bytes.length;
  }

  /** Guest address of `offset` bytes into the region. */
  address(offset = 0): bigint {
    return this.base + BigInt(offset);
  }
}

/**
 * The guest address space: a small table of regions. The interpreter reads the parallel arrays
 * (`bytes`, `views`, `readLimit`, `writeLimit`) directly so that a checked access is an index and
 * two compares; a missing permission is a limit of 0, which folds the permission check into the
 * bounds check.
 */
export class Memory {
  /** @internal Region bytes by index. */
  readonly bytes: Uint8Array[] = [];
  /** @internal Region views by index. */
  readonly views: DataView[] = [];
  /** @internal Readable bytes by index (0 when not readable or unmapped). */
  readonly readLimit: number[] = [];
  /** @internal Writable bytes by index (0 when not writable or unmapped). */
  readonly writeLimit: number[] = [];
  readonly #regions: Region[] = [];
  readonly #free: number[] = [];

  /** Maps `bytes` (or a zeroed buffer of that many bytes) as a new region. */
  map(bytes: Uint8Array | number, options: RegionOptions = {}): Region {
    const data = typeof bytes === "number" ? new Uint8Array(bytes) : bytes;
    if (data.length > 0xffffffff) throw new RangeError("a region holds at most 4 GiB");
    let index = this.#regions.length;
    // Fresh windows first, so a stale pointer into an unmapped region keeps faulting for as long
    // as possible; reuse only when the table is full.
    if (index >= MAX_REGIONS) {
      const reused = this.#free.shift();
      if (reused === undefined) throw new RangeError(`more than ${MAX_REGIONS} regions`);
      index = reused;
    }
    const region = new Region(
      this,
      index,
      data,
      options.name ?? `region${index}`,
      options.kind ?? "memory",
      options.readable ?? true,
      options.writable ?? true,
    );
    this.#regions[index] = region;
    this.bytes[index] = data;
    this.views[index] = region.view;
    this.readLimit[index] = 0;
    this.writeLimit[index] = 0;
    this.#sync(region);
    return region;
  }

  /** Removes a region; later accesses through pointers into it fault as `unmapped`. */
  unmap(region: Region): void {
    if (this.#regions[region.index] !== region || !region.mapped) return;
    region.mapped = false;
    this.#sync(region);
    this.#free.push(region.index);
  }

  /** Changes the permissions of a region. */
  protect(region: Region, access: { readable?: boolean; writable?: boolean }): void {
    if (access.readable !== undefined) region.readable = access.readable;
    if (access.writable !== undefined) region.writable = access.writable;
    this.#sync(region);
  }

  #sync(r: Region): void {
    this.readLimit[r.index] = r.mapped && r.readable ? r.bytes.length : 0;
    this.writeLimit[r.index] = r.mapped && r.writable ? r.bytes.length : 0;
  }

  /** The region with this index, mapped or not. */
  regionAt(index: number): Region | undefined {
    return this.#regions[index];
  }

  /** Every region ever mapped and still in the table. */
  get regions(): readonly Region[] {
    return this.#regions;
  }

  /** The mapped region holding `address` and the offset into it, or undefined. */
  resolve(address: bigint): { region: Region; offset: number } | undefined {
    const a = BigInt.asUintN(64, address);
    const region = this.#regions[Number(a >> 32n) - REGION_HI_BASE];
    const offset = Number(a & 0xffffffffn);
    if (region === undefined || !region.mapped || offset >= region.bytes.length) return undefined;
    return { region, offset };
  }

  /** Checked load of a 1/2/4/8-byte little-endian value, zero-extended. */
  load(address: bigint, size: 1 | 2 | 4 | 8): bigint {
    const { view, offset } = this.#check(address, size, false);
    switch (size) {
      case 1:
        return BigInt(view.getUint8(offset));
      case 2:
        return BigInt(view.getUint16(offset, true));
      case 4:
        return BigInt(view.getUint32(offset, true));
      default:
        return view.getBigUint64(offset, true);
    }
  }

  /** Checked store of the low `size` bytes of `value`, little-endian. */
  store(address: bigint, size: 1 | 2 | 4 | 8, value: bigint): void {
    const { view, offset } = this.#check(address, size, true);
    switch (size) {
      case 1:
        view.setUint8(offset, Number(value & 0xffn));
        break;
      case 2:
        view.setUint16(offset, Number(value & 0xffffn), true);
        break;
      case 4:
        view.setUint32(offset, Number(value & 0xffffffffn), true);
        break;
      default:
        view.setBigUint64(offset, BigInt.asUintN(64, value), true);
    }
  }

  /** A live view of `length` guest bytes (writes through it change guest memory), checked for reading. */
  read(address: bigint, length: number): Uint8Array {
    const { offset, index } = this.#check(address, length, false);
    return (this.bytes[index] as Uint8Array).subarray(offset, offset + length);
  }

  /** Copies `data` into guest memory, checked for writing. */
  write(address: bigint, data: Uint8Array): void {
    const { offset, index } = this.#check(address, data.length, true);
    (this.bytes[index] as Uint8Array).set(data, offset);
  }

  /** Reads a NUL-terminated string of at most `max` bytes (latin1); faults when it runs off the region. */
  readCString(address: bigint, max = 4096): string {
    let out = "";
    for (let i = 0; i < max; i++) {
      const c = Number(this.load(address + BigInt(i), 1));
      if (c === 0) return out;
      out += String.fromCharCode(c);
    }
    return out;
  }

  #check(address: bigint, size: number, write: boolean): { view: DataView; offset: number; index: number } {
    const a = BigInt.asUintN(64, address);
    const hi = Number(a >> 32n) | 0;
    const lo = Number(a & 0xffffffffn);
    const index = (hi - HI_BASE_I32) >>> 0;
    const limit = (write ? this.writeLimit : this.readLimit)[index];
    if (limit !== undefined && lo + size <= limit)
      return { view: this.views[index] as DataView, offset: lo, index };
    throw this.fault(hi, lo, size, write, undefined);
  }

  /**
   * Builds the precise fault for an access the fast path refused. `lo` is the low word plus the
   * instruction offset, so it may lie outside 0..2^32 when the offset carried into the high word.
   */
  fault(hi: number, lo: number, size: number, write: boolean, insn: number | undefined): VmError {
    const address = BigInt.asUintN(64, (BigInt(hi >>> 0) << 32n) + BigInt(lo));
    const access = write ? "write" : "read";
    const at = insn === undefined ? "" : ` at insn ${insn}`;
    const what = `${access} of ${size} byte${size === 1 ? "" : "s"} at 0x${address.toString(16)}`;
    const fields = { insn, address, size, access } as const;
    // Judge the access against the region the base pointer points into, so an offset that ran
    // below the start reads as a negative offset rather than as the neighbouring window.
    const region = this.#regions[((hi | 0) - HI_BASE_I32) >>> 0];
    if (region === undefined) {
      const hint = address < 0x10000n ? " (null or scalar pointer)" : "";
      return new VmError(`${what} is outside every region${hint}${at}`, { kind: "access", ...fields });
    }
    const offset = lo;
    const name = region.name;
    if (!region.mapped)
      return new VmError(`${what} is in region "${name}", which was unmapped${at}`, {
        kind: "access",
        region: name,
        ...fields,
      });
    if (offset >= 0 && offset + size <= region.bytes.length) {
      const why = write ? "read-only" : "not readable";
      return new VmError(`${what} denied: region "${name}" (offset ${offset}) is ${why}${at}`, {
        kind: "permission",
        region: name,
        ...fields,
      });
    }
    return new VmError(
      `${what} is out of bounds of region "${name}" (offset ${offset}, region size ${region.bytes.length})${at}`,
      { kind: "access", region: name, ...fields },
    );
  }
}
