import type { Btf } from "./btf.js";
import { BtfError } from "./error.js";
import { BtfKind } from "./kinds.js";

const _ORDER_NONE = 0;
const ORDERING = 1;
const ORDERED = 2;
const EMIT_NONE = 0;
const EMITTING = 1;
const EMITTED = 2;

/** Compiler built-ins that BTF names as INTs but C headers do not declare (libbpf adds typedefs). */
const MISSING_ALIASES = new Map([
  ["__Poly8_t", "unsigned char"],
  ["__Poly16_t", "unsigned short"],
  ["__Poly64_t", "unsigned long long"],
  ["__Poly128_t", "unsigned __int128"],
]);

/** libbpf caps indentation at 13 tabs (its prefix string is that long). */
const TABS = "\t".repeat(13);

/** Deepest order/emit/declaration recursion accepted before the BTF is declared cyclic. */
const MAX_NESTING = 1000;
/** Most filler lines one gap may take (a 128 KB hole); beyond that the BTF is treated as corrupt. */
const MAX_PAD_LINES = 1 << 14;
/** Filler lines a whole dump may print (vmlinux needs ~5,000). */
const MAX_TOTAL_PAD_LINES = 1 << 20;
/** Filler lines a whole dump may print (vmlinux needs ~5,000). */
const _MAX_TOTAL_PAD_LINES = 1 << 20;
function pfx(lvl: number): string {
  return lvl >= TABS.length ? TABS : TABS.slice(0, lvl);
}

export interface DumpCOptions {
  /** Dump only these ids and what they need (bpftool's `root_id`); default: every type in id order. */
  rootIds?: readonly number[];
  /**
   * Upstream bpftool 7.6+ layout instead of Debian 7.1's: types sorted (spec btf.md 6.11), the
   * `__ksym`/`__weak`/`__bpf_fastcall` macros, a kfunc prototype block, enum `mode(byte|word)`
   * attributes and raw kflag type tags.
   */
  sort?: boolean;
}

export interface CDumperOptions {
  /** libbpf 1.5+/upstream details: enum mode attributes, kflag TYPE_TAG as a raw attribute. */
  upstream?: boolean;
}

/**
 * A C-header emitter that follows libbpf 1.1's btf_dump ordering: types come out in id order, each
 * preceded by whatever it needs (strong dependencies are defined first, pointer-only dependencies
 * get forward declarations), with `___N` suffixes for colliding names. State persists across
 * `dumpType` calls, so nothing is emitted twice.
 */
export class CDumper {
  private readonly order: Uint8Array;
  private readonly emit: Uint8Array;
  private readonly fwdEmitted: Uint8Array;
  private readonly referenced: Uint8Array;
  private readonly nameResolved: Uint8Array;
  private readonly cachedNames: (string | undefined)[];
  private readonly typeNames = new Map<string, number>();
  private readonly identNames = new Map<string, number>();
  private queue: number[] = [];
  /** Recursion depth of order/emit: well-formed BTF stays shallow, cyclic garbage must not overflow. */
  private depth = 0;
  private padBudget = MAX_TOTAL_PAD_LINES;
  /**
   * Declarations and bodies one dump may print. Well-formed BTF prints each member/param once or
   * a few times; corrupt BTF can reference one anonymous type from many places and grow the text
   * exponentially.
   */
  private workBudget: number;
  /** btf.alignof per id (-1 = not computed): structs are asked once per member otherwise. */
  private readonly alignCache: Int32Array;
  private readonly declStack: number[] = [];
  private readonly ptrBits: number;
  private out = new TextSink();

  private readonly upstream: boolean;

  constructor(
    private readonly btf: Btf,
    options: CDumperOptions = {},
  ) {
    this.upstream = options.upstream ?? false;
    const n = btf.length;
    this.order = new Uint8Array(n);
    this.emit = new Uint8Array(n);
    this.fwdEmitted = new Uint8Array(n);
    this.referenced = new Uint8Array(n);
    this.nameResolved = new Uint8Array(n);
    this.cachedNames = new Array(n);
    this.alignCache = new Int32Array(n).fill(-1);
    this.order[0] = ORDERED;
    this.emit[0] = EMITTED;
    this.ptrBits = btf.pointerSize * 8;
    let vlens = 0;
    for (let id = 1; id < n; id++) vlens += btf.vlen(id);
    this.workBudget = 16 * (n + vlens) + 100_000;
    this.markReferenced();
  }

  private markReferenced(): void {
    const btf = this.btf;
    const ref = this.referenced;
    for (let id = 1; id < btf.length; id++) {
      const vlen = btf.vlen(id);
      switch (btf.kind(id)) {
        case BtfKind.VOLATILE:
        case BtfKind.CONST:
        case BtfKind.RESTRICT:
        case BtfKind.PTR:
        case BtfKind.TYPEDEF:
        case BtfKind.FUNC:
        case BtfKind.VAR:
        case BtfKind.DECL_TAG:
        case BtfKind.TYPE_TAG:
          ref[btf.sizeOrType(id)] = 1;
          break;
        case BtfKind.ARRAY:
          ref[btf.tail(id, 1)] = 1;
          ref[btf.tail(id, 0)] = 1;
          break;
        case BtfKind.STRUCT:
        case BtfKind.UNION:
          for (let i = 0; i < vlen; i++) ref[btf.memberType(id, i)] = 1;
          break;
        case BtfKind.FUNC_PROTO:
          for (let i = 0; i < vlen; i++) ref[btf.paramType(id, i)] = 1;
          break;
        case BtfKind.DATASEC:
          for (let i = 0; i < vlen; i++) ref[btf.tail(id, i * 3)] = 1;
          break;
        default:
          break;
      }
    }
  }

  /** Emits `id` and everything it depends on that was not emitted yet; returns the new text. */
  dumpType(id: number): string {
    this.appendType(id);
    return this.flush();
  }

  /** Like dumpType, but leaves the text in the buffer (one join for a whole dump). */
  appendType(id: number): void {
    if (id < 0 || id >= this.btf.length) throw new BtfError(`type id ${id} out of range`, -1, "type");
    this.queue = [];
    this.orderType(id, false);
    for (const q of this.queue) this.emitType(q, 0);
  }

  /** Appends raw text to the buffer. */
  append(text: string): void {
    this.out.push(text);
  }

  /** A C declaration of type `id` named `name` (libbpf's btf_dump__emit_type_decl), e.g. for prototypes. */
  typeDecl(id: number, name: string): string {
    this.emitTypeDecl(id, name, 0);
    return this.flush();
  }

  /** Returns and clears the buffered text. */
  flush(): string {
    const text = this.out.text;
    this.out.text = "";
    return text;
  }

  private orderType(id: number, viaPtr: boolean): number {
    if (++this.depth > MAX_NESTING) this.tooDeep(id);
    try {
      return this.orderTypeInner(id, viaPtr);
    } finally {
      this.depth--;
    }
  }

  private tooDeep(id: number): never {
    this.depth = 0;
    throw new BtfError(
      `type graph nests too deep (cycle?) at [${id}]`,
      this.btf.recordOffset(id),
      this.btf.kindName(id),
    );
  }

  private orderTypeInner(id: number, viaPtr: boolean): number {
    const btf = this.btf;
    const state = this.order[id]!;
    if (state === ORDERED) return 1;
    const kind = btf.kind(id);
    if (state === ORDERING) {
      if ((kind === BtfKind.STRUCT || kind === BtfKind.UNION) && viaPtr && btf.nameOff(id) !== 0) return 0;
      throw new BtfError(`unsatisfiable type cycle, id:[${id}]`, btf.recordOffset(id), btf.kindName(id));
    }
    switch (kind) {
      case BtfKind.INT:
      case BtfKind.FLOAT:
        this.order[id] = ORDERED;
        return 0;
      case BtfKind.PTR: {
        const r = this.orderType(btf.sizeOrType(id), true);
        this.order[id] = ORDERED;
        return r;
      }
      case BtfKind.ARRAY:
        return this.orderType(btf.tail(id, 0), false);
      case BtfKind.STRUCT:
      case BtfKind.UNION: {
        if (viaPtr && btf.nameOff(id) !== 0) return 0;
        this.order[id] = ORDERING;
        const vlen = btf.vlen(id);
        for (let i = 0; i < vlen; i++) this.orderType(btf.memberType(id, i), false);
        if (btf.nameOff(id) !== 0) this.queue.push(id);
        this.order[id] = ORDERED;
        return 1;
      }
      case BtfKind.ENUM:
      case BtfKind.ENUM64:
      case BtfKind.FWD:
        if (btf.nameOff(id) !== 0 || !this.referenced[id]) this.queue.push(id);
        this.order[id] = ORDERED;
        return 1;
      case BtfKind.TYPEDEF: {
        const strong = this.orderType(btf.sizeOrType(id), viaPtr);
        if (viaPtr && !strong) return 0;
        this.queue.push(id);
        this.order[id] = ORDERED;
        return 1;
      }
      case BtfKind.VOLATILE:
      case BtfKind.CONST:
      case BtfKind.RESTRICT:
      case BtfKind.TYPE_TAG:
        return this.orderType(btf.sizeOrType(id), viaPtr);
      case BtfKind.FUNC_PROTO: {
        let strong = this.orderType(btf.sizeOrType(id), viaPtr) > 0;
        const vlen = btf.vlen(id);
        for (let i = 0; i < vlen; i++) if (this.orderType(btf.paramType(id, i), viaPtr) > 0) strong = true;
        return strong ? 1 : 0;
      }
      case BtfKind.FUNC:
      case BtfKind.VAR:
      case BtfKind.DATASEC:
      case BtfKind.DECL_TAG:
        this.order[id] = ORDERED;
        return 0;
      default:
        throw new BtfError(`unexpected kind ${kind} of [${id}]`, btf.recordOffset(id), btf.kindName(id));
    }
  }

  private isBlacklisted(id: number): boolean {
    return this.btf.nameOff(id) !== 0 && this.btf.name(id) === "__builtin_va_list";
  }

  private emitType(id: number, contId: number): void {
    if (++this.depth > MAX_NESTING) this.tooDeep(id);
    try {
      this.emitTypeInner(id, contId);
    } finally {
      this.depth--;
    }
  }

  private emitTypeInner(id: number, contId: number): void {
    const btf = this.btf;
    const state = this.emit[id]!;
    if (state === EMITTED) return;
    const kind = btf.kind(id);
    const out = this.out;
    if (state === EMITTING) {
      if (this.fwdEmitted[id]) return;
      if (kind === BtfKind.STRUCT || kind === BtfKind.UNION) {
        if (id === contId) return;
        if (btf.nameOff(id) === 0) return; // anonymous struct/union loop: libbpf only warns
        this.emitStructFwd(id);
        out.push(";\n\n");
        this.fwdEmitted[id] = 1;
      } else if (kind === BtfKind.TYPEDEF) {
        if (!this.isBlacklisted(id)) {
          this.emitTypedefDef(id, 0);
          out.push(";\n\n");
        }
        this.fwdEmitted[id] = 1;
      }
      return;
    }
    switch (kind) {
      case BtfKind.INT: {
        const name = this.typeName(id);
        const alias = MISSING_ALIASES.get(name);
        if (alias) out.push(`typedef ${alias} ${name};\n\n`);
        this.emit[id] = EMITTED;
        break;
      }
      case BtfKind.ENUM:
      case BtfKind.ENUM64:
        if (contId === 0) {
          this.emitEnumDef(id, 0);
          out.push(";\n\n");
        }
        this.emit[id] = EMITTED;
        break;
      case BtfKind.PTR:
      case BtfKind.VOLATILE:
      case BtfKind.CONST:
      case BtfKind.RESTRICT:
      case BtfKind.TYPE_TAG:
        this.emitType(btf.sizeOrType(id), contId);
        break;
      case BtfKind.ARRAY:
        this.emitType(btf.tail(id, 0), contId);
        break;
      case BtfKind.FWD:
        this.emitFwdDef(id);
        out.push(";\n\n");
        this.emit[id] = EMITTED;
        break;
      case BtfKind.TYPEDEF:
        this.emit[id] = EMITTING;
        this.emitType(btf.sizeOrType(id), id);
        if (!this.fwdEmitted[id] && !this.isBlacklisted(id)) {
          this.emitTypedefDef(id, 0);
          out.push(";\n\n");
        }
        this.emit[id] = EMITTED;
        break;
      case BtfKind.STRUCT:
      case BtfKind.UNION: {
        this.emit[id] = EMITTING;
        const anon = btf.nameOff(id) === 0;
        if (contId === 0 || anon) {
          const newCont = anon ? contId : id;
          const vlen = btf.vlen(id);
          for (let i = 0; i < vlen; i++) this.emitType(btf.memberType(id, i), newCont);
        } else if (!this.fwdEmitted[id] && id !== contId) {
          this.emitStructFwd(id);
          out.push(";\n\n");
          this.fwdEmitted[id] = 1;
        }
        if (contId === 0) {
          this.emitStructDef(id, 0);
          out.push(";\n\n");
          this.emit[id] = EMITTED;
        } else {
          this.emit[id] = EMIT_NONE;
        }
        break;
      }
      case BtfKind.FUNC_PROTO: {
        this.emitType(btf.sizeOrType(id), contId);
        const vlen = btf.vlen(id);
        for (let i = 0; i < vlen; i++) this.emitType(btf.paramType(id, i), contId);
        break;
      }
      default:
        break;
    }
  }

  /** Counts one more use of `name` in a namespace and returns the count. */
  private static nameDups(map: Map<string, number>, name: string): number {
    const n = (map.get(name) ?? 0) + 1;
    map.set(name, n);
    return n;
  }

  private resolveName(id: number, map: Map<string, number>): string {
    const btf = this.btf;
    if (btf.nameOff(id) === 0) return "";
    const orig = btf.name(id);
    if (this.nameResolved[id]) return this.cachedNames[id] ?? orig;
    const kind = btf.kind(id);
    if (kind === BtfKind.FWD || (kind === BtfKind.ENUM && btf.vlen(id) === 0)) {
      this.nameResolved[id] = 1;
      return orig;
    }
    const dups = CDumper.nameDups(map, orig);
    if (dups > 1) this.cachedNames[id] = `${orig}___${dups}`;
    this.nameResolved[id] = 1;
    return this.cachedNames[id] ?? orig;
  }

  private typeName(id: number): string {
    return this.resolveName(id, this.typeNames);
  }

  private identName(id: number): string {
    return this.resolveName(id, this.identNames);
  }

  private emitStructFwd(id: number): void {
    const btf = this.btf;
    const kw = btf.kind(id) === BtfKind.STRUCT ? "struct" : "union";
    this.out.push(`${kw}${btf.nameOff(id) !== 0 ? " " : ""}${this.typeName(id)}`);
  }

  private emitFwdDef(id: number): void {
    this.out.push(`${this.btf.kindFlag(id) ? "union" : "struct"} ${this.typeName(id)}`);
  }

  private emitTypedefDef(id: number, lvl: number): void {
    const name = this.identName(id);
    const target = this.btf.sizeOrType(id);
    if (target === 0 && name === "__gnuc_va_list") {
      this.out.push("typedef __builtin_va_list __gnuc_va_list");
      return;
    }
    this.out.push("typedef ");
    this.emitTypeDecl(target, name, lvl);
  }

  private emitEnumDef(id: number, lvl: number): void {
    const btf = this.btf;
    const out = this.out;
    const vlen = btf.vlen(id);
    out.push(`enum${btf.nameOff(id) !== 0 ? " " : ""}${this.typeName(id)}`);
    if (!vlen) return;
    out.push(" {");
    const signed = btf.kindFlag(id);
    const is64 = btf.kind(id) === BtfKind.ENUM64;
    const tabs = pfx(lvl + 1);
    for (let i = 0; i < vlen; i++) {
      const name = btf.str(btf.enumValueNameOff(id, i));
      const dups = CDumper.nameDups(this.identNames, name);
      let val: string;
      if (is64) val = `${btf.enumValue(id, i)}${signed ? "LL" : "ULL"}`;
      else {
        const raw = btf.tail(id, i * 2 + 1);
        val = String(signed ? raw | 0 : raw);
      }
      out.push(dups > 1 ? `\n${tabs}${name}___${dups} = ${val},` : `\n${tabs}${name} = ${val},`);
    }
    out.push(`\n${pfx(lvl)}}`);
    if (!this.upstream) return;
    const size = btf.sizeOrType(id);
    if (size === 1) out.push(" __attribute__((mode(byte)))");
    else if (size === 8 && this.ptrBits === 64) {
      let wordMode = true;
      if (is64)
        for (let i = 0; i < vlen && wordMode; i++) if (btf.tail(id, i * 3 + 2) !== 0) wordMode = false;
      if (wordMode) out.push(" __attribute__((mode(word)))");
    }
  }

  private alignOr0(id: number): number {
    let a = this.alignCache[id]!;
    if (a < 0) {
      try {
        a = this.btf.alignof(id);
      } catch {
        a = 0;
      }
      this.alignCache[id] = a;
    }
    return a;
  }

  private isStructPacked(id: number): boolean {
    const btf = this.btf;
    const vlen = btf.vlen(id);
    let maxAlign = 1;
    for (let i = 0; i < vlen; i++) {
      const align = this.alignOr0(btf.memberType(id, i));
      if (align && btf.memberBitfieldSize(id, i) === 0 && btf.tail(id, i * 3 + 2) % (8 * align) !== 0)
        return true;
      if (align > maxAlign) maxAlign = align;
    }
    return btf.sizeOrType(id) % maxAlign !== 0;
  }

  private emitBitPadding(
    cur: number,
    next: number,
    nextAlign: number,
    inBitfield: boolean,
    lvl: number,
  ): void {
    if (cur >= next) return;
    // Corrupt sizes/offsets would otherwise print billions of `long: 64;` lines.
    const lines = (next - cur) / this.ptrBits;
    this.padBudget -= lines;
    if (lines > MAX_PAD_LINES || this.padBudget < 0) {
      throw new BtfError(`padding of ${next - cur} bits is too large to print`, -1, "STRUCT");
    }
    const pads: Array<[string, number]> = [
      ["long", this.ptrBits],
      ["int", 32],
      ["short", 16],
      ["char", 8],
    ];
    let padBits = 0;
    let padType = "";
    let newOff = 0;
    for (const [name, bits] of pads) {
      padBits = bits;
      padType = name;
      newOff = roundup(cur, bits);
      if (newOff <= next) break;
    }
    const out = this.out;
    const tabs = pfx(lvl);
    if (newOff > cur && newOff <= next) {
      if (
        inBitfield ||
        (newOff === next && roundup(cur, nextAlign * 8) !== newOff) ||
        (newOff !== next && next - newOff <= newOff - cur)
      ) {
        out.push(`\n${tabs}${padType}: ${inBitfield ? newOff - cur : 0};`);
      }
      cur = newOff;
    }
    while (cur !== next) {
      const bits = Math.min(next - cur, padBits);
      if (bits === padBits) {
        out.push(`\n${tabs}${padType}: ${padBits};`);
        cur += bits;
        continue;
      }
      for (let i = pads.length - 1; i >= 0; i--) {
        const [name, pb] = pads[i]!;
        padType = name;
        padBits = pb;
        if (pb < bits) continue;
        out.push(`\n${tabs}${name}: ${bits};`);
        cur += bits;
        break;
      }
    }
  }

  private emitStructDef(id: number, lvl: number): void {
    this.spend(id);
    const btf = this.btf;
    const out = this.out;
    const isStruct = btf.kind(id) === BtfKind.STRUCT;
    const vlen = btf.vlen(id);
    const packed = isStruct ? this.isStructPacked(id) : false;
    out.push(`${isStruct ? "struct" : "union"}${btf.nameOff(id) !== 0 ? " " : ""}${this.typeName(id)} {`);
    let off = 0;
    let prevBitfield = false;
    const tabs = pfx(lvl + 1);
    for (let i = 0; i < vlen; i++) {
      const mtype = btf.memberType(id, i);
      const fname = btf.str(btf.memberNameOff(id, i));
      let msz = btf.memberBitfieldSize(id, i);
      const moff = btf.memberBitOffset(id, i);
      const align = packed ? 1 : this.alignOr0(mtype);
      this.emitBitPadding(off, moff, align, prevBitfield && msz !== 0, lvl + 1);
      out.push(`\n${tabs}`);
      this.emitTypeDecl(mtype, fname, lvl + 1);
      if (msz) {
        out.push(`: ${msz}`);
        off = moff + msz;
        prevBitfield = true;
      } else {
        let size = 0;
        try {
          size = btf.sizeof(mtype);
        } catch {
          size = 0;
        }
        msz = size;
        off = moff + msz * 8;
        prevBitfield = false;
      }
      out.push(";");
    }
    if (isStruct) {
      const align = packed ? 1 : this.alignOr0(id);
      this.emitBitPadding(off, btf.sizeOrType(id) * 8, align, false, lvl + 1);
    }
    if (vlen || btf.sizeOrType(id)) out.push(`\n${pfx(lvl)}}`);
    else out.push("}");
    if (packed) out.push(" __attribute__((packed))");
  }

  private spend(id: number): void {
    if (--this.workBudget < 0) {
      throw new BtfError(
        `type graph expands too much to print (corrupt?) at [${id}]`,
        this.btf.recordOffset(id),
        this.btf.kindName(id),
      );
    }
  }

  private emitTypeDecl(id: number, fname: string, lvl: number): void {
    this.spend(id);
    if (++this.depth > MAX_NESTING) this.tooDeep(id);
    try {
      this.emitTypeDeclInner(id, fname, lvl);
    } finally {
      this.depth--;
    }
  }

  private emitTypeDeclInner(id: number, fname: string, lvl: number): void {
    const btf = this.btf;
    const stack = this.declStack;
    const start = stack.length;
    for (let depth = 0; ; depth++) {
      if (depth > 0xffff)
        throw new BtfError(`declaration chain loops at [${id}]`, btf.recordOffset(id), btf.kindName(id));
      stack.push(id);
      if (id === 0) break;
      const kind = btf.kind(id);
      if (
        kind === BtfKind.PTR ||
        kind === BtfKind.VOLATILE ||
        kind === BtfKind.CONST ||
        kind === BtfKind.RESTRICT ||
        kind === BtfKind.FUNC_PROTO ||
        kind === BtfKind.TYPE_TAG
      ) {
        id = btf.sizeOrType(id);
      } else if (kind === BtfKind.ARRAY) {
        id = btf.tail(id, 0);
      } else {
        break;
      }
    }
    // The frame is stack[start..]; it is consumed from the top as in libbpf's id_stack view.
    const frame = { base: start, cnt: stack.length - start };
    this.emitTypeChain(frame, fname, lvl);
    stack.length = start;
  }

  private emitMods(frame: Frame): void {
    const btf = this.btf;
    const stack = this.declStack;
    while (frame.cnt) {
      const id = stack[frame.base + frame.cnt - 1]!;
      const kind = btf.kind(id);
      if (kind === BtfKind.VOLATILE) this.out.push("volatile ");
      else if (kind === BtfKind.CONST) this.out.push("const ");
      else if (kind === BtfKind.RESTRICT) this.out.push("restrict ");
      else return;
      frame.cnt--;
    }
  }

  private dropMods(frame: Frame): void {
    const btf = this.btf;
    const stack = this.declStack;
    while (frame.cnt) {
      const id = stack[frame.base + frame.cnt - 1]!;
      const kind = id === 0 ? 0 : btf.kind(id);
      if (
        kind !== BtfKind.VOLATILE &&
        kind !== BtfKind.CONST &&
        kind !== BtfKind.RESTRICT &&
        kind !== BtfKind.TYPE_TAG
      ) {
        return;
      }
      frame.cnt--;
    }
  }

  private emitName(name: string, lastWasPtr: boolean): void {
    this.out.push(name !== "" && !lastWasPtr ? ` ${name}` : name);
  }

  private emitTypeChain(frame: Frame, fname: string, lvl: number): void {
    const btf = this.btf;
    const out = this.out;
    const stack = this.declStack;
    let lastWasPtr = true;
    while (frame.cnt) {
      const id = stack[frame.base + --frame.cnt]!;
      if (id === 0) {
        this.emitMods(frame);
        out.push("void");
        lastWasPtr = false;
        continue;
      }
      const kind = btf.kind(id);
      switch (kind) {
        case BtfKind.INT:
        case BtfKind.FLOAT:
          this.emitMods(frame);
          out.push(btf.name(id));
          break;
        case BtfKind.STRUCT:
        case BtfKind.UNION:
          this.emitMods(frame);
          if (btf.nameOff(id) === 0) this.emitStructDef(id, lvl);
          else this.emitStructFwd(id);
          break;
        case BtfKind.ENUM:
        case BtfKind.ENUM64:
          this.emitMods(frame);
          if (btf.nameOff(id) === 0) this.emitEnumDef(id, lvl);
          else out.push(`enum ${this.typeName(id)}`);
          break;
        case BtfKind.FWD:
          this.emitMods(frame);
          this.emitFwdDef(id);
          break;
        case BtfKind.TYPEDEF:
          this.emitMods(frame);
          out.push(this.identName(id));
          break;
        case BtfKind.PTR:
          out.push(lastWasPtr ? "*" : " *");
          break;
        case BtfKind.VOLATILE:
          out.push(" volatile");
          break;
        case BtfKind.CONST:
          out.push(" const");
          break;
        case BtfKind.RESTRICT:
          out.push(" restrict");
          break;
        case BtfKind.TYPE_TAG:
          this.emitMods(frame);
          if (this.upstream && btf.kindFlag(id)) out.push(` __attribute__((${btf.name(id)}))`);
          else out.push(` __attribute__((btf_type_tag("${btf.name(id)}")))`);
          break;
        case BtfKind.ARRAY: {
          const nelems = btf.tail(id, 2);
          this.dropMods(frame);
          if (frame.cnt === 0) {
            this.emitName(fname, lastWasPtr);
            out.push(`[${nelems}]`);
            return;
          }
          const next = stack[frame.base + frame.cnt - 1]!;
          const multidim = next !== 0 && btf.kind(next) === BtfKind.ARRAY;
          if (fname !== "" && !lastWasPtr) out.push(" ");
          if (!multidim) out.push("(");
          this.emitTypeChain(frame, fname, lvl);
          if (!multidim) out.push(")");
          out.push(`[${nelems}]`);
          return;
        }
        case BtfKind.FUNC_PROTO: {
          const vlen = btf.vlen(id);
          this.dropMods(frame);
          if (frame.cnt) {
            out.push(" (");
            this.emitTypeChain(frame, fname, lvl);
            out.push(")");
          } else {
            this.emitName(fname, lastWasPtr);
          }
          out.push("(");
          if (vlen === 0 || (vlen === 1 && btf.paramType(id, 0) === 0)) {
            out.push("void)");
            return;
          }
          for (let i = 0; i < vlen; i++) {
            if (i > 0) out.push(", ");
            const ptype = btf.paramType(id, i);
            if (i === vlen - 1 && ptype === 0) {
              out.push("...");
              break;
            }
            this.emitTypeDecl(ptype, btf.str(btf.paramNameOff(id, i)), lvl);
          }
          out.push(")");
          return;
        }
        default:
          return;
      }
      lastWasPtr = kind === BtfKind.PTR;
    }
    this.emitName(fname, lastWasPtr);
  }
}

/** Appends by string concatenation: V8 builds a rope, far less garbage than joining a huge array. */
class TextSink {
  text = "";
  push(piece: string): void {
    this.text += piece;
  }
}

interface Frame {
  base: number;
  cnt: number;
}

function roundup(x: number, y: number): number {
  return Math.ceil(x / y) * y;
}

const HEADER =
  "#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n\n" +
  "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n" +
  "#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n" +
  "#endif\n\n";
const UPSTREAM_MACROS =
  '#ifndef __ksym\n#define __ksym __attribute__((section(".ksyms")))\n#endif\n\n' +
  "#ifndef __weak\n#define __weak __attribute__((weak))\n#endif\n\n" +
  "#ifndef __bpf_fastcall\n#if __has_attribute(bpf_fastcall)\n" +
  "#define __bpf_fastcall __attribute__((bpf_fastcall))\n#else\n#define __bpf_fastcall\n#endif\n#endif\n\n";
const FOOTER =
  "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n#endif /* __VMLINUX_H__ */\n";

/**
 * `bpftool btf dump file F format c`. By default exactly as Debian's bpftool 7.1 (libbpf 1.1) prints
 * it: the vmlinux.h skeleton around every type in id order (a split BTF dumps its base's types too).
 * With `sort`, the upstream 7.6+ layout (see DumpCOptions).
 */
export function dumpC(btf: Btf, options: DumpCOptions = {}): string {
  const upstream = options.sort ?? false;
  const dumper = new CDumper(btf, { upstream });
  dumper.append(HEADER);
  if (upstream) dumper.append(UPSTREAM_MACROS);
  const roots = options.rootIds ?? [];
  if (roots.length > 0) {
    for (const id of roots) dumper.appendType(id);
  } else if (upstream) {
    for (const id of sortedTypeIds(btf)) dumper.appendType(id);
  } else {
    for (let id = 1; id < btf.length; id++) dumper.appendType(id);
  }
  let text = dumper.flush();
  if (upstream && roots.length === 0) text += kfuncBlock(btf, dumper);
  return text + FOOTER;
}

/** Upstream's kfunc block: `extern <proto> __weak __ksym;` per bpf_kfunc-tagged FUNC, sorted by name. */
function kfuncBlock(btf: Btf, dumper: CDumper): string {
  const fastcall = new Set<number>();
  const kfuncs: Array<{ id: number; name: string }> = [];
  for (let t = 1; t < btf.length; t++) {
    if (btf.kind(t) !== BtfKind.DECL_TAG || btf.tailSigned(t, 0) !== -1) continue;
    const target = btf.sizeOrType(t);
    if (btf.kind(target) !== BtfKind.FUNC) continue;
    const tag = btf.name(t);
    if (tag === "bpf_kfunc") kfuncs.push({ id: target, name: btf.name(target) });
    else if (tag === "bpf_fastcall") fastcall.add(target);
  }
  kfuncs.sort((a, b) => compareBytes(a.name, b.name) || a.id - b.id);
  const lines = ["\n/* BPF kfuncs */\n#ifndef BPF_NO_KFUNC_PROTOTYPES\n"];
  for (const { id, name } of kfuncs) {
    const prefix = fastcall.has(id) ? "__bpf_fastcall " : "";
    lines.push(`extern ${prefix}${dumper.typeDecl(btf.sizeOrType(id), name)} __weak __ksym;\n`);
  }
  lines.push("#endif\n\n");
  return lines.join("");
}

/** strcmp on the UTF-8 bytes (names are ASCII in practice, where this is plain code-unit order). */
function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A u64 as two u32 halves: upstream's hashes are size_t arithmetic modulo 2^64, and BigInt is far
 * too slow for the ~1M steps a vmlinux sort needs.
 */
interface U64 {
  hi: number;
  lo: number;
}

/** h * 31 + v (mod 2^64). */
function mix(h: U64, v: U64): U64 {
  const lo = h.lo * 31 + v.lo;
  const carry = Math.floor(lo / 0x100000000);
  return { hi: (Math.imul(h.hi, 31) + v.hi + carry) >>> 0, lo: lo >>> 0 };
}

const ZERO: U64 = { hi: 0, lo: 0 };
const utf8 = new TextEncoder();

function strHash(name: string): U64 {
  let h = ZERO;
  const bytes = /^\p{ASCII}*$/u.test(name) ? null : utf8.encode(name);
  const n = bytes ? bytes.length : name.length;
  for (let i = 0; i < n; i++) {
    const c = bytes ? bytes[i]! : name.charCodeAt(i);
    // char is signed on x86-64: bytes >= 0x80 sign-extend to a 64-bit negative value.
    h = mix(h, c >= 0x80 ? { hi: 0xffffffff, lo: (c - 0x100) >>> 0 } : { hi: 0, lo: c });
  }
  return h;
}

/**
 * Upstream bpftool's sort order for `format c` (spec btf.md 6.11): rank, then the name the type
 * finally names, then its own name, then a structural hash, then id.
 */
export function sortedTypeIds(btf: Btf): number[] {
  const n = btf.length;
  const rank = new Int32Array(n);
  const sortName: string[] = new Array(n);
  const ownName: string[] = new Array(n);
  const hashHi = new Uint32Array(n);
  const hashLo = new Uint32Array(n);
  const strHashes = new Map<number, U64>();
  const nameHash = (h: U64, off: number): U64 => {
    if (off === 0) return h;
    let sh = strHashes.get(off);
    if (sh === undefined) {
      sh = strHash(btf.str(off));
      strHashes.set(off, sh);
    }
    return mix(h, sh);
  };
  const shallow = new Map<number, U64>();
  const typeRank = (id: number, named: boolean): number => {
    for (let depth = 0; depth < 64; depth++) {
      if (id !== 0 && btf.nameOff(id) !== 0) named = true;
      const kind = id === 0 ? 0 : btf.kind(id);
      switch (kind) {
        case BtfKind.ENUM:
        case BtfKind.ENUM64:
          return named ? 1 : 0;
        case BtfKind.INT:
        case BtfKind.FLOAT:
          return 2;
        case BtfKind.STRUCT:
        case BtfKind.UNION:
          return named ? 3 : 10;
        case BtfKind.FUNC_PROTO:
          return named ? 4 : 10;
        case BtfKind.ARRAY:
          if (!named) return 10;
          id = btf.tail(id, 0);
          break;
        case BtfKind.TYPE_TAG:
        case BtfKind.CONST:
        case BtfKind.PTR:
        case BtfKind.VOLATILE:
        case BtfKind.RESTRICT:
        case BtfKind.TYPEDEF:
        case BtfKind.DECL_TAG:
          if (!named) return 10;
          id = btf.sizeOrType(id);
          break;
        default:
          return 10;
      }
    }
    throw new BtfError(`type chain too long at [${id}]`, btf.recordOffset(id), btf.kindName(id));
  };
  const typeSortName = (id: number, fromRef: boolean): string => {
    for (let depth = 0; depth < 64; depth++) {
      if (id === 0) return "";
      const kind = btf.kind(id);
      switch (kind) {
        case BtfKind.ENUM:
        case BtfKind.ENUM64: {
          let off = btf.nameOff(id);
          if (!fromRef && off === 0 && btf.vlen(id) > 0) off = btf.enumValueNameOff(id, 0);
          return btf.str(off);
        }
        case BtfKind.ARRAY:
          id = btf.tail(id, 0);
          fromRef = true;
          break;
        case BtfKind.TYPE_TAG:
        case BtfKind.CONST:
        case BtfKind.PTR:
        case BtfKind.VOLATILE:
        case BtfKind.RESTRICT:
        case BtfKind.TYPEDEF:
        case BtfKind.DECL_TAG:
          id = btf.sizeOrType(id);
          fromRef = true;
          break;
        default:
          return btf.name(id);
      }
    }
    throw new BtfError(`type chain too long at [${id}]`, btf.recordOffset(id), btf.kindName(id));
  };
  const disambig = (id: number, members: boolean, depth: number): U64 => {
    if (depth > 64)
      throw new BtfError(`type chain too long at [${id}]`, btf.recordOffset(id), btf.kindName(id));
    if (!members) {
      const known = shallow.get(id);
      if (known !== undefined) return known;
    }
    let h = ZERO;
    if (id !== 0) {
      h = nameHash(h, btf.nameOff(id));
      const kind = btf.kind(id);
      const vlen = btf.vlen(id);
      switch (kind) {
        case BtfKind.ENUM:
        case BtfKind.ENUM64:
          for (let i = 0; i < vlen; i++) h = nameHash(h, btf.enumValueNameOff(id, i));
          break;
        case BtfKind.STRUCT:
        case BtfKind.UNION:
          if (!members) break;
          for (let i = 0; i < vlen; i++) {
            h = nameHash(h, btf.memberNameOff(id, i));
            h = mix(h, disambig(btf.memberType(id, i), false, depth + 1));
          }
          break;
        case BtfKind.TYPE_TAG:
        case BtfKind.CONST:
        case BtfKind.PTR:
        case BtfKind.VOLATILE:
        case BtfKind.RESTRICT:
        case BtfKind.TYPEDEF:
        case BtfKind.DECL_TAG:
          h = mix(h, disambig(btf.sizeOrType(id), members, depth + 1));
          break;
        case BtfKind.ARRAY:
          h = mix(h, { hi: 0, lo: btf.tail(id, 2) });
          h = mix(h, disambig(btf.tail(id, 0), members, depth + 1));
          break;
        default:
          break;
      }
    }
    if (!members) shallow.set(id, h);
    return h;
  };
  for (let id = 0; id < n; id++) {
    rank[id] = typeRank(id, false);
    sortName[id] = typeSortName(id, false);
    ownName[id] = id === 0 ? "" : btf.name(id);
    const h = disambig(id, true, 0);
    hashHi[id] = h.hi;
    hashLo[id] = h.lo;
  }
  const ids = Array.from({ length: n }, (_, i) => i);
  ids.sort(
    (a, b) =>
      rank[a]! - rank[b]! ||
      compareBytes(sortName[a]!, sortName[b]!) ||
      compareBytes(ownName[a]!, ownName[b]!) ||
      hashHi[a]! - hashHi[b]! ||
      hashLo[a]! - hashLo[b]! ||
      a - b,
  );
  return ids;
}
