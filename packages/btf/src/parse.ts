import { Btf } from "./btf.js";
import { BtfError } from "./error.js";
import { BTF_KIND_MAX, BTF_MAGIC, BtfKind, KIND_NAMES, recordSize } from "./kinds.js";
import type { BtfHeader } from "./types.js";

export interface ParseBtfOptions {
  /** Base BTF (vmlinux) when `bytes` is a split BTF such as `/sys/kernel/btf/<module>`. */
  base?: Btf;
}

/** Largest type id BTF can address (`BTF_MAX_TYPE`). */
export const BTF_MAX_TYPE = 0xfffff;
/** Largest usable string offset (`BTF_MAX_NAME_OFFSET`). */
export const BTF_MAX_NAME_OFFSET = 0xffffff;

/** Reads the .BTF header, detecting the blob's byte order from the magic. */
export function parseBtfHeader(bytes: Uint8Array): { header: BtfHeader; littleEndian: boolean } {
  if (bytes.byteLength < 24)
    throw new BtfError(`BTF too short for a header: ${bytes.byteLength} bytes`, 0, "header");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let littleEndian: boolean;
  if (view.getUint16(0, true) === BTF_MAGIC) littleEndian = true;
  else if (view.getUint16(0, false) === BTF_MAGIC) littleEndian = false;
  else throw new BtfError(`bad BTF magic 0x${view.getUint16(0, true).toString(16)}`, 0, "header");
  const header: BtfHeader = {
    version: view.getUint8(2),
    flags: view.getUint8(3),
    hdrLen: view.getUint32(4, littleEndian),
    typeOff: view.getUint32(8, littleEndian),
    typeLen: view.getUint32(12, littleEndian),
    strOff: view.getUint32(16, littleEndian),
    strLen: view.getUint32(20, littleEndian),
  };
  if (header.version !== 1) throw new BtfError(`unsupported BTF version ${header.version}`, 2, "header");
  if (header.hdrLen < 24 || header.hdrLen > bytes.byteLength) {
    throw new BtfError(`bad header length ${header.hdrLen}`, 4, "header");
  }
  for (let i = 24; i < header.hdrLen; i++) {
    if (bytes[i] !== 0) throw new BtfError("unsupported non-zero header extension", i, "header");
  }
  const dataLen = bytes.byteLength - header.hdrLen;
  if (header.typeOff % 4 !== 0) throw new BtfError("type section not aligned to 4 bytes", 8, "header");
  if (header.typeOff + header.typeLen > dataLen) {
    throw new BtfError(
      `type section (${header.typeOff}+${header.typeLen}) past end of data (${dataLen})`,
      8,
      "header",
    );
  }
  if (header.strOff + header.strLen > dataLen) {
    throw new BtfError(
      `string section (${header.strOff}+${header.strLen}) past end of data (${dataLen})`,
      16,
      "header",
    );
  }
  if (header.typeOff + header.typeLen > header.strOff && header.typeLen > 0 && header.strLen > 0) {
    if (header.strOff < header.typeOff + header.typeLen && header.typeOff < header.strOff + header.strLen) {
      throw new BtfError("type and string sections overlap", 8, "header");
    }
  }
  return { header, littleEndian };
}

/**
 * Parses a .BTF blob (either byte order). Only a one-pass index (record offsets and three words per
 * type) is built; types are decoded when asked for. Every structural problem is a BtfError naming the
 * byte offset and the kind of record.
 */
export function parseBtf(bytes: Uint8Array, options: ParseBtfOptions = {}): Btf {
  const { header, littleEndian } = parseBtfHeader(bytes);
  const base = options.base;
  const strStart = header.hdrLen + header.strOff;
  const strEnd = strStart + header.strLen;
  if (base) {
    if (header.strLen > 0 && bytes[strEnd - 1] !== 0) {
      throw new BtfError("string section not NUL-terminated", strEnd - 1, "string");
    }
  } else {
    if (header.strLen === 0 || bytes[strStart] !== 0 || bytes[strEnd - 1] !== 0) {
      throw new BtfError("string section must start and end with NUL", strStart, "string");
    }
  }
  if (header.strLen > 0 && header.strLen - 1 > BTF_MAX_NAME_OFFSET) {
    throw new BtfError(`string section too large (${header.strLen})`, 20, "header");
  }

  const startId = base ? base.length : 1;
  const typeStart = header.hdrLen + header.typeOff;
  const words = typeWords(bytes, typeStart, header.typeLen, littleEndian);
  const nwords = words.length;
  // One pass: record boundaries; the index arrays grow by doubling to avoid a second pass.
  let recOff = new Uint32Array(1024);
  let own = 0;
  let w = 0;
  while (w < nwords) {
    if (w + 3 > nwords) throw new BtfError("truncated type record", typeStart + w * 4, "type");
    const info = words[w + 1]!;
    const kind = (info >>> 24) & 0x1f;
    if (kind === 0 || kind > BTF_KIND_MAX) {
      throw new BtfError(
        `unknown BTF kind ${kind} in type [${startId + own}]`,
        typeStart + w * 4,
        KIND_NAMES[kind] ?? "UNKNOWN",
      );
    }
    const size = recordSize(kind, info & 0xffff) >>> 2;
    if (w + size > nwords) {
      throw new BtfError(
        `type record [${startId + own}] runs past the type section`,
        typeStart + w * 4,
        KIND_NAMES[kind]!,
      );
    }
    if (own === recOff.length) {
      const grown = new Uint32Array(own * 2);
      grown.set(recOff);
      recOff = grown;
    }
    recOff[own++] = w;
    w += size;
  }
  if (header.typeLen % 4 !== 0) throw new BtfError("truncated type record", typeStart + nwords * 4, "type");
  if (startId + own - 1 > BTF_MAX_TYPE)
    throw new BtfError(`too many types (${startId + own - 1})`, typeStart, "type");
  recOff = recOff.slice(0, own);
  const total = startId + own;
  const info = new Uint32Array(total);
  const nameOffs = new Uint32Array(total);
  const sizeType = new Uint32Array(total);
  if (base) {
    info.set(base.info);
    nameOffs.set(base.nameOffs);
    sizeType.set(base.sizeType);
  }
  for (let i = 0; i < own; i++) {
    const p = recOff[i]!;
    nameOffs[startId + i] = words[p]!;
    info[startId + i] = words[p + 1]!;
    sizeType[startId + i] = words[p + 2]!;
  }
  const btf = new Btf({ bytes, littleEndian, header, base, words, recOff, info, nameOffs, sizeType });
  validate(btf);
  return btf;
}

/** Type section as native (little-endian) u32 words: a view when aligned, else a copy, swapped if needed. */
function typeWords(bytes: Uint8Array, start: number, len: number, littleEndian: boolean): Uint32Array {
  const n = len >>> 2;
  const at = bytes.byteOffset + start;
  if (littleEndian && at % 4 === 0) return new Uint32Array(bytes.buffer, at, n);
  const copy = new Uint32Array(n);
  const view = new DataView(bytes.buffer, at, n * 4);
  for (let i = 0; i < n; i++) copy[i] = view.getUint32(i * 4, littleEndian);
  return copy;
}

/** Checks every name offset and every referenced type id, so later walks cannot go out of range. */
function validate(btf: Btf): void {
  const total = btf.length;
  const words = btf.words;
  const recOff = btf.recOff;
  const startId = btf.startId;
  const strLimit = btf.startStrOff + btf.header.strLen;
  const typeStart = btf.header.hdrLen + btf.header.typeOff;
  const fail = (id: number, what: string, w: number): never => {
    throw new BtfError(`type [${id}] ${what}`, typeStart + w * 4, KIND_NAMES[btf.kind(id)]!);
  };
  for (let id = startId; id < total; id++) {
    const p = recOff[id - startId]!;
    const info = words[p + 1]!;
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    if (words[p]! >= strLimit) fail(id, `name offset ${words[p]} out of range`, p);
    switch (kind) {
      case BtfKind.PTR:
      case BtfKind.TYPEDEF:
      case BtfKind.VOLATILE:
      case BtfKind.CONST:
      case BtfKind.RESTRICT:
      case BtfKind.FUNC:
      case BtfKind.VAR:
      case BtfKind.DECL_TAG:
      case BtfKind.TYPE_TAG:
        if (words[p + 2]! >= total) fail(id, `references type id ${words[p + 2]} (max ${total - 1})`, p + 2);
        break;
      case BtfKind.ARRAY:
        if (words[p + 3]! >= total) fail(id, `element type id ${words[p + 3]} out of range`, p + 3);
        if (words[p + 4]! >= total) fail(id, `index type id ${words[p + 4]} out of range`, p + 4);
        break;
      case BtfKind.STRUCT:
      case BtfKind.UNION:
        for (let i = 0, q = p + 3; i < vlen; i++, q += 3) {
          if (words[q]! >= strLimit) fail(id, `member ${i} name offset ${words[q]} out of range`, q);
          if (words[q + 1]! >= total) fail(id, `member ${i} type id ${words[q + 1]} out of range`, q + 1);
        }
        break;
      case BtfKind.ENUM:
        for (let i = 0, q = p + 3; i < vlen; i++, q += 2) {
          if (words[q]! >= strLimit) fail(id, `value ${i} name offset ${words[q]} out of range`, q);
        }
        break;
      case BtfKind.ENUM64:
        for (let i = 0, q = p + 3; i < vlen; i++, q += 3) {
          if (words[q]! >= strLimit) fail(id, `value ${i} name offset ${words[q]} out of range`, q);
        }
        break;
      case BtfKind.FUNC_PROTO:
        if (words[p + 2]! >= total) fail(id, `return type id ${words[p + 2]} out of range`, p + 2);
        for (let i = 0, q = p + 3; i < vlen; i++, q += 2) {
          if (words[q]! >= strLimit) fail(id, `param ${i} name offset ${words[q]} out of range`, q);
          if (words[q + 1]! >= total) fail(id, `param ${i} type id ${words[q + 1]} out of range`, q + 1);
        }
        break;
      case BtfKind.DATASEC:
        for (let i = 0, q = p + 3; i < vlen; i++, q += 3) {
          if (words[q]! >= total) fail(id, `var ${i} type id ${words[q]} out of range`, q);
        }
        break;
      default:
        break;
    }
  }
}
