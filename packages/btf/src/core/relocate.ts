import type { Btf } from "../btf.js";
import { BtfError } from "../error.js";
import { BtfKind } from "../kinds.js";
import {
  CORE_POISON_IMM,
  CORE_SPEC_MAX_LEN,
  CoreReloKind,
  coreReloKindName,
  isEnumvalBased,
  isFieldBased,
  isTypeBased,
} from "./kinds.js";
import { fieldsCompat, kindsCoreCompat, typesCompat, typesMatch } from "./match.js";
import type { CoreSpec } from "./spec.js";
import {
  essentialNameLength,
  formatCoreSpec,
  isAnyEnum,
  isComposite,
  isFlexArray,
  kindStr,
  parseCoreSpec,
} from "./spec.js";

/** A CO-RE relocation record as read from .BTF.ext (insnOff in bytes). */
export interface CoreRelo {
  insnOff: number;
  typeId: number;
  accessString: string;
  kind: number;
}

/** A target BTF to relocate against: vmlinux, or a module's split BTF (searched only as fallback). */
export interface CoreTarget {
  name: string;
  btf: Btf;
}

export interface CoreCandidate {
  target: CoreTarget;
  id: number;
}

/** libbpf's bpf_core_relo_res: what to put into the instruction. */
export interface CoreReloResult {
  /** Value the compiler put in (computed from the local BTF). */
  origVal: bigint;
  /** Relocated value. */
  newVal: bigint;
  /** The instruction must be replaced by the poison call. */
  poison: boolean;
  /** Check that the instruction currently holds origVal before patching. */
  validate: boolean;
  /** Load/store size would have to change in an unsafe way (poisons LDX/ST/STX). */
  failMemszAdjust: boolean;
  origSz: number;
  newSz: number;
  localSpec: CoreSpec;
  /** Spec of the first matching candidate, when one matched. */
  targetSpec: CoreSpec | undefined;
  /** Target the value came from. */
  target: CoreTarget | undefined;
  /** libbpf-style debug lines explaining the decision. */
  log: string[];
}

function fail(message: string): BtfError {
  return new BtfError(message, -1, "core_relo");
}

/** Candidate types in `target` with the local type's kind and essential name. */
function addCandidates(
  local: Btf,
  localId: number,
  target: CoreTarget,
  startId: number,
  out: CoreCandidate[],
): void {
  const localName = local.name(localId);
  const len = essentialNameLength(localName);
  const essential = localName.slice(0, len);
  const btf = target.btf;
  // Flavoured target names (`foo___x`) share the essential name too; the name index is exact, so
  // they come from a second index. libbpf scans ids in order, hence the sort.
  const ids = [...btf.findAll(essential), ...(flavoured(btf).get(essential) ?? [])].sort((a, b) => a - b);
  for (const id of ids) {
    if (id < startId) continue;
    if (kindsCoreCompat(btf, id, local, localId)) out.push({ target, id });
  }
}

const flavourCache = new WeakMap<Btf, Map<string, number[]>>();
/** Ids of types whose name carries a `___flavour` suffix, keyed by essential name. */
function flavoured(btf: Btf): Map<string, number[]> {
  let map = flavourCache.get(btf);
  if (!map) {
    map = new Map();
    for (let id = 1; id < btf.length; id++) {
      if (btf.nameOff(id) === 0) continue;
      const name = btf.name(id);
      if (!name.includes("___")) continue;
      const len = essentialNameLength(name);
      if (len === name.length) continue;
      const key = name.slice(0, len);
      const list = map.get(key);
      if (list) list.push(id);
      else map.set(key, [id]);
    }
    flavourCache.set(btf, map);
  }
  return map;
}

/** Member matching with anonymous-member descent (libbpf bpf_core_match_member). 1 found, 0 not. */
function matchMember(
  local: Btf,
  localAcc: { typeId: number; idx: number },
  targ: Btf,
  targId: number,
  spec: CoreSpec,
  next: { id: number },
  depth = 0,
): number {
  if (depth > CORE_SPEC_MAX_LEN) throw fail("CO-RE member search nests too deep");
  targId = targ.resolve(targId);
  if (!isComposite(targ, targId)) return 0;
  const localName = local.memberName(localAcc.typeId, localAcc.idx);
  const localType = local.memberType(localAcc.typeId, localAcc.idx);
  const n = targ.vlen(targId);
  for (let i = 0; i < n; i++) {
    const bitOffset = targ.memberBitOffset(targId, i);
    if (spec.raw.length === CORE_SPEC_MAX_LEN) throw fail("CO-RE spec too deep");
    spec.bitOffset += bitOffset;
    spec.raw.push(i);
    const targName = targ.memberName(targId, i);
    if (targName === "") {
      const found = matchMember(local, localAcc, targ, targ.memberType(targId, i), spec, next, depth + 1);
      if (found) return found;
    } else if (targName === localName) {
      const mtype = targ.memberType(targId, i);
      spec.spec.push({ typeId: targId, idx: i, name: targName });
      next.id = mtype;
      const ok = fieldsCompat(local, localType, targ, mtype);
      if (!ok) spec.spec.pop();
      return ok ? 1 : 0;
    }
    spec.bitOffset -= bitOffset;
    spec.raw.pop();
  }
  return 0;
}

/** libbpf's bpf_core_spec_match: does candidate `targId` satisfy the local spec? */
function specMatch(localSpec: CoreSpec, targ: Btf, targId: number): CoreSpec | undefined {
  const targSpec: CoreSpec = {
    btf: targ,
    rootTypeId: targId,
    kind: localSpec.kind,
    spec: [],
    raw: [],
    bitOffset: 0,
  };
  const local = localSpec.btf;
  if (isTypeBased(localSpec.kind)) {
    const ok =
      localSpec.kind === CoreReloKind.TYPE_MATCHES
        ? typesMatch(local, localSpec.rootTypeId, targ, targId)
        : typesCompat(local, localSpec.rootTypeId, targ, targId);
    return ok ? targSpec : undefined;
  }
  if (isEnumvalBased(localSpec.kind)) {
    const t = targ.resolve(targId);
    if (!isAnyEnum(targ, t)) return undefined;
    const localName = localSpec.spec[0]!.name!;
    const len = essentialNameLength(localName);
    const vlen = targ.vlen(t);
    for (let i = 0; i < vlen; i++) {
      const name = targ.str(targ.enumValueNameOff(t, i));
      if (essentialNameLength(name) !== len || name.slice(0, len) !== localName.slice(0, len)) continue;
      targSpec.spec.push({ typeId: t, idx: i, name });
      targSpec.raw.push(i);
      return targSpec;
    }
    return undefined;
  }
  let id = targId;
  for (let i = 0; i < localSpec.spec.length; i++) {
    const acc = localSpec.spec[i]!;
    id = targ.resolve(id);
    if (acc.name !== undefined) {
      const next = { id };
      if (matchMember(local, acc, targ, id, targSpec, next) <= 0) return undefined;
      id = next.id;
    } else {
      if (i > 0) {
        if (targ.kind(id) !== BtfKind.ARRAY) return undefined;
        const nelems = targ.tail(id, 2);
        const flex = isFlexArray(targ, targSpec.spec[targSpec.spec.length - 1], nelems);
        if (!flex && acc.idx >= nelems) return undefined;
        id = targ.resolve(targ.tail(id, 0));
      }
      if (targSpec.raw.length === CORE_SPEC_MAX_LEN) throw fail("CO-RE spec too deep");
      targSpec.spec.push({ typeId: id, idx: acc.idx, name: undefined });
      targSpec.raw.push(acc.idx);
      targSpec.bitOffset += acc.idx * targ.sizeof(id) * 8;
    }
  }
  return targSpec;
}

interface FieldValue {
  val: bigint;
  sz: number;
  typeId: number;
  validate: boolean;
}

const POISON = Symbol("poison");

/** libbpf's bpf_core_calc_field_relo for one side (spec undefined = no target found). */
function calcField(relo: CoreRelo, spec: CoreSpec | undefined): FieldValue | typeof POISON {
  const res: FieldValue = { val: 0n, sz: 0, typeId: 0, validate: true };
  if (relo.kind === CoreReloKind.FIELD_EXISTS) {
    res.val = spec ? 1n : 0n;
    return res;
  }
  if (!spec) return POISON;
  const btf = spec.btf;
  const acc = spec.spec[spec.spec.length - 1]!;
  if (acc.name === undefined) {
    if (relo.kind === CoreReloKind.FIELD_BYTE_OFFSET) {
      res.val = BigInt(Math.floor(spec.bitOffset / 8));
      res.sz = btf.sizeof(acc.typeId);
      res.typeId = acc.typeId;
    } else if (relo.kind === CoreReloKind.FIELD_BYTE_SIZE) {
      res.val = BigInt(btf.sizeof(acc.typeId));
    } else {
      throw fail(`relo ${relo.kind} at insn #${relo.insnOff / 8} can't be applied to array access`);
    }
    return res;
  }
  const t = acc.typeId;
  const fieldTypeId = btf.resolve(btf.memberType(t, acc.idx));
  const bitOff = spec.bitOffset;
  let bitSz = btf.memberBitfieldSize(t, acc.idx);
  const bitfield = bitSz > 0;
  let byteSz: number;
  let byteOff: number;
  if (bitfield) {
    byteSz = btf.sizeOrType(fieldTypeId);
    if (byteSz === 0) throw fail(`bitfield of zero-sized type at insn #${relo.insnOff / 8}`);
    byteOff = Math.floor(bitOff / 8 / byteSz) * byteSz;
    while (bitOff + bitSz - byteOff * 8 > byteSz * 8) {
      if (byteSz >= 8)
        throw fail(`relo ${relo.kind} at insn #${relo.insnOff / 8} can't be satisfied for bitfield`);
      byteSz *= 2;
      byteOff = Math.floor(bitOff / 8 / byteSz) * byteSz;
    }
  } else {
    byteSz = btf.sizeof(fieldTypeId);
    byteOff = Math.floor(spec.bitOffset / 8);
    bitSz = byteSz * 8;
  }
  res.validate = !bitfield;
  switch (relo.kind) {
    case CoreReloKind.FIELD_BYTE_OFFSET:
      res.val = BigInt(byteOff);
      if (!bitfield) {
        res.sz = byteSz;
        res.typeId = fieldTypeId;
      }
      break;
    case CoreReloKind.FIELD_BYTE_SIZE:
      res.val = BigInt(byteSz);
      break;
    case CoreReloKind.FIELD_SIGNED: {
      const k = btf.kind(fieldTypeId);
      const signed =
        ((k === BtfKind.ENUM || k === BtfKind.ENUM64) && btf.kindFlag(fieldTypeId)) ||
        (k === BtfKind.INT && ((btf.tail(fieldTypeId, 0) >>> 24) & 1) === 1);
      res.val = signed ? 1n : 0n;
      res.validate = true;
      break;
    }
    case CoreReloKind.FIELD_LSHIFT_U64:
      res.val = BigInt(64 - (bitOff + bitSz - byteOff * 8));
      break;
    case CoreReloKind.FIELD_RSHIFT_U64:
      res.val = BigInt(64 - bitSz);
      res.validate = true;
      break;
    default:
      throw fail(`unrecognized CO-RE relocation ${coreReloKindName(relo.kind)} (${relo.kind})`);
  }
  return res;
}

function calcType(relo: CoreRelo, spec: CoreSpec | undefined): bigint {
  if (!spec) return 0n;
  switch (relo.kind) {
    case CoreReloKind.TYPE_ID_TARGET:
      return BigInt(spec.rootTypeId);
    case CoreReloKind.TYPE_EXISTS:
    case CoreReloKind.TYPE_MATCHES:
      return 1n;
    case CoreReloKind.TYPE_SIZE:
      return BigInt(spec.btf.sizeof(spec.rootTypeId));
    default:
      throw fail(`unrecognized CO-RE relocation ${coreReloKindName(relo.kind)} (${relo.kind})`);
  }
}

function calcEnumval(relo: CoreRelo, spec: CoreSpec | undefined): bigint | typeof POISON {
  if (relo.kind === CoreReloKind.ENUMVAL_EXISTS) return spec ? 1n : 0n;
  if (!spec) return POISON;
  const acc = spec.spec[0]!;
  const btf = spec.btf;
  if (btf.kind(acc.typeId) === BtfKind.ENUM) {
    // libbpf reads the s32 value into a u64: negative values sign-extend regardless of signedness.
    return BigInt.asUintN(64, BigInt(btf.tailSigned(acc.typeId, acc.idx * 2 + 1)));
  }
  return BigInt.asUintN(64, btf.enumValue(acc.typeId, acc.idx));
}

/** libbpf's bpf_core_calc_relo: orig/new values for one (local, target) spec pair. */
function calcRelo(
  relo: CoreRelo,
  localSpec: CoreSpec,
  targSpec: CoreSpec | undefined,
): Omit<CoreReloResult, "localSpec" | "targetSpec" | "target" | "log"> {
  const res = {
    origVal: 0n,
    newVal: 0n,
    poison: false,
    validate: true,
    failMemszAdjust: false,
    origSz: 0,
    newSz: 0,
  };
  if (isFieldBased(relo.kind)) {
    const orig = calcField(relo, localSpec);
    const next = orig === POISON ? POISON : calcField(relo, targSpec);
    if (orig === POISON || next === POISON) {
      res.poison = true;
      if (orig !== POISON) {
        res.origVal = orig.val;
        res.validate = orig.validate;
        res.origSz = orig.sz;
      }
      return res;
    }
    res.origVal = orig.val;
    res.validate = orig.validate;
    res.origSz = orig.sz;
    res.newVal = next.val;
    res.newSz = next.sz;
    if (res.origSz !== res.newSz) {
      const lb = localSpec.btf;
      const tb = targSpec!.btf;
      const ok =
        (lb.kind(orig.typeId) === BtfKind.PTR && tb.kind(next.typeId) === BtfKind.PTR) ||
        (lb.kind(orig.typeId) === BtfKind.INT &&
          tb.kind(next.typeId) === BtfKind.INT &&
          ((lb.tail(orig.typeId, 0) >>> 24) & 0xf) !== 1 &&
          ((tb.tail(next.typeId, 0) >>> 24) & 0xf) !== 1);
      res.failMemszAdjust = !ok;
    }
  } else if (isTypeBased(relo.kind)) {
    res.origVal = calcType(relo, localSpec);
    res.newVal = calcType(relo, targSpec);
    res.validate = relo.kind !== CoreReloKind.TYPE_ID_TARGET;
  } else if (isEnumvalBased(relo.kind)) {
    const orig = calcEnumval(relo, localSpec);
    const next = calcEnumval(relo, targSpec);
    if (orig === POISON || next === POISON) res.poison = true;
    if (orig !== POISON) res.origVal = orig;
    if (next !== POISON) res.newVal = next;
  } else {
    throw fail(
      `unrecognized CO-RE relocation ${coreReloKindName(relo.kind)} (${relo.kind}) at insn #${relo.insnOff / 8}`,
    );
  }
  return res;
}

/**
 * Resolves CO-RE relocations of one object against a target kernel's BTF exactly as libbpf does:
 * candidates by essential name (vmlinux first, modules only if vmlinux has none), spec matching,
 * value computation and the poisoning decision. Candidate lists are cached per local root type and
 * narrowed to the ones that matched, across all relocations of the object (as in libbpf).
 */
export class CoreRelocator {
  private readonly cache = new Map<number, CoreCandidate[]>();

  constructor(
    readonly local: Btf,
    readonly vmlinux: Btf,
    readonly modules: readonly CoreTarget[] = [],
  ) {}

  /** Candidate types for a local root type id (before narrowing by matches). */
  candidates(localId: number): CoreCandidate[] {
    let cands = this.cache.get(localId);
    if (cands) return cands;
    const local = this.local;
    if (local.name(localId) === "") {
      throw fail(`relocation doesn't support anonymous types ([${localId}] ${kindStr(local, localId)})`);
    }
    cands = [];
    addCandidates(local, localId, { name: "vmlinux", btf: this.vmlinux }, 1, cands);
    if (cands.length === 0) {
      for (const m of this.modules) addCandidates(local, localId, m, m.btf.startId, cands);
    }
    this.cache.set(localId, cands);
    return cands;
  }

  /** Computes the relocation (libbpf bpf_core_calc_relo_insn). `progName`/`index` only label the log. */
  resolve(relo: CoreRelo, index = 0, progName = "prog"): CoreReloResult {
    const local = this.local;
    if (relo.typeId <= 0 || relo.typeId >= local.length)
      throw fail(`relo #${index}: bad local type id ${relo.typeId}`);
    const localSpec = parseCoreSpec(local, relo.typeId, relo.accessString, relo.kind);
    const log: string[] = [];
    const p = `prog '${progName}': relo #${index}:`;
    log.push(
      `${p} kind <${coreReloKindName(relo.kind)}> (${relo.kind}), spec is ${formatCoreSpec(localSpec)}`,
    );
    if (relo.kind === CoreReloKind.TYPE_ID_LOCAL) {
      const id = BigInt(relo.typeId);
      return {
        origVal: id,
        newVal: id,
        poison: false,
        validate: false,
        failMemszAdjust: false,
        origSz: 0,
        newSz: 0,
        localSpec,
        targetSpec: undefined,
        target: undefined,
        log,
      };
    }
    const cands = this.candidates(relo.typeId);
    let result: ReturnType<typeof calcRelo> | undefined;
    let targetSpec: CoreSpec | undefined;
    let target: CoreTarget | undefined;
    const kept: CoreCandidate[] = [];
    cands.forEach((cand, i) => {
      const spec = specMatch(localSpec, cand.target.btf, cand.id);
      const shown = spec ?? {
        btf: cand.target.btf,
        rootTypeId: cand.id,
        kind: relo.kind,
        spec: [],
        raw: [],
        bitOffset: 0,
      };
      log.push(`${p} ${spec ? "matching" : "non-matching"} candidate #${i} ${formatCoreSpec(shown)}`);
      if (!spec) return;
      const res = calcRelo(relo, localSpec, spec);
      if (!result) {
        result = res;
        targetSpec = spec;
        target = cand.target;
      } else if (spec.bitOffset !== targetSpec!.bitOffset) {
        throw fail(`relo #${index}: field offset ambiguity: ${spec.bitOffset} != ${targetSpec!.bitOffset}`);
      } else if (res.poison !== result.poison || res.newVal !== result.newVal) {
        throw fail(
          `relo #${index}: relocation decision ambiguity: ${result.poison ? "poison" : "success"} ${result.newVal} != ${res.poison ? "poison" : "success"} ${res.newVal}`,
        );
      }
      kept.push(cand);
    });
    if (kept.length > 0) this.cache.set(relo.typeId, kept);
    if (!result) {
      log.push(`${p} no matching targets found`);
      result = calcRelo(relo, localSpec, undefined);
    }
    return { ...result, localSpec, targetSpec, target, log };
  }
}

/** BPF instruction classes and fields used by the patcher. */
const CLASS_LD = 0x00;
const CLASS_LDX = 0x01;
const CLASS_ST = 0x02;
const CLASS_STX = 0x03;
const CLASS_ALU = 0x04;
const CLASS_ALU64 = 0x07;
const SIZE_BYTES: Record<number, number> = { 0: 4, 8: 2, 16: 1, 24: 8 };
const BYTES_SIZE: Record<number, number> = { 4: 0x00, 2: 0x08, 1: 0x10, 8: 0x18 };

/**
 * Applies a resolved relocation to instruction `insnIdx` of `insns` (little-endian 8-byte slots),
 * like libbpf's bpf_core_patch_insn: imm for ALU K, off for LDX/ST/STX (with memory size rewrite),
 * both imm halves for ld_imm64, or the poison call. Returns libbpf-style debug lines.
 */
export function patchCoreInsn(
  insns: Uint8Array,
  insnIdx: number,
  res: CoreReloResult,
  index = 0,
  progName = "prog",
): string[] {
  const view = new DataView(insns.buffer, insns.byteOffset, insns.byteLength);
  const at = insnIdx * 8;
  const p = `prog '${progName}': relo #${index}:`;
  if (at + 8 > insns.byteLength) throw fail(`${p} insn #${insnIdx} out of range`);
  const code = view.getUint8(at);
  const cls = code & 0x07;
  const isLdImm64 = code === 0x18;
  const log: string[] = [];
  const poison = (i: number) => {
    log.push(`${p} substituting insn #${i} w/ invalid insn`);
    view.setUint8(i * 8, 0x85);
    view.setUint8(i * 8 + 1, 0);
    view.setInt16(i * 8 + 2, 0, true);
    view.setInt32(i * 8 + 4, CORE_POISON_IMM, true);
  };
  const doPoison = () => {
    if (isLdImm64 && at + 16 <= insns.byteLength) poison(insnIdx + 1);
    poison(insnIdx);
    return log;
  };
  if (res.poison) return doPoison();
  const orig = res.origVal;
  const next = res.newVal;
  switch (cls) {
    case CLASS_ALU:
    case CLASS_ALU64: {
      if (code & 0x08) throw fail(`${p} insn #${insnIdx} (ALU/ALU64) uses a register source`);
      const imm = view.getInt32(at + 4, true);
      if (res.validate && BigInt.asUintN(64, BigInt(imm)) !== orig) {
        throw fail(
          `${p} unexpected insn #${insnIdx} (ALU/ALU64) value: got ${imm >>> 0}, exp ${orig} -> ${next}`,
        );
      }
      view.setInt32(at + 4, Number(BigInt.asIntN(32, next)), true);
      log.push(`${p} patched insn #${insnIdx} (ALU/ALU64) imm ${BigInt.asUintN(64, BigInt(imm))} -> ${next}`);
      break;
    }
    case CLASS_LDX:
    case CLASS_ST:
    case CLASS_STX: {
      const off = view.getInt16(at + 2, true);
      if (res.validate && BigInt.asUintN(64, BigInt(off)) !== orig) {
        throw fail(
          `${p} unexpected insn #${insnIdx} (LDX/ST/STX) value: got ${off & 0xffff}, exp ${orig} -> ${next}`,
        );
      }
      if (next > 0x7fffn) throw fail(`${p} insn #${insnIdx} (LDX/ST/STX) value too big: ${next}`);
      if (res.failMemszAdjust) {
        log.push(`${p} insn #${insnIdx} (LDX/ST/STX) accesses field incorrectly`);
        return doPoison();
      }
      view.setInt16(at + 2, Number(next), true);
      log.push(
        `${p} patched insn #${insnIdx} (LDX/ST/STX) off ${BigInt.asUintN(64, BigInt(off))} -> ${next}`,
      );
      if (res.newSz !== res.origSz) {
        const have = SIZE_BYTES[code & 0x18]!;
        if (have !== res.origSz) {
          throw fail(
            `${p} insn #${insnIdx} (LDX/ST/STX) unexpected mem size: got ${have}, exp ${res.origSz}`,
          );
        }
        const size = BYTES_SIZE[res.newSz];
        if (size === undefined)
          throw fail(`${p} insn #${insnIdx} (LDX/ST/STX) invalid new mem size: ${res.newSz}`);
        view.setUint8(at, (code & 0xe0) | size | cls);
        log.push(`${p} patched insn #${insnIdx} (LDX/ST/STX) mem_sz ${res.origSz} -> ${res.newSz}`);
      }
      break;
    }
    case CLASS_LD: {
      if (
        !isLdImm64 ||
        at + 16 > insns.byteLength ||
        view.getUint8(at + 1) >> 4 !== 0 ||
        view.getInt16(at + 2, true) !== 0 ||
        view.getUint8(at + 8) !== 0 ||
        view.getUint8(at + 9) !== 0 ||
        view.getInt16(at + 10, true) !== 0
      ) {
        throw fail(`${p} insn #${insnIdx} (LDIMM64) has unexpected form`);
      }
      const imm = (BigInt(view.getUint32(at + 12, true)) << 32n) | BigInt(view.getUint32(at + 4, true));
      if (res.validate && imm !== orig) {
        throw fail(`${p} unexpected insn #${insnIdx} (LDIMM64) value: got ${imm}, exp ${orig} -> ${next}`);
      }
      view.setUint32(at + 4, Number(next & 0xffffffffn), true);
      view.setUint32(at + 12, Number((next >> 32n) & 0xffffffffn), true);
      log.push(`${p} patched insn #${insnIdx} (LDIMM64) imm64 ${imm} -> ${next}`);
      break;
    }
    default:
      throw fail(
        `${p} trying to relocate unrecognized insn #${insnIdx}, code:0x${code.toString(16)}, src:0x${(view.getUint8(at + 1) >> 4).toString(16)}, dst:0x${(view.getUint8(at + 1) & 0xf).toString(16)}, off:0x${(view.getInt16(at + 2, true) & 0xffff).toString(16)}, imm:0x${(view.getInt32(at + 4, true) >>> 0).toString(16)}`,
      );
  }
  return log;
}
