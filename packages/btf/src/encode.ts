import type { Btf } from "./btf.js";
import { BtfError } from "./error.js";
import { BTF_MAGIC, KIND_KEYS, recordSize } from "./kinds.js";
import type { BtfType } from "./types.js";

export interface EncodeOptions {
  /** Byte order of the output; defaults to the input's. */
  littleEndian?: boolean;
}

const KIND_BY_KEY = new Map<string, number>(KIND_KEYS.map((k, i) => [k, i]));

/** Number of u32 words `t` occupies as a record. */
function wordsOf(t: BtfType): number {
  const kind = KIND_BY_KEY.get(t.kind)!;
  let vlen = 0;
  if (t.kind === "struct" || t.kind === "union") vlen = t.members.length;
  else if (t.kind === "enum" || t.kind === "enum64") vlen = t.values.length;
  else if (t.kind === "func_proto") vlen = t.params.length;
  else if (t.kind === "datasec") vlen = t.vars.length;
  const size = recordSize(kind, vlen);
  if (size < 0) throw new BtfError(`cannot encode a ${t.kind} record`, -1, t.kind);
  return size >>> 2;
}

/** Writes the record of one typed description at word `w`; returns the next free word. */
function writeType(out: Uint32Array, w: number, t: BtfType): number {
  const kind = KIND_BY_KEY.get(t.kind)!;
  const head = (vlen: number, sizeOrType: number) => {
    if (vlen > 0xffff) throw new BtfError(`vlen ${vlen} too large for [${t.id}]`, -1, t.kind);
    out[w] = t.nameOff;
    out[w + 1] = ((t.kindFlag ? 0x80000000 : 0) | (kind << 24) | vlen) >>> 0;
    out[w + 2] = sizeOrType >>> 0;
  };
  switch (t.kind) {
    case "void":
      throw new BtfError("void has no record", -1, "void");
    case "int":
      head(0, t.size);
      out[w + 3] = (((t.encoding & 0xf) << 24) | ((t.bitOffset & 0xff) << 16) | (t.bits & 0xff)) >>> 0;
      return w + 4;
    case "ptr":
    case "typedef":
    case "const":
    case "volatile":
    case "restrict":
    case "type_tag":
      head(0, t.type);
      return w + 3;
    case "array":
      head(0, 0);
      out[w + 3] = t.elemType;
      out[w + 4] = t.indexType;
      out[w + 5] = t.nelems;
      return w + 6;
    case "struct":
    case "union": {
      head(t.members.length, t.size);
      let q = w + 3;
      for (const m of t.members) {
        out[q] = m.nameOff;
        out[q + 1] = m.type;
        out[q + 2] = t.kindFlag ? ((m.bitfieldSize << 24) | (m.bitOffset & 0xffffff)) >>> 0 : m.bitOffset;
        q += 3;
      }
      return q;
    }
    case "enum":
    case "enum64": {
      head(t.values.length, t.size);
      let q = w + 3;
      for (const v of t.values) {
        out[q] = v.nameOff;
        if (t.kind === "enum") {
          out[q + 1] = Number(BigInt.asUintN(32, v.value));
          q += 2;
        } else {
          const u = BigInt.asUintN(64, v.value);
          out[q + 1] = Number(u & 0xffffffffn);
          out[q + 2] = Number(u >> 32n);
          q += 3;
        }
      }
      return q;
    }
    case "fwd":
      head(0, 0);
      return w + 3;
    case "func":
      head(t.linkage, t.type);
      return w + 3;
    case "func_proto": {
      head(t.params.length, t.returnType);
      let q = w + 3;
      for (const p of t.params) {
        out[q] = p.nameOff;
        out[q + 1] = p.type;
        q += 2;
      }
      return q;
    }
    case "var":
      head(0, t.type);
      out[w + 3] = t.linkage;
      return w + 4;
    case "datasec": {
      head(t.vars.length, t.size);
      let q = w + 3;
      for (const v of t.vars) {
        out[q] = v.type;
        out[q + 1] = v.offset;
        out[q + 2] = v.size;
        q += 3;
      }
      return q;
    }
    case "float":
      head(0, t.size);
      return w + 3;
    case "decl_tag":
      head(0, t.type);
      out[w + 3] = t.componentIdx >>> 0;
      return w + 4;
  }
}

/**
 * Serialises typed descriptions and a string section into a .BTF blob (24-byte header, types, then
 * strings). Name offsets are taken from each description's `nameOff` fields as they are.
 */
export function encodeBtfTypes(
  types: readonly BtfType[],
  strings: Uint8Array,
  options: EncodeOptions = {},
): Uint8Array {
  const le = options.littleEndian ?? true;
  let nwords = 0;
  for (const t of types) nwords += wordsOf(t);
  const typeLen = nwords * 4;
  const out = new Uint8Array(24 + typeLen + strings.byteLength);
  const view = new DataView(out.buffer);
  view.setUint16(0, BTF_MAGIC, le);
  view.setUint8(2, 1);
  view.setUint8(3, 0);
  view.setUint32(4, 24, le);
  view.setUint32(8, 0, le);
  view.setUint32(12, typeLen, le);
  view.setUint32(16, typeLen, le);
  view.setUint32(20, strings.byteLength, le);
  const words = new Uint32Array(nwords);
  let w = 0;
  for (const t of types) w = writeType(words, w, t);
  if (le) out.set(new Uint8Array(words.buffer), 24);
  else for (let i = 0; i < nwords; i++) view.setUint32(24 + i * 4, words[i]!, false);
  out.set(strings, 24 + typeLen);
  return out;
}

/**
 * Re-encodes a parsed BTF from its typed descriptions (own types only for a split BTF), reusing the
 * original string section, so `encodeBtf(parseBtf(x))` reproduces `x` byte for byte.
 */
export function encodeBtf(btf: Btf, options: EncodeOptions = {}): Uint8Array {
  const types: BtfType[] = [];
  for (let id = btf.startId; id < btf.length; id++) types.push(btf.type(id));
  return encodeBtfTypes(types, btf.stringSection(), {
    littleEndian: options.littleEndian ?? btf.littleEndian,
  });
}

/** A type description for BtfBuilder: like BtfType without the id and string offsets. */
export type BtfTypeInput = LooseNames<DistributiveOmit<BtfType, "id" | "nameOff" | "kindFlag">> & {
  kindFlag?: boolean;
};
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
type NoOff<T> = Omit<T, "nameOff"> & { nameOff?: number };
type LooseNames<T> = T extends unknown
  ? {
      [K in keyof T]: T[K] extends Array<infer E>
        ? E extends { nameOff: number }
          ? NoOff<E>[]
          : T[K]
        : T[K];
    }
  : never;

/**
 * Builds a BTF blob from scratch (or a split BTF on top of a base): strings are interned, ids are
 * handed out in order. Useful for tests and for synthesising BTF.
 */
export class BtfBuilder {
  private readonly types: BtfType[] = [];
  private readonly strOffsets = new Map<string, number>();
  private readonly chunks: Uint8Array[] = [];
  private strLen = 0;
  private readonly encoder = new TextEncoder();

  /** `firstId` and `firstStrOff` are the base's type count and string length for a split BTF. */
  constructor(
    private readonly firstId = 1,
    private readonly firstStrOff = 0,
  ) {
    if (firstStrOff === 0) this.intern("");
  }

  /** Offset of `s` in the string table being built (added on first use). */
  intern(s: string): number {
    const known = this.strOffsets.get(s);
    if (known !== undefined) return known;
    const bytes = this.encoder.encode(`${s}\0`);
    const off = this.firstStrOff + this.strLen;
    this.strOffsets.set(s, off);
    this.chunks.push(bytes);
    this.strLen += bytes.byteLength;
    return off;
  }

  /** Adds a type and returns its id. Member, param and value names are interned too. */
  add(input: BtfTypeInput): number {
    const id = this.firstId + this.types.length;
    const nameOff = input.name === "" && this.firstStrOff > 0 ? 0 : this.intern(input.name);
    const t = { ...input, id, nameOff, kindFlag: input.kindFlag ?? false } as BtfType;
    if (t.kind === "struct" || t.kind === "union") {
      t.members = t.members.map((m) => ({ ...m, nameOff: this.nameOf(m.name) }));
      if (t.members.some((m) => m.bitfieldSize > 0)) t.kindFlag = true;
    } else if (t.kind === "enum" || t.kind === "enum64") {
      t.values = t.values.map((v) => ({ ...v, nameOff: this.nameOf(v.name) }));
      t.kindFlag = t.signed;
    } else if (t.kind === "func_proto") {
      t.params = t.params.map((p) => ({ ...p, nameOff: this.nameOf(p.name) }));
    } else if (t.kind === "fwd") {
      t.kindFlag = t.union;
    }
    this.types.push(t);
    return id;
  }

  private nameOf(name: string): number {
    return name === "" && this.firstStrOff > 0 ? 0 : this.intern(name);
  }

  /** The finished blob. */
  build(options: EncodeOptions = {}): Uint8Array {
    const strings = new Uint8Array(this.strLen);
    let at = 0;
    for (const c of this.chunks) {
      strings.set(c, at);
      at += c.byteLength;
    }
    return encodeBtfTypes(this.types, strings, options);
  }
}
