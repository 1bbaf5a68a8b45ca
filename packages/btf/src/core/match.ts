import type { Btf } from "../btf.js";
import { BtfError } from "../error.js";
import { BtfKind } from "../kinds.js";
import { essentialNameLength, isAnyEnum, isComposite } from "./spec.js";

const MAX_DEPTH = 32;

function tooDeep(): BtfError {
  return new BtfError("CO-RE type comparison nests too deep", -1, "core_relo");
}

/** Same kind, or both some kind of enum (ENUM and ENUM64 are interchangeable for CO-RE). */
export function kindsCoreCompat(a: Btf, aId: number, b: Btf, bId: number): boolean {
  return a.kind(aId) === b.kind(bId) || (isAnyEnum(a, aId) && isAnyEnum(b, bId));
}

function intOffset(btf: Btf, id: number): number {
  return (btf.tail(id, 0) >>> 16) & 0xff;
}

function essentialEqual(a: string, b: string): boolean {
  const la = essentialNameLength(a);
  return la === essentialNameLength(b) && a.slice(0, la) === b.slice(0, la);
}

/** libbpf's bpf_core_fields_are_compat: can a local field be relocated onto a target field? */
export function fieldsCompat(local: Btf, localId: number, targ: Btf, targId: number): boolean {
  for (let depth = MAX_DEPTH; depth > 0; depth--) {
    localId = local.resolve(localId);
    targId = targ.resolve(targId);
    if (isComposite(local, localId) && isComposite(targ, targId)) return true;
    if (!kindsCoreCompat(local, localId, targ, targId)) return false;
    switch (local.kind(localId)) {
      case BtfKind.PTR:
      case BtfKind.FLOAT:
        return true;
      case BtfKind.FWD:
      case BtfKind.ENUM:
      case BtfKind.ENUM64: {
        const ln = local.name(localId);
        const tn = targ.name(targId);
        const ll = essentialNameLength(ln);
        const tl = essentialNameLength(tn);
        return ll === 0 || tl === 0 || (ll === tl && ln.slice(0, ll) === tn.slice(0, tl));
      }
      case BtfKind.INT:
        return intOffset(local, localId) === 0 && intOffset(targ, targId) === 0;
      case BtfKind.ARRAY:
        localId = local.tail(localId, 0);
        targId = targ.tail(targId, 0);
        break;
      default:
        return false;
    }
  }
  throw tooDeep();
}

/** libbpf's bpf_core_types_are_compat (TYPE_EXISTS / TYPE_SIZE / TYPE_ID_TARGET candidates). */
export function typesCompat(
  local: Btf,
  localId: number,
  targ: Btf,
  targId: number,
  level = 0x7fffffff,
): boolean {
  if (!kindsCoreCompat(local, localId, targ, targId)) return false;
  for (let depth = MAX_DEPTH; depth > 0; depth--) {
    localId = local.resolve(localId);
    targId = targ.resolve(targId);
    if (!kindsCoreCompat(local, localId, targ, targId)) return false;
    switch (local.kind(localId)) {
      case 0:
      case BtfKind.STRUCT:
      case BtfKind.UNION:
      case BtfKind.ENUM:
      case BtfKind.FWD:
      case BtfKind.ENUM64:
        return true;
      case BtfKind.INT:
        return intOffset(local, localId) === 0 && intOffset(targ, targId) === 0;
      case BtfKind.PTR:
        localId = local.sizeOrType(localId);
        targId = targ.sizeOrType(targId);
        break;
      case BtfKind.ARRAY:
        localId = local.tail(localId, 0);
        targId = targ.tail(targId, 0);
        break;
      case BtfKind.FUNC_PROTO: {
        const vlen = local.vlen(localId);
        if (vlen !== targ.vlen(targId)) return false;
        for (let i = 0; i < vlen; i++) {
          if (level <= 0) throw tooDeep();
          const lp = local.resolve(local.paramType(localId, i));
          const tp = targ.resolve(targ.paramType(targId, i));
          if (!typesCompat(local, lp, targ, tp, level - 1)) return false;
        }
        localId = local.resolve(local.sizeOrType(localId));
        targId = targ.resolve(targ.sizeOrType(targId));
        break;
      }
      default:
        return false;
    }
  }
  throw tooDeep();
}

function namesMatch(local: Btf, localOff: number, targ: Btf, targOff: number): boolean {
  const ln = local.str(localOff);
  const tn = targ.str(targOff);
  if (tn === "") return ln === "";
  return essentialEqual(ln, tn);
}

function enumsMatch(local: Btf, localId: number, targ: Btf, targId: number): boolean {
  if (local.sizeOrType(localId) !== targ.sizeOrType(targId)) return false;
  const lv = local.vlen(localId);
  const tv = targ.vlen(targId);
  if (lv > tv) return false;
  for (let i = 0; i < lv; i++) {
    const lOff = local.enumValueNameOff(localId, i);
    let matched = false;
    for (let j = 0; j < tv && !matched; j++)
      matched = namesMatch(local, lOff, targ, targ.enumValueNameOff(targId, j));
    if (!matched) return false;
  }
  return true;
}

function compositesMatch(
  local: Btf,
  localId: number,
  targ: Btf,
  targId: number,
  behindPtr: boolean,
  level: number,
): boolean {
  const lv = local.vlen(localId);
  const tv = targ.vlen(targId);
  if (lv > tv) return false;
  for (let i = 0; i < lv; i++) {
    let matched = false;
    for (let j = 0; j < tv; j++) {
      if (!namesMatch(local, local.memberNameOff(localId, i), targ, targ.memberNameOff(targId, j))) continue;
      if (
        typesMatch(
          local,
          local.memberType(localId, i),
          targ,
          targ.memberType(targId, j),
          behindPtr,
          level - 1,
        )
      ) {
        matched = true;
        break;
      }
    }
    if (!matched) return false;
  }
  return true;
}

/** libbpf's __bpf_core_types_match (TYPE_MATCHES): a stricter, name-aware structural match. */
export function typesMatch(
  local: Btf,
  localId: number,
  targ: Btf,
  targId: number,
  behindPtr = false,
  level = MAX_DEPTH,
): boolean {
  if (level <= 0) throw tooDeep();
  for (let depth = MAX_DEPTH; depth > 0; depth--) {
    localId = local.resolve(localId);
    targId = targ.resolve(targId);
    if (!namesMatch(local, local.nameOff(localId), targ, targ.nameOff(targId))) return false;
    const lk = local.kind(localId);
    const tk = targ.kind(targId);
    switch (lk) {
      case 0:
        return lk === tk;
      case BtfKind.FWD: {
        const lf = local.kindFlag(localId);
        if (behindPtr) {
          if (lk === tk) return lf === targ.kindFlag(targId);
          return (tk === BtfKind.STRUCT && !lf) || (tk === BtfKind.UNION && lf);
        }
        if (lk !== tk) return false;
        return lf === targ.kindFlag(targId);
      }
      case BtfKind.ENUM:
      case BtfKind.ENUM64:
        if (!isAnyEnum(targ, targId)) return false;
        return enumsMatch(local, localId, targ, targId);
      case BtfKind.STRUCT:
      case BtfKind.UNION:
        if (behindPtr) {
          if (lk === tk) return true;
          if (tk !== BtfKind.FWD) return false;
          return (lk === BtfKind.UNION) === targ.kindFlag(targId);
        }
        if (lk !== tk) return false;
        return compositesMatch(local, localId, targ, targId, behindPtr, level);
      case BtfKind.INT: {
        if (lk !== tk) return false;
        const ls = (local.tail(localId, 0) >>> 24) & 1;
        const ts = (targ.tail(targId, 0) >>> 24) & 1;
        return local.sizeOrType(localId) === targ.sizeOrType(targId) && ls === ts;
      }
      case BtfKind.PTR:
        if (lk !== tk) return false;
        behindPtr = true;
        localId = local.sizeOrType(localId);
        targId = targ.sizeOrType(targId);
        break;
      case BtfKind.ARRAY:
        if (lk !== tk) return false;
        if (local.tail(localId, 2) !== targ.tail(targId, 2)) return false;
        localId = local.tail(localId, 0);
        targId = targ.tail(targId, 0);
        break;
      case BtfKind.FUNC_PROTO: {
        if (lk !== tk) return false;
        const vlen = local.vlen(localId);
        if (vlen !== targ.vlen(targId)) return false;
        for (let i = 0; i < vlen; i++) {
          if (
            !typesMatch(
              local,
              local.paramType(localId, i),
              targ,
              targ.paramType(targId, i),
              behindPtr,
              level - 1,
            )
          ) {
            return false;
          }
        }
        localId = local.sizeOrType(localId);
        targId = targ.sizeOrType(targId);
        break;
      }
      default:
        return false;
    }
  }
  throw tooDeep();
}
