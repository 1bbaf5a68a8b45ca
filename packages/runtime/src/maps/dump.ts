import type { Btf } from "@bpfkit/btf";
import { MapType } from "./constants.js";
import type { BpfMap } from "./map.js";

/** A JSON value of a dump; bigints stand for integers beyond 2^53 (written as plain JSON numbers). */
export type DumpValue =
  | number
  | bigint
  | boolean
  | string
  | null
  | DumpValue[]
  | { [key: string]: DumpValue };

/** One element of `bpftool map dump -j`. */
export interface DumpEntry {
  key: string[];
  value?: string[];
  values?: { cpu: number; value: string[] }[];
  formatted?: { key?: DumpValue; value?: DumpValue; values?: { cpu: number; value: DumpValue }[] };
}

/** Bytes as bpftool's `["0x01", ...]`. */
export function hexBytes(bytes: Uint8Array): string[] {
  const out: string[] = [];
  for (const b of bytes) out.push(`0x${b.toString(16).padStart(2, "0")}`);
  return out;
}

/**
 * The map in the shape of `bpftool map dump -j`: keys and values as arrays of "0x.." strings, one
 * value per CPU for per-CPU maps, and "formatted" when the map has BTF. Maps bpftool cannot walk
 * (queue, stack, ring buffer, task storage) dump as `[]`, as bpftool prints them.
 */
export function dumpMap(map: BpfMap): DumpEntry[] {
  if (
    map.type === MapType.QUEUE ||
    map.type === MapType.STACK ||
    map.type === MapType.RINGBUF ||
    map.type === MapType.TASK_STORAGE
  )
    return [];
  const { btf, btfKeyTypeId = 0, btfValueTypeId = 0 } = map.spec;
  const out: DumpEntry[] = [];
  for (const e of map.entries()) {
    const entry: DumpEntry = { key: hexBytes(e.key) };
    if (e.values) entry.values = e.values.map((v, cpu) => ({ cpu, value: hexBytes(v) }));
    else entry.value = hexBytes(e.value ?? new Uint8Array(0));
    if (btf && btfValueTypeId !== 0) {
      const formatted: NonNullable<DumpEntry["formatted"]> = {};
      if (btfKeyTypeId !== 0) formatted.key = formatBtf(btf, btfKeyTypeId, e.key);
      if (e.values)
        formatted.values = e.values.map((v, cpu) => ({ cpu, value: formatBtf(btf, btfValueTypeId, v) }));
      else formatted.value = formatBtf(btf, btfValueTypeId, e.value ?? new Uint8Array(0));
      entry.formatted = formatted;
    }
    out.push(entry);
  }
  return out;
}

/** `JSON.stringify` that writes bigints as bare numbers, like bpftool's `%llu`. */
export function dumpJson(value: unknown, space?: number): string {
  const marks: string[] = [];
  const text = JSON.stringify(
    value,
    (_k, v: unknown) => {
      if (typeof v !== "bigint") return v;
      marks.push(v.toString());
      return `\u0000big${marks.length - 1}\u0000`;
    },
    space,
  );
  return text.replace(/"\\u0000big(\d+)\\u0000"/g, (_m, i: string) => marks[Number(i)] as string);
}

function readUint(bytes: Uint8Array, off: number, size: number): bigint {
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[off + i] ?? 0);
  return v;
}

function num(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Formats `bytes` as BTF type `id`, the way bpftool's JSON btf dumper does. */
export function formatBtf(btf: Btf, id: number, bytes: Uint8Array, bitOffset = 0, bitSize = 0): DumpValue {
  const t = btf.type(id);
  switch (t.kind) {
    case "typedef":
    case "const":
    case "volatile":
    case "restrict":
    case "type_tag":
      return formatBtf(btf, t.type, bytes, bitOffset, bitSize);
    case "var":
      return { [t.name]: formatBtf(btf, t.type, bytes) };
    case "int": {
      const byteOff = bitOffset >> 3;
      let v: bigint;
      if (bitSize > 0) {
        const raw = readUint(bytes, byteOff, Math.min(8, bytes.length - byteOff));
        v = (raw >> BigInt(bitOffset & 7)) & ((1n << BigInt(bitSize)) - 1n);
        if (t.signed) v = BigInt.asIntN(bitSize, v);
      } else {
        v = readUint(bytes, byteOff, t.size);
        if (t.signed) v = BigInt.asIntN(t.size * 8, v);
      }
      if (t.bool) return v !== 0n;
      return num(v);
    }
    case "ptr":
      return num(readUint(bytes, bitOffset >> 3, 8));
    case "float": {
      const view = new DataView(bytes.buffer, bytes.byteOffset + (bitOffset >> 3));
      return t.size === 4 ? view.getFloat32(0, true) : view.getFloat64(0, true);
    }
    case "enum":
    case "enum64": {
      const raw = readUint(bytes, bitOffset >> 3, t.size);
      const v = t.signed ? BigInt.asIntN(t.size * 8, raw) : raw;
      const named = t.values.find((e) => BigInt.asUintN(t.size * 8, e.value) === raw);
      return named ? named.name : num(v);
    }
    case "array": {
      const base = bitOffset >> 3;
      const elemSize = btf.sizeof(t.elemType);
      const slice = bytes.subarray(base, base + elemSize * t.nelems);
      const str = charArray(btf, t.elemType, slice);
      if (str !== undefined) return str;
      const out: DumpValue[] = [];
      for (let i = 0; i < t.nelems; i++) out.push(formatBtf(btf, t.elemType, slice, i * elemSize * 8));
      return out;
    }
    case "struct":
    case "union": {
      const out: { [key: string]: DumpValue } = {};
      const base = bitOffset >> 3;
      const sub = bytes.subarray(base);
      for (const m of t.members) out[m.name] = formatBtf(btf, m.type, sub, m.bitOffset, m.bitfieldSize);
      return out;
    }
    case "datasec": {
      const vars: DumpValue[] = [];
      for (const v of t.vars) vars.push(formatBtf(btf, v.type, bytes.subarray(v.offset, v.offset + v.size)));
      return { [t.name]: vars };
    }
    default:
      return null;
  }
}

/** A char array that holds a printable NUL-terminated string prints as that string. */
function charArray(btf: Btf, elemType: number, bytes: Uint8Array): string | undefined {
  const e = btf.type(btf.skipModifiers(elemType));
  if (e.kind !== "int" || e.size !== 1 || !(e.char || e.name === "char")) return undefined;
  let s = "";
  for (const c of bytes) {
    if (c === 0) return s;
    if (c < 0x20 || c > 0x7e) return undefined;
    s += String.fromCharCode(c);
  }
  return undefined;
}
