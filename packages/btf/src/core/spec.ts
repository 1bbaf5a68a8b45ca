import type { Btf } from "../btf.js";
import { BtfError } from "../error.js";
import { BtfKind, KIND_KEYS } from "../kinds.js";
import { CORE_SPEC_MAX_LEN, coreReloKindName, isEnumvalBased, isFieldBased, isTypeBased } from "./kinds.js";

/** One step of a high-level access spec: a named member, an array index, or an enumerator. */
export interface CoreAccessor {
  /** Type the step indexes into (struct/union/enum), or the element type for array steps. */
  typeId: number;
  idx: number;
  /** Member or enumerator name; undefined for array indices. */
  name: string | undefined;
}

/** libbpf's `bpf_core_spec`: the parsed access string against one BTF. */
export interface CoreSpec {
  btf: Btf;
  rootTypeId: number;
  kind: number;
  /** Named members, array indices (and the enumerator for enum kinds). */
  spec: CoreAccessor[];
  /** The raw access string as indices (anonymous members included). */
  raw: number[];
  bitOffset: number;
}

/** libbpf's `btf_kind_str`: lower-case kind names used in CO-RE messages. */
export function kindStr(btf: Btf, id: number): string {
  return KIND_KEYS[btf.kind(id)] ?? "unknown";
}

/**
 * Length of the essential part of a CO-RE name: up to the last `___` that sits between two
 * non-underscore characters (`task_struct___v2` -> `task_struct`).
 */
export function essentialNameLength(name: string): number {
  const n = name.length;
  for (let i = n - 5; i >= 0; i--) {
    if (
      name.charCodeAt(i) !== 95 &&
      name.charCodeAt(i + 1) === 95 &&
      name.charCodeAt(i + 2) === 95 &&
      name.charCodeAt(i + 3) === 95 &&
      name.charCodeAt(i + 4) !== 95
    ) {
      return i + 1;
    }
  }
  return n;
}

/** The essential name itself. */
export function essentialName(name: string): string {
  return name.slice(0, essentialNameLength(name));
}

export function isComposite(btf: Btf, id: number): boolean {
  const k = btf.kind(id);
  return k === BtfKind.STRUCT || k === BtfKind.UNION;
}

export function isAnyEnum(btf: Btf, id: number): boolean {
  const k = btf.kind(id);
  return k === BtfKind.ENUM || k === BtfKind.ENUM64;
}

/** True for `T x[0]` as the last member of the struct named by the previous accessor. */
export function isFlexArray(btf: Btf, prev: CoreAccessor | undefined, nelems: number): boolean {
  if (!prev || prev.name === undefined || nelems > 0) return false;
  return prev.idx === btf.vlen(prev.typeId) - 1;
}

function invalid(message: string): BtfError {
  return new BtfError(message, -1, "core_relo");
}

/**
 * Parses an access string against the local BTF like libbpf's bpf_core_parse_spec. Throws BtfError
 * with a message naming the relocation for malformed strings.
 */
export function parseCoreSpec(btf: Btf, rootTypeId: number, accessString: string, kind: number): CoreSpec {
  if (accessString === "" || accessString.startsWith(":")) {
    throw invalid(`invalid CO-RE access string '${accessString}' for [${rootTypeId}]`);
  }
  const spec: CoreSpec = { btf, rootTypeId, kind, spec: [], raw: [], bitOffset: 0 };
  if (isTypeBased(kind)) {
    if (accessString !== "0")
      throw invalid(`type-based CO-RE relocation with access string '${accessString}'`);
    return spec;
  }
  for (const part of accessString.split(":")) {
    if (!/^[+-]?\d+/.test(part)) throw invalid(`invalid CO-RE access string '${accessString}'`);
    if (spec.raw.length === CORE_SPEC_MAX_LEN)
      throw invalid(`CO-RE access string '${accessString}' too long`);
    spec.raw.push(Number.parseInt(part, 10));
  }
  let id = btf.resolve(rootTypeId);
  let accessIdx = spec.raw[0]!;
  spec.spec.push({ typeId: id, idx: accessIdx, name: undefined });
  if (isEnumvalBased(kind)) {
    if (!isAnyEnum(btf, id) || spec.raw.length > 1 || accessIdx < 0 || accessIdx >= btf.vlen(id)) {
      throw invalid(`enum CO-RE relocation '${accessString}' does not name an enumerator of [${rootTypeId}]`);
    }
    spec.spec[0]!.name = btf.str(btf.enumValueNameOff(id, accessIdx));
    return spec;
  }
  if (!isFieldBased(kind)) throw invalid(`unknown CO-RE relocation kind ${kind}`);
  spec.bitOffset = accessIdx * btf.sizeof(id) * 8;
  for (let i = 1; i < spec.raw.length; i++) {
    id = btf.resolve(id);
    accessIdx = spec.raw[i]!;
    if (isComposite(btf, id)) {
      if (accessIdx < 0 || accessIdx >= btf.vlen(id)) {
        throw invalid(`CO-RE access '${accessString}': member ${accessIdx} out of range in [${id}]`);
      }
      spec.bitOffset += btf.memberBitOffset(id, accessIdx);
      const nameOff = btf.memberNameOff(id, accessIdx);
      if (nameOff !== 0) {
        const name = btf.str(nameOff);
        if (name === "") throw invalid(`CO-RE access '${accessString}': empty member name in [${id}]`);
        spec.spec.push({ typeId: id, idx: accessIdx, name });
      }
      id = btf.memberType(id, accessIdx);
    } else if (btf.kind(id) === BtfKind.ARRAY) {
      const nelems = btf.tail(id, 2);
      const elem = btf.resolve(btf.tail(id, 0));
      const flex = isFlexArray(btf, spec.spec[spec.spec.length - 1], nelems);
      if (!flex && accessIdx >= nelems) {
        throw invalid(`CO-RE access '${accessString}': index ${accessIdx} out of bounds of [${id}]`);
      }
      id = elem;
      spec.spec.push({ typeId: id, idx: accessIdx, name: undefined });
      spec.bitOffset += accessIdx * btf.sizeof(id) * 8;
    } else {
      throw invalid(
        `relo for [${rootTypeId}] ${accessString} (at idx ${i}) captures type [${id}] of unexpected kind ${kindStr(btf, id)}`,
      );
    }
  }
  return spec;
}

/** libbpf's bpf_core_format_spec: `<byte_off> [5] struct task_struct.pid (0:1 @ offset 4)`. */
export function formatCoreSpec(spec: CoreSpec): string {
  const btf = spec.btf;
  const rootName = btf.name(spec.rootTypeId);
  let s = `<${coreReloKindName(spec.kind)}> [${spec.rootTypeId}] ${kindStr(btf, spec.rootTypeId)} ${rootName === "" ? "<anon>" : rootName}`;
  if (isTypeBased(spec.kind)) return s;
  if (isEnumvalBased(spec.kind)) {
    const t = btf.resolve(spec.rootTypeId);
    const i = spec.raw[0]!;
    const name = btf.str(btf.enumValueNameOff(t, i));
    if (btf.kind(t) === BtfKind.ENUM) {
      const raw = btf.tail(t, i * 2 + 1);
      s += `::${name} = ${btf.kindFlag(t) ? raw | 0 : raw}`;
    } else {
      const v = BigInt.asUintN(64, btf.enumValue(t, i));
      s += `::${name} = ${btf.kindFlag(t) ? BigInt.asIntN(64, v) : v}`;
    }
    return s;
  }
  spec.spec.forEach((acc, i) => {
    if (acc.name !== undefined) s += `.${acc.name}`;
    else if (i > 0 || acc.idx > 0) s += `[${acc.idx}]`;
  });
  s += ` (${spec.raw.join(":")}`;
  const byteOff = Math.floor(spec.bitOffset / 8);
  s += spec.bitOffset % 8 ? ` @ offset ${byteOff}.${spec.bitOffset % 8})` : ` @ offset ${byteOff})`;
  return s;
}
