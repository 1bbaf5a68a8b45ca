import { BtfError } from "./error.js";
import { BtfKind, KIND_KEYS, KIND_NAMES } from "./kinds.js";
import { latin1String, readCString } from "./strings.js";
import type { BtfHeader, BtfMember, BtfType } from "./types.js";

/** libbpf gives up following typedef/modifier chains after this many steps (loops in bad BTF). */
export const MAX_RESOLVE_DEPTH = 32;

const LONG_NAMES = new Set([
  "long",
  "long int",
  "int long",
  "unsigned long",
  "long unsigned",
  "unsigned long int",
  "unsigned int long",
  "long unsigned int",
  "long int unsigned",
  "int unsigned long",
  "int long unsigned",
]);

/** Raw pieces the parser hands to the Btf constructor. */
export interface BtfParts {
  bytes: Uint8Array;
  littleEndian: boolean;
  header: BtfHeader;
  base: Btf | undefined;
  /** Type section as native-order u32 words (byte-swapped copy for foreign-endian blobs). */
  words: Uint32Array;
  /** Word index (into `words`) of each own record, index id - startId. */
  recOff: Uint32Array;
  /** info / name_off / size_or_type for every id from 0 (base ids copied in). */
  info: Uint32Array;
  nameOffs: Uint32Array;
  sizeType: Uint32Array;
}

/** A located member found through anonymous members: absolute bit offset from the outer struct. */
export interface BtfFieldLocation {
  /** Member indices from the outer type down to the member (anonymous levels included). */
  path: number[];
  type: number;
  bitOffset: number;
  bitfieldSize: number;
}

/**
 * A parsed .BTF blob (optionally split on top of a base). Records are decoded on demand from the
 * original bytes; only three u32 words per type are indexed up front, so opening vmlinux is cheap.
 * Ids below `startId` belong to the base.
 */
export class Btf {
  readonly bytes: Uint8Array;
  readonly littleEndian: boolean;
  readonly header: BtfHeader;
  readonly base: Btf | undefined;
  /** First type id stored in this blob (1 for a base BTF, base.length for a split one). */
  readonly startId: number;
  /** Number of type ids including void and the base's ids: valid ids are 0 .. length-1. */
  readonly length: number;
  /** String offsets below this value refer to the base's string table. */
  readonly startStrOff: number;
  /** @internal */ readonly words: Uint32Array;
  /** @internal */ readonly recOff: Uint32Array;
  /** @internal */ readonly info: Uint32Array;
  /** @internal */ readonly nameOffs: Uint32Array;
  /** @internal */ readonly sizeType: Uint32Array;
  private readonly strStart: number;
  private readonly strEnd: number;
  /** Own string section, one char per byte: slicing it is far cheaper than decoding each name. */
  private readonly strText: string;
  private readonly strAscii: boolean;
  private nameIndex: Map<string, number[]> | undefined;
  private ptrSz = 0;
  private declTagIndex: Map<number, number[]> | undefined;

  constructor(parts: BtfParts) {
    this.bytes = parts.bytes;
    this.littleEndian = parts.littleEndian;
    this.header = parts.header;
    this.base = parts.base;
    this.words = parts.words;
    this.recOff = parts.recOff;
    this.info = parts.info;
    this.nameOffs = parts.nameOffs;
    this.sizeType = parts.sizeType;
    this.startId = parts.base ? parts.base.length : 1;
    this.length = this.startId + parts.recOff.length;
    this.startStrOff = parts.base ? parts.base.startStrOff + parts.base.header.strLen : 0;
    this.strStart = parts.header.hdrLen + parts.header.strOff;
    this.strEnd = this.strStart + parts.header.strLen;
    const strBytes = parts.bytes.subarray(this.strStart, this.strEnd);
    const { text, ascii } = latin1String(strBytes);
    this.strText = text;
    this.strAscii = ascii;
  }

  /** Kind number of `id` (0 for void). */
  kind(id: number): number {
    return (this.info[id]! >>> 24) & 0x1f;
  }

  vlen(id: number): number {
    return this.info[id]! & 0xffff;
  }

  kindFlag(id: number): boolean {
    return this.info[id]! >>> 31 === 1;
  }

  /** The `size` or `type` word of the record, whichever the kind uses. */
  sizeOrType(id: number): number {
    return this.sizeType[id]!;
  }

  nameOff(id: number): number {
    return this.nameOffs[id]!;
  }

  /** Name of a type, "" when anonymous. */
  name(id: number): string {
    return this.str(this.nameOffs[id]!);
  }

  /** String at `off` in the combined (base + own) string table. */
  str(off: number): string {
    if (off < this.startStrOff) return this.base!.str(off);
    return this.decodeStr(off);
  }

  private decodeStr(off: number): string {
    const rel = off - this.startStrOff;
    const end = this.strText.indexOf("\0", rel);
    if (end < 0 || rel >= this.strText.length) {
      throw new BtfError(`string offset ${off} out of range`, this.strStart + rel, "string");
    }
    if (this.strAscii) return this.strText.slice(rel, end);
    return readCString(this.bytes, this.strStart + rel, this.strEnd) ?? "";
  }

  /** True when `off` names a valid string (used by the parser's validation). */
  hasStr(off: number): boolean {
    if (off < this.startStrOff) return this.base!.hasStr(off);
    const pos = this.strStart + off - this.startStrOff;
    // The section is known to end with NUL, so any offset inside it starts a terminated string.
    return pos < this.strEnd;
  }

  /** Own string section bytes (what the encoder writes back). */
  stringSection(): Uint8Array {
    return this.bytes.subarray(this.strStart, this.strEnd);
  }

  /** Reads u32 number `word` of the kind-specific tail of `id`'s record. */
  tail(id: number, word: number): number {
    if (id < this.startId) return this.base!.tail(id, word);
    return this.words[this.recOff[id - this.startId]! + 3 + word]!;
  }

  tailSigned(id: number, word: number): number {
    if (id < this.startId) return this.base!.tailSigned(id, word);
    return this.words[this.recOff[id - this.startId]! + 3 + word]! | 0;
  }

  /** Absolute byte offset of `id`'s record in its own blob (for error messages). */
  recordOffset(id: number): number {
    if (id < this.startId) return this.base!.recordOffset(id);
    return this.header.hdrLen + this.header.typeOff + this.recOff[id - this.startId]! * 4;
  }

  // Member accessors for STRUCT/UNION: tail entries are {name_off, type, offset}.
  memberNameOff(id: number, i: number): number {
    return this.tail(id, i * 3);
  }
  memberName(id: number, i: number): string {
    return this.str(this.tail(id, i * 3));
  }
  memberType(id: number, i: number): number {
    return this.tail(id, i * 3 + 1);
  }
  memberBitOffset(id: number, i: number): number {
    const raw = this.tail(id, i * 3 + 2);
    return this.kindFlag(id) ? raw & 0xffffff : raw;
  }
  memberBitfieldSize(id: number, i: number): number {
    return this.kindFlag(id) ? this.tail(id, i * 3 + 2) >>> 24 : 0;
  }

  // FUNC_PROTO params: {name_off, type}.
  paramNameOff(id: number, i: number): number {
    return this.tail(id, i * 2);
  }
  paramType(id: number, i: number): number {
    return this.tail(id, i * 2 + 1);
  }

  // ENUM values: {name_off, s32}; ENUM64 values: {name_off, lo32, hi32}.
  enumValueNameOff(id: number, i: number): number {
    return this.kind(id) === BtfKind.ENUM64 ? this.tail(id, i * 3) : this.tail(id, i * 2);
  }
  /** Enumerator value as bigint, sign-interpreted when the enum is signed (kind_flag). */
  enumValue(id: number, i: number): bigint {
    const signed = this.kindFlag(id);
    if (this.kind(id) === BtfKind.ENUM64) {
      const v = (BigInt(this.tail(id, i * 3 + 2)) << 32n) | BigInt(this.tail(id, i * 3 + 1));
      return signed ? BigInt.asIntN(64, v) : v;
    }
    return signed ? BigInt(this.tailSigned(id, i * 2 + 1)) : BigInt(this.tail(id, i * 2 + 1));
  }

  /** Typed description of one type. Throws BtfError for ids out of range. */
  type(id: number): BtfType {
    if (!Number.isInteger(id) || id < 0 || id >= this.length) {
      throw new BtfError(`type id ${id} out of range (0..${this.length - 1})`, -1, "type");
    }
    const kind = this.kind(id);
    const nameOff = id === 0 ? 0 : this.nameOffs[id]!;
    const common = { id, name: id === 0 ? "" : this.str(nameOff), nameOff, kindFlag: this.kindFlag(id) };
    const st = this.sizeType[id]!;
    const vlen = this.vlen(id);
    switch (kind) {
      case 0:
        return { ...common, kind: "void" };
      case BtfKind.INT: {
        const w = this.tail(id, 0);
        const encoding = (w >>> 24) & 0x0f;
        return {
          ...common,
          kind: "int",
          size: st,
          encoding,
          signed: (encoding & 1) !== 0,
          char: (encoding & 2) !== 0,
          bool: (encoding & 4) !== 0,
          bitOffset: (w >>> 16) & 0xff,
          bits: w & 0xff,
        };
      }
      case BtfKind.PTR:
      case BtfKind.TYPEDEF:
      case BtfKind.VOLATILE:
      case BtfKind.CONST:
      case BtfKind.RESTRICT:
      case BtfKind.TYPE_TAG:
        return { ...common, kind: KIND_KEYS[kind] as "ptr", type: st };
      case BtfKind.ARRAY:
        return {
          ...common,
          kind: "array",
          elemType: this.tail(id, 0),
          indexType: this.tail(id, 1),
          nelems: this.tail(id, 2),
        };
      case BtfKind.STRUCT:
      case BtfKind.UNION: {
        const members: BtfMember[] = [];
        for (let i = 0; i < vlen; i++) {
          const nOff = this.memberNameOff(id, i);
          members.push({
            name: this.str(nOff),
            nameOff: nOff,
            type: this.memberType(id, i),
            bitOffset: this.memberBitOffset(id, i),
            bitfieldSize: this.memberBitfieldSize(id, i),
          });
        }
        return { ...common, kind: kind === BtfKind.STRUCT ? "struct" : "union", size: st, members };
      }
      case BtfKind.ENUM:
      case BtfKind.ENUM64: {
        const values = [];
        for (let i = 0; i < vlen; i++) {
          const nOff = this.enumValueNameOff(id, i);
          values.push({ name: this.str(nOff), nameOff: nOff, value: this.enumValue(id, i) });
        }
        return {
          ...common,
          kind: kind === BtfKind.ENUM ? "enum" : "enum64",
          size: st,
          signed: common.kindFlag,
          values,
        };
      }
      case BtfKind.FWD:
        return { ...common, kind: "fwd", union: common.kindFlag };
      case BtfKind.FUNC:
        return { ...common, kind: "func", type: st, linkage: vlen };
      case BtfKind.FUNC_PROTO: {
        const params = [];
        for (let i = 0; i < vlen; i++) {
          const nOff = this.paramNameOff(id, i);
          params.push({ name: this.str(nOff), nameOff: nOff, type: this.paramType(id, i) });
        }
        return { ...common, kind: "func_proto", returnType: st, params };
      }
      case BtfKind.VAR:
        return { ...common, kind: "var", type: st, linkage: this.tail(id, 0) };
      case BtfKind.DATASEC: {
        const vars = [];
        for (let i = 0; i < vlen; i++) {
          vars.push({
            type: this.tail(id, i * 3),
            offset: this.tail(id, i * 3 + 1),
            size: this.tail(id, i * 3 + 2),
          });
        }
        return { ...common, kind: "datasec", size: st, vars };
      }
      case BtfKind.FLOAT:
        return { ...common, kind: "float", size: st };
      case BtfKind.DECL_TAG:
        return { ...common, kind: "decl_tag", type: st, componentIdx: this.tailSigned(id, 0) };
      default:
        throw new BtfError(`unknown kind ${kind} of type [${id}]`, this.recordOffset(id), "type");
    }
  }

  /** Upper-case kind name as bpftool prints it ("STRUCT"). */
  kindName(id: number): string {
    return KIND_NAMES[this.kind(id)] ?? "UNKNOWN";
  }

  /** Follows CONST/VOLATILE/RESTRICT/TYPE_TAG (not typedefs). */
  skipModifiers(id: number): number {
    for (let depth = 0; depth < MAX_RESOLVE_DEPTH; depth++) {
      const k = this.kind(id);
      if (k !== BtfKind.CONST && k !== BtfKind.VOLATILE && k !== BtfKind.RESTRICT && k !== BtfKind.TYPE_TAG) {
        return id;
      }
      id = this.sizeType[id]!;
    }
    throw new BtfError(`modifier chain too long at [${id}]`, this.recordOffset(id), this.kindName(id));
  }

  /** Follows typedefs and modifiers down to the underlying type. */
  resolve(id: number): number {
    for (let depth = 0; depth < MAX_RESOLVE_DEPTH; depth++) {
      const k = this.kind(id);
      if (
        k !== BtfKind.CONST &&
        k !== BtfKind.VOLATILE &&
        k !== BtfKind.RESTRICT &&
        k !== BtfKind.TYPE_TAG &&
        k !== BtfKind.TYPEDEF
      ) {
        return id;
      }
      id = this.sizeType[id]!;
    }
    throw new BtfError(
      `typedef/modifier chain too long at [${id}]`,
      this.recordOffset(id),
      this.kindName(id),
    );
  }

  /** Pointer size guessed like libbpf: from the first 4/8-byte INT spelled as `long`; 8 if none. */
  get pointerSize(): number {
    if (this.ptrSz === 0) {
      if (this.base) this.ptrSz = this.base.pointerSize;
      else {
        this.ptrSz = 8;
        for (let id = 1; id < this.length; id++) {
          if (this.kind(id) !== BtfKind.INT) continue;
          const size = this.sizeType[id]!;
          if ((size === 4 || size === 8) && LONG_NAMES.has(this.name(id))) {
            this.ptrSz = size;
            break;
          }
        }
      }
    }
    return this.ptrSz;
  }

  /** Size in bytes like libbpf's btf__resolve_size; throws for sizeless kinds (FUNC, FWD, void...). */
  sizeof(id: number): number {
    let nelems = 1;
    let type = id;
    for (let depth = 0; depth < MAX_RESOLVE_DEPTH; depth++) {
      const k = this.kind(type);
      switch (k) {
        case BtfKind.INT:
        case BtfKind.STRUCT:
        case BtfKind.UNION:
        case BtfKind.ENUM:
        case BtfKind.ENUM64:
        case BtfKind.DATASEC:
        case BtfKind.FLOAT:
          return this.checkedSize(nelems * this.sizeType[type]!, id);
        case BtfKind.PTR:
          return this.checkedSize(nelems * this.pointerSize, id);
        case BtfKind.TYPEDEF:
        case BtfKind.VOLATILE:
        case BtfKind.CONST:
        case BtfKind.RESTRICT:
        case BtfKind.VAR:
        case BtfKind.DECL_TAG:
        case BtfKind.TYPE_TAG:
          type = this.sizeType[type]!;
          break;
        case BtfKind.ARRAY:
          nelems *= this.tail(type, 2);
          if (nelems > 0xffffffff)
            throw new BtfError(`array size overflow in [${id}]`, this.recordOffset(id), "ARRAY");
          type = this.tail(type, 0);
          break;
        default:
          throw new BtfError(
            `type [${id}] has no size`,
            id === 0 ? -1 : this.recordOffset(id),
            this.kindName(type),
          );
      }
    }
    throw new BtfError(`type chain too long at [${id}]`, this.recordOffset(id), this.kindName(id));
  }

  private checkedSize(size: number, id: number): number {
    if (size > 0xffffffff)
      throw new BtfError(`size overflow in [${id}]`, this.recordOffset(id), this.kindName(id));
    return size;
  }

  /** Alignment like libbpf's btf__align_of: 1 for packed structs, throws for sizeless kinds. */
  alignof(id: number, depth = 0): number {
    if (depth > MAX_RESOLVE_DEPTH) {
      throw new BtfError(`type chain too long at [${id}]`, this.recordOffset(id), this.kindName(id));
    }
    const k = this.kind(id);
    switch (k) {
      case BtfKind.INT:
      case BtfKind.ENUM:
      case BtfKind.ENUM64:
      case BtfKind.FLOAT:
        return Math.min(this.pointerSize, this.sizeType[id]!);
      case BtfKind.PTR:
        return this.pointerSize;
      case BtfKind.TYPEDEF:
      case BtfKind.VOLATILE:
      case BtfKind.CONST:
      case BtfKind.RESTRICT:
      case BtfKind.TYPE_TAG:
        return this.alignof(this.sizeType[id]!, depth + 1);
      case BtfKind.ARRAY:
        return this.alignof(this.tail(id, 0), depth + 1);
      case BtfKind.STRUCT:
      case BtfKind.UNION: {
        const vlen = this.vlen(id);
        let maxAlign = 1;
        for (let i = 0; i < vlen; i++) {
          const align = this.alignof(this.memberType(id, i), depth + 1);
          if (align > maxAlign) maxAlign = align;
          if (this.memberBitfieldSize(id, i) === 0 && this.tail(id, i * 3 + 2) % (8 * align) !== 0) return 1;
        }
        if (this.sizeType[id]! % maxAlign !== 0) return 1;
        return maxAlign;
      }
      default:
        throw new BtfError(
          `type [${id}] has no alignment`,
          id === 0 ? -1 : this.recordOffset(id),
          this.kindName(id),
        );
    }
  }

  /** Ids of every type named `name` (optionally of one kind), ascending. Index built on first use. */
  findAll(name: string, kind?: number): number[] {
    if (!this.nameIndex) {
      const index = new Map<string, number[]>();
      for (let id = 1; id < this.length; id++) {
        const off = this.nameOffs[id]!;
        if (off === 0) continue;
        const n = this.str(off);
        const list = index.get(n);
        if (list) list.push(id);
        else index.set(n, [id]);
      }
      this.nameIndex = index;
    }
    const ids = this.nameIndex.get(name) ?? [];
    return kind === undefined ? ids.slice() : ids.filter((id) => this.kind(id) === kind);
  }

  /** First type named `name` (optionally of one kind), or undefined. */
  find(name: string, kind?: number): number | undefined {
    return this.findAll(name, kind)[0];
  }

  /** DECL_TAG ids that tag `id`. */
  declTags(id: number): number[] {
    if (!this.declTagIndex) {
      const index = new Map<number, number[]>();
      for (let t = 1; t < this.length; t++) {
        if (this.kind(t) !== BtfKind.DECL_TAG) continue;
        const target = this.sizeType[t]!;
        const list = index.get(target);
        if (list) list.push(t);
        else index.set(target, [t]);
      }
      this.declTagIndex = index;
    }
    return this.declTagIndex.get(id) ?? [];
  }

  /** FUNC ids carrying a whole-entity `bpf_kfunc` decl tag, in id order (kfunc declarations). */
  kfuncs(): number[] {
    const out: number[] = [];
    for (let t = 1; t < this.length; t++) {
      if (this.kind(t) !== BtfKind.DECL_TAG || this.tailSigned(t, 0) !== -1) continue;
      const target = this.sizeType[t]!;
      if (this.kind(target) === BtfKind.FUNC && this.name(t) === "bpf_kfunc") out.push(target);
    }
    return out;
  }

  /**
   * Finds a member by name in a STRUCT/UNION, looking through anonymous members like C does.
   * Bit offsets are absolute from the start of `id`.
   */
  findMember(id: number, name: string): BtfFieldLocation | undefined {
    const sid = this.resolve(id);
    const k = this.kind(sid);
    if (k !== BtfKind.STRUCT && k !== BtfKind.UNION) return undefined;
    const vlen = this.vlen(sid);
    for (let i = 0; i < vlen; i++) {
      const mname = this.memberName(sid, i);
      const type = this.memberType(sid, i);
      const bitOffset = this.memberBitOffset(sid, i);
      if (mname === name) {
        return { path: [i], type, bitOffset, bitfieldSize: this.memberBitfieldSize(sid, i) };
      }
      if (mname === "") {
        const inner = this.findMember(type, name);
        if (inner) return { ...inner, path: [i, ...inner.path], bitOffset: bitOffset + inner.bitOffset };
      }
    }
    return undefined;
  }

  /** Iterates ids of this blob's own types (for a split BTF: only the module's). */
  *ownIds(): IterableIterator<number> {
    for (let id = this.startId; id < this.length; id++) yield id;
  }
}
