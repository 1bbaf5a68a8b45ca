import type { Btf } from "@bpfkit/btf";
import { BtfKind, CORE_RELO_KIND_NAMES } from "@bpfkit/btf";

/** A CO-RE relocation record of .BTF.ext (spec btf.md 2 and 7.1). */
export interface CoreRelocation {
  insnOff: number;
  typeId: number;
  accessString: string;
  kind: number;
}

type Group = "field" | "type" | "enumval" | "unknown";

function group(kind: number): Group {
  if (kind <= 5) return "field";
  if (kind <= 9 || kind === 12) return "type";
  if (kind <= 11) return "enumval";
  return "unknown";
}

const MODIFIERS: Readonly<Record<number, string>> = {
  [BtfKind.CONST]: " const",
  [BtfKind.VOLATILE]: " volatile",
  [BtfKind.RESTRICT]: " restrict",
};

/**
 * Describes a CO-RE relocation the way llvm-objdump-19 prints it after `CO-RE ` (spec bpf-isa.md
 * 6.1/6.3): `<byte_off> [345] struct vm_area_struct::<anon 0>.<anon 0>.vm_start (0:0:0:0)`,
 * `<type_exists> [7] struct foo`, `<enumval_value> [5] enum foo::V = 2`. Records LLVM cannot
 * make sense of print as `<kind> [id] '<access>' <reason>` like LLVM's, and unknown type ids
 * never throw.
 */
export function describeCoreRelocation(btf: Btf, relo: CoreRelocation): string {
  const kindWord =
    relo.kind < CORE_RELO_KIND_NAMES.length
      ? `<${CORE_RELO_KIND_NAMES[relo.kind]}>`
      : `<reloc kind #${relo.kind >>> 0}>`;
  const fail = (why: string) => `${kindWord} [${relo.typeId >>> 0}] '${relo.accessString}' <${why}>`;

  // The access string is `N(:N)*`; LLVM reads each number as unsigned and stops at anything else.
  const spec: number[] = [];
  let rest = relo.accessString;
  while (rest.length > 0) {
    const m = /^\d+/.exec(rest);
    if (!m) return fail("spec string is not a number");
    spec.push(Number(m[0]));
    rest = rest.slice(m[0].length);
    if (rest.length === 0) break;
    if (rest[0] !== ":") return fail(`unexpected spec string delimiter: '${rest[0]}'`);
    rest = rest.slice(1);
  }

  const exists = (id: number) => id >= 0 && id < btf.length;
  let id = relo.typeId >>> 0;
  if (!exists(id)) return fail(`unknown type id: ${signed32(id)}`);
  let out = `${kindWord} [${id}]`;

  for (let chain = 0; ; chain++) {
    const kind = btf.kind(id);
    let mod: string | undefined = MODIFIERS[kind];
    if (kind === BtfKind.TYPE_TAG) mod = ` type_tag("${str(btf, btf.nameOff(id))}")`;
    if (mod === undefined || id === 0) break;
    out += mod;
    if (chain >= 32) return fail("modifiers chain is too long");
    const next = btf.sizeOrType(id);
    if (!exists(next)) return fail(`unknown type id: ${signed32(next)} in modifiers chain`);
    id = next;
  }
  if (id === 0) out += " void";
  else {
    const kind = btf.kind(id);
    if (kind === BtfKind.TYPEDEF) out += " typedef";
    else if (kind === BtfKind.STRUCT) out += " struct";
    else if (kind === BtfKind.UNION) out += " union";
    else if (kind === BtfKind.ENUM || kind === BtfKind.ENUM64) out += " enum";
    else if (kind === BtfKind.FWD) out += btf.kindFlag(id) ? " fwd union" : " fwd struct";
    out += ` ${strOrAnon(btf, btf.nameOff(id), id)}`;
  }

  const g = group(relo.kind);
  if (g === "type") {
    if (spec.length !== 1 || spec[0] !== 0)
      return fail("unexpected type-based relocation spec: should be '0'");
    return out;
  }
  if (g === "unknown") return fail(`unknown relocation kind: ${signed32(relo.kind >>> 0)}`);
  out += "::";

  if (g === "enumval") {
    id = skipModsAndTypedefs(btf, id);
    if (spec.length !== 1) return fail("unexpected enumval relocation spec size");
    const idx = spec[0] as number;
    const kind = btf.kind(id);
    if (kind !== BtfKind.ENUM && kind !== BtfKind.ENUM64)
      return fail(`unexpected type kind for enum relocation: ${kind}`);
    if (idx >= btf.vlen(id)) return fail(`bad value index: ${signed32(idx)}`);
    // LLVM keeps a 32-bit enumerator as int32 and widens it to 64 bits before printing, so an
    // unsigned enum with the top bit set prints as a huge u64; that is what objdump shows.
    let value: bigint;
    if (kind === BtfKind.ENUM) value = BigInt(btf.tailSigned(id, idx * 2 + 1));
    else value = (BigInt(btf.tail(id, idx * 3 + 2) >>> 0) << 32n) | BigInt(btf.tail(id, idx * 3 + 1) >>> 0);
    const text = btf.kindFlag(id) ? BigInt.asIntN(64, value) : BigInt.asUintN(64, value);
    return `${out}${strOrAnon(btf, btf.enumValueNameOff(id, idx), idx)} = ${text}`;
  }

  if (spec.length < 1) return fail("field spec too short");
  if (spec[0] !== 0) out += `[${spec[0]}]`;
  for (let i = 1; i < spec.length; i++) {
    id = skipModsAndTypedefs(btf, id);
    const idx = spec[i] as number;
    const kind = btf.kind(id);
    if (kind === BtfKind.STRUCT || kind === BtfKind.UNION) {
      if (btf.vlen(id) <= idx)
        return fail(`member index ${signed32(idx)} for spec sub-string ${i} is out of range`);
      if (i !== 1 || spec[0] !== 0) out += ".";
      out += strOrAnon(btf, btf.memberNameOff(id, idx), idx);
      const member = btf.memberType(id, idx);
      if (!exists(member)) return fail(`unknown member type id ${signed32(member)} for spec sub-string ${i}`);
      id = member;
    } else if (kind === BtfKind.ARRAY) {
      out += `[${idx}]`;
      const elem = btf.tail(id, 0);
      if (!exists(elem)) return fail(`unknown element type id ${signed32(elem)} for spec sub-string ${i}`);
      id = elem;
    } else {
      return fail(`unexpected type kind ${kind} for spec sub-string ${i}`);
    }
  }
  return `${out} (${relo.accessString})`;
}

function skipModsAndTypedefs(btf: Btf, id: number): number {
  let cur = id;
  for (let guard = 0; guard < btf.length; guard++) {
    const kind = btf.kind(cur);
    const skippable =
      kind === BtfKind.CONST ||
      kind === BtfKind.VOLATILE ||
      kind === BtfKind.RESTRICT ||
      kind === BtfKind.TYPE_TAG ||
      kind === BtfKind.TYPEDEF;
    if (!skippable || cur === 0) return cur;
    const next = btf.sizeOrType(cur);
    if (next < 0 || next >= btf.length) return cur;
    cur = next;
  }
  return cur;
}

/** LLVM's `findString`: the bytes up to the next NUL, "" when the offset is outside the table. */
function str(btf: Btf, off: number): string {
  try {
    return btf.str(off);
  } catch {
    return "";
  }
}

function strOrAnon(btf: Btf, off: number, idx: number): string {
  const s = str(btf, off);
  return s === "" ? `<anon ${idx}>` : s;
}

/** LLVM formats these numbers with `%d`. */
function signed32(n: number): number {
  return n | 0;
}
