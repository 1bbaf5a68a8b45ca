import { type Btf, BtfKind, BtfLinkage, parseBtf, parseBtfExt } from "@bpfkit/btf";
import {
  EM_BPF,
  SHF_EXECINSTR,
  SHN_LORESERVE,
  SHN_UNDEF,
  SHT_NOBITS,
  SHT_PROGBITS,
  SHT_REL,
  STB_GLOBAL,
  STB_LOCAL,
  STB_WEAK,
  STT_FUNC,
  STT_NOTYPE,
  STT_SECTION,
} from "../elf/constants.js";
import { type ElfFile, type ElfSection, type ElfSymbol, readElf } from "../elf/read.js";
import { ElfError } from "../error.js";
import { parseBtfMaps } from "../maps/btf-maps.js";
import type { MapOrigin, ObjectMap } from "../maps/map.js";
import { BPF_F_MMAPABLE, BPF_F_RDONLY_PROG, MapType } from "../maps/map-types.js";
import { findSecDef } from "../programs/sec-def.js";
import { copyBytes, InsnView, OP_CALL, OP_LDDW } from "./insn.js";
import type { BpfObject, ObjectExtern, ObjectProgram, ProgramRelocation } from "./object.js";

/** Options of `openObject`. */
export interface OpenOptions {
  /** Object name (map name prefix); default: derived from `fileName` like libbpf, else "obj". */
  name?: string;
  /** File name the bytes came from (only its basename is used). */
  fileName?: string;
  /** Kernel BTF, needed at open only for `.struct_ops` maps (their value size is the kernel's). */
  kernelBtf?: Btf;
  /**
   * Accept static functions outside `.text` as subprograms of their section (called pc-relative
   * by the section's programs). libbpf refuses them (`program '%s' is static and not supported`);
   * off by default for parity.
   */
  staticSubprograms?: boolean;
}

/** The kernel's name limit (`BPF_OBJ_NAME_LEN` - 1). */
const OBJ_NAME_MAX = 15;

/** libbpf's object name: the basename cut to 15 bytes, then at the first dot. */
export function objectNameFromPath(path: string): string {
  const base = path.slice(path.lastIndexOf("/") + 1).slice(0, OBJ_NAME_MAX);
  const dot = base.indexOf(".");
  return dot >= 0 ? base.slice(0, dot) : base;
}

/** libbpf's internal map name: object name prefix + section name within 15 chars (elf-object.md 6). */
export function internalMapName(objName: string, sectionName: string): string {
  // Custom `.data.X`/`.rodata.X` sections keep their whole name in libbpf 1.1 (the kernel stores
  // the first 15 bytes); `.bss.X` names are cut to 15.
  if (sectionName.indexOf(".", 1) >= 0) {
    const full = sectionName.startsWith(".bss") ? sectionName.slice(0, OBJ_NAME_MAX) : sectionName;
    return full.replace(/[^A-Za-z0-9_.]/g, "_");
  }
  const sfxLen = Math.max(7, sectionName.length);
  const pfxLen = Math.max(0, Math.min(OBJ_NAME_MAX - sfxLen, objName.length));
  const name = (objName.slice(0, pfxLen) + sectionName.slice(0, sfxLen)).slice(0, OBJ_NAME_MAX);
  return name.replace(/[^A-Za-z0-9_.]/g, "_");
}

function err(
  message: string,
  section?: ElfSection,
  kind: "malformed" | "unsupported" = "malformed",
): ElfError {
  return new ElfError(message, { kind, offset: section?.offset ?? 0, section: section?.name });
}

function isIgnored(s: ElfSection): boolean {
  if (s.type === 3 /* STRTAB */ || s.type === 0x6fff4c03 /* LLVM_ADDRSIG */) return true;
  if (s.name === ".text" && s.size === 0n) return true;
  if (s.name.startsWith(".debug_") || s.name.startsWith(".rel.debug_")) return true;
  return s.name === ".rel.BTF" || s.name === ".rel.BTF.ext";
}

type DataKind = "data" | "rodata" | "bss";

function dataKind(s: ElfSection): DataKind | undefined {
  const has = (p: string) => s.name === p || s.name.startsWith(`${p}.`);
  if (s.type === SHT_PROGBITS && s.size > 0n && (s.flags & BigInt(SHF_EXECINSTR)) === 0n) {
    if (has(".data")) return "data";
    if (has(".rodata")) return "rodata";
  }
  if (s.type === SHT_NOBITS && has(".bss")) return "bss";
  return undefined;
}

function isCode(s: ElfSection): boolean {
  return s.type === SHT_PROGBITS && s.size > 0n && (s.flags & BigInt(SHF_EXECINSTR)) !== 0n;
}

function symbolName(sym: ElfSymbol): string {
  if (sym.type === STT_SECTION && sym.name === "") return sym.section?.name ?? "";
  return sym.name;
}

/** Parses a clang-built BPF object like libbpf's `bpf_object__open` (elf-object.md 8, open 1-4). */
export function openObject(bytes: Uint8Array, options: OpenOptions = {}): BpfObject {
  const elf = readElf(bytes);
  if (elf.header.machine !== EM_BPF && elf.header.machine !== 0)
    throw err(`elf: not a BPF object (e_machine ${elf.header.machine})`);
  if (!elf.symtab) throw err("elf: couldn't find symbol table, stripped object file?");
  const le = elf.header.endian === "little";
  const name = options.name ?? (options.fileName ? objectNameFromPath(options.fileName) : "obj");
  let license = "";
  let kernelVersion = 0;
  let btfSection: ElfSection | undefined;
  let btfExtSection: ElfSection | undefined;
  let mapsSection: ElfSection | undefined;
  let structOpsSection: ElfSection | undefined;
  let textSectionIndex = -1;
  const dataSections: Array<{ section: ElfSection; kind: DataKind }> = [];
  const codeSections: ElfSection[] = [];
  for (const s of elf.sections) {
    if (s.index === 0 || isIgnored(s)) continue;
    if (s.name === "license") {
      const nul = s.data.indexOf(0);
      license = new TextDecoder().decode(s.data.subarray(0, Math.min(nul < 0 ? s.data.length : nul, 63)));
    } else if (s.name === "version") {
      if (s.data.byteLength !== 4) throw err(`invalid kver section in ${name}`, s);
      kernelVersion = new DataView(s.data.buffer, s.data.byteOffset, 4).getUint32(0, le);
    } else if (s.name === "maps") {
      throw err(
        "elf: legacy map definitions in 'maps' section are not supported by libbpf v1.0+",
        s,
        "unsupported",
      );
    } else if (s.name === ".maps") {
      mapsSection = s;
    } else if (s.name === ".BTF") {
      btfSection = s;
    } else if (s.name === ".BTF.ext") {
      btfExtSection = s;
    } else if (isCode(s)) {
      if (s.name === ".text") textSectionIndex = s.index;
      codeSections.push(s);
    } else if (s.type === SHT_PROGBITS && s.size > 0n && s.name === ".struct_ops") {
      structOpsSection = s;
    } else {
      const kind = dataKind(s);
      if (kind) dataSections.push({ section: s, kind });
    }
  }

  const btf = btfSection ? parseBtf(btfSection.data) : undefined;
  const btfExt = btfExtSection && btf ? parseBtfExt(btfExtSection.data, btf) : undefined;

  const functions = collectFunctions(elf, codeSections, textSectionIndex, options.staticSubprograms === true);
  const externs = collectExterns(elf, btf);

  const maps: ObjectMap[] = [];
  if (mapsSection) {
    if (!btf) throw err("elf: BTF is required for the '.maps' section", mapsSection);
    const offsets = new Map<string, number>();
    for (const sym of elf.symbols)
      if (sym.shndx === mapsSection.index) offsets.set(sym.name, Number(sym.value));
    maps.push(...parseBtfMaps(btf, mapsSection.index, (n) => offsets.get(n)));
  }
  for (const { section, kind } of dataSections) {
    maps.push(dataMap(name, section, kind, btf, hiddenNames(elf, section.index)));
  }
  const kconfig = externs.filter((e) => e.kind === "kconfig");
  if (kconfig.length > 0) {
    const last = kconfig[kconfig.length - 1]!;
    const size = last.kconfigOffset + last.size;
    maps.push({
      ...blankMap(internalMapName(name, ".kconfig"), "kconfig", -1, ".kconfig"),
      type: MapType.ARRAY,
      keySize: 4,
      valueSize: size,
      maxEntries: 1,
      flags: BPF_F_RDONLY_PROG | BPF_F_MMAPABLE,
      initial: new Uint8Array(size),
      readonly: true,
    });
  }
  if (structOpsSection && btf) maps.push(...structOpsMaps(btf, structOpsSection, options.kernelBtf));

  const relocations = collectRelocations(elf, functions, maps, externs, textSectionIndex, le);
  return {
    name,
    elf,
    endian: elf.header.endian,
    license,
    kernelVersion,
    btf,
    btfExt,
    functions,
    maps,
    externs,
    relocations,
    textSectionIndex,
  };
}

function blankMap(mapName: string, origin: MapOrigin, sectionIndex: number, sectionName: string): ObjectMap {
  return {
    name: mapName,
    type: 0,
    keySize: 0,
    valueSize: 0,
    maxEntries: 0,
    flags: 0,
    numaNode: 0,
    mapExtra: 0n,
    pinning: 0,
    origin,
    sectionIndex,
    sectionName,
    sectionOffset: 0,
    btfKeyTypeId: 0,
    btfValueTypeId: 0,
    inner: undefined,
    initial: undefined,
    readonly: false,
    autocreate: true,
  };
}

/** Names of hidden-visibility symbols of a section: libbpf turns their BTF VARs static. */
function hiddenNames(elf: ElfFile, sectionIndex: number): Set<string> {
  const out = new Set<string>();
  for (const s of elf.symbols) if (s.shndx === sectionIndex && s.visibility === 2) out.add(s.name);
  return out;
}

/** libbpf's map_is_mmapable: the section's DATASEC has at least one non-static VAR. */
function hasNonStaticVar(btf: Btf | undefined, datasec: number | undefined, hidden: Set<string>): boolean {
  if (!btf || datasec === undefined) return false;
  const n = btf.vlen(datasec);
  for (let i = 0; i < n; i++) {
    const v = btf.tail(datasec, i * 3);
    if (btf.kind(v) !== BtfKind.VAR) continue;
    if (btf.tail(v, 0) !== BtfLinkage.STATIC && !hidden.has(btf.name(v))) return true;
  }
  return false;
}

function dataMap(
  objName: string,
  section: ElfSection,
  kind: DataKind,
  btf: Btf | undefined,
  hidden: Set<string>,
): ObjectMap {
  const size = Number(section.size);
  if (size > 0x7fffffff) throw err("elf: global data section too large", section);
  const initial = new Uint8Array(size);
  if (kind !== "bss") initial.set(section.data.subarray(0, size));
  const rodata = kind === "rodata";
  const datasec = btf?.find(section.name, BtfKind.DATASEC);
  return {
    ...blankMap(internalMapName(objName, section.name), kind, section.index, section.name),
    type: MapType.ARRAY,
    keySize: 4,
    valueSize: size,
    maxEntries: 1,
    flags: (rodata ? BPF_F_RDONLY_PROG : 0) | (hasNonStaticVar(btf, datasec, hidden) ? BPF_F_MMAPABLE : 0),
    btfValueTypeId: datasec ?? 0,
    initial,
    readonly: rodata,
  };
}

/** `.struct_ops` variables: one STRUCT_OPS map each, sized by the kernel's `bpf_struct_ops_<T>`. */
function structOpsMaps(btf: Btf, section: ElfSection, kernelBtf: Btf | undefined): ObjectMap[] {
  const sec = btf.find(section.name, BtfKind.DATASEC);
  if (sec === undefined) return [];
  const info = btf.type(sec);
  if (info.kind !== "datasec") return [];
  return info.vars.map((v) => {
    const varName = btf.name(v.type);
    const tname = btf.name(btf.resolve(btf.sizeOrType(v.type)));
    const kern = kernelBtf?.find(`bpf_struct_ops_${tname}`, BtfKind.STRUCT);
    return {
      ...blankMap(varName, "struct_ops", section.index, section.name),
      type: MapType.STRUCT_OPS,
      keySize: 4,
      valueSize: kern !== undefined && kernelBtf ? kernelBtf.sizeof(kern) : 0,
      maxEntries: 1,
      sectionOffset: v.offset,
    };
  });
}

function collectFunctions(
  elf: ElfFile,
  code: ElfSection[],
  textIdx: number,
  staticSubprograms: boolean,
): ObjectProgram[] {
  const out: ObjectProgram[] = [];
  const codeIdx = new Set(code.map((s) => s.index));
  for (const sym of elf.symbols) {
    if (sym.type !== STT_FUNC || !codeIdx.has(sym.shndx)) continue;
    const s = sym.section!;
    const secName = s.name;
    const off = Number(sym.value);
    const size = Number(sym.size);
    if (off % 8 !== 0 || size % 8 !== 0 || off + size > s.data.byteLength || size === 0)
      throw err(`sec '${secName}': corrupted program '${sym.name}', offset ${off}, size ${size}`, s);
    const isSub = sym.shndx === textIdx || (staticSubprograms && sym.bind === STB_LOCAL);
    if (!isSub && sym.bind === STB_LOCAL)
      throw err(`sec '${secName}': program '${sym.name}' is static and not supported`, s, "unsupported");
    const optional = secName.startsWith("?");
    const section = optional ? secName.slice(1) : secName;
    const def = isSub ? undefined : findSecDef(section);
    out.push({
      name: sym.name,
      section,
      sectionIndex: s.index,
      sectionInsnOffset: off / 8,
      insnCount: size / 8,
      progType: def?.progType ?? 0,
      expectedAttachType: def?.expectedAttachType ?? 0,
      sleepable: def?.sleepable ?? false,
      autoload: !optional,
      isSubprogram: isSub,
      global: sym.bind !== STB_LOCAL,
      insns: copyBytes(s.data.subarray(off, off + size)),
    });
  }
  out.sort((a, b) => a.sectionIndex - b.sectionIndex || a.sectionInsnOffset - b.sectionInsnOffset);
  // libbpf: a `.text` function is an entry program when it is the object's only function.
  const only = out.length === 1 ? out[0] : undefined;
  if (only?.isSubprogram) only.isSubprogram = false;
  return out;
}

const KCFG = 1;
const KSYM = 2;

function collectExterns(elf: ElfFile, btf: Btf | undefined): ObjectExtern[] {
  const raw: Array<ObjectExtern & { order: number }> = [];
  for (const sym of elf.symbols) {
    if (sym.shndx !== SHN_UNDEF || sym.type !== STT_NOTYPE || sym.name === "") continue;
    if (sym.bind !== STB_GLOBAL && sym.bind !== STB_WEAK) continue;
    if (!btf) throw err(`failed to find BTF for extern '${sym.name}': -2`, elf.symtab);
    let id = -1;
    for (const cand of btf.findAll(sym.name)) {
      const k = btf.kind(cand);
      if (
        (k === BtfKind.VAR && btf.tail(cand, 0) === BtfLinkage.EXTERN) ||
        (k === BtfKind.FUNC && btf.vlen(cand) === BtfLinkage.EXTERN)
      ) {
        id = cand;
        break;
      }
    }
    if (id < 0) throw err(`failed to find BTF for extern '${sym.name}': -2`, elf.symtab);
    const secName = datasecOf(btf, id);
    const weak = sym.bind === STB_WEAK;
    const base = {
      name: sym.name,
      weak,
      symbolIndex: sym.index,
      btfId: id,
      kconfigOffset: 0,
      size: 0,
      align: 1,
    };
    if (secName === ".kconfig") {
      if (btf.kind(id) !== BtfKind.VAR)
        throw err(`extern (kcfg) '${sym.name}': unsupported kind`, elf.symtab);
      const t = btf.sizeOrType(id);
      raw.push({ ...base, kind: "kconfig", size: btf.sizeof(t), align: btf.alignof(t), order: KCFG });
    } else if (secName === ".ksyms") {
      if (btf.kind(id) === BtfKind.FUNC) raw.push({ ...base, kind: "kfunc", order: KSYM });
      else {
        const t = btf.skipModifiers(btf.sizeOrType(id));
        raw.push({ ...base, kind: t === 0 ? "ksym-typeless" : "ksym-var", order: KSYM });
      }
    } else {
      throw err(`unrecognized extern section '${secName ?? ""}'`, elf.symtab, "unsupported");
    }
  }
  // libbpf's cmp_externs: kconfig before ksyms; kconfig by alignment (desc) then size (asc); then name.
  raw.sort((a, b) => {
    if (a.order !== b.order) return a.order - b.order;
    if (a.order === KCFG) {
      if (a.align !== b.align) return b.align - a.align;
      if (a.size !== b.size) return a.size - b.size;
    }
    return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  });
  let off = 0;
  return raw.map(({ order, ...e }) => {
    if (order === KCFG) {
      off = Math.ceil(off / e.align) * e.align;
      e.kconfigOffset = off;
      off += e.size;
    }
    return e;
  });
}

function datasecOf(btf: Btf, varId: number): string | undefined {
  for (let id = 1; id < btf.length; id++) {
    if (btf.kind(id) !== BtfKind.DATASEC) continue;
    const n = btf.vlen(id);
    for (let i = 0; i < n; i++) if (btf.tail(id, i * 3) === varId) return btf.name(id);
  }
  return undefined;
}

function collectRelocations(
  elf: ElfFile,
  functions: ObjectProgram[],
  maps: ObjectMap[],
  externs: ObjectExtern[],
  textIdx: number,
  le: boolean,
): ProgramRelocation[] {
  const out: ProgramRelocation[] = [];
  const codeFns = new Map<number, ObjectProgram[]>();
  for (const f of functions) {
    const list = codeFns.get(f.sectionIndex);
    if (list) list.push(f);
    else codeFns.set(f.sectionIndex, [f]);
  }
  for (const rs of elf.relocationSections) {
    if (rs.section.type !== SHT_REL) continue;
    const fns = codeFns.get(rs.target.index);
    if (!fns) continue;
    const target = rs.target;
    const view = new InsnView(target.data, le);
    for (const [i, rel] of rs.relocations.entries()) {
      const off = Number(rel.offset);
      if (off % 8 !== 0 || off + 8 > target.data.byteLength)
        throw err(
          `sec '${rs.section.name}': invalid offset 0x${off.toString(16)} for relo #${i}`,
          rs.section,
        );
      const insnIndex = off / 8;
      const fn = fns.find(
        (f) => insnIndex >= f.sectionInsnOffset && insnIndex < f.sectionInsnOffset + f.insnCount,
      );
      if (!fn) continue; // belongs to an eliminated weak subprogram
      const sym = rel.symbol;
      if (!sym) throw err(`sec '${rs.section.name}': relo #${i} has no symbol`, rs.section);
      const sname = symbolName(sym);
      const code = view.code(insnIndex);
      const isCall = code === OP_CALL;
      if (!isCall && code !== OP_LDDW)
        throw err(
          `prog '${fn.name}': invalid relo against '${sname}' for insns[${insnIndex}].code 0x${code.toString(16)}`,
          rs.section,
        );
      const base = {
        sectionIndex: target.index,
        insnIndex,
        symbol: sym,
        symbolName: sname,
        symbolOffset: Number(sym.value),
      };
      if (
        sym.shndx === SHN_UNDEF &&
        (sym.bind === STB_GLOBAL || sym.bind === STB_WEAK) &&
        sym.type === STT_NOTYPE &&
        sym.name !== ""
      ) {
        const e = externs.findIndex((x) => x.symbolIndex === sym.index);
        if (e < 0)
          throw err(
            `prog '${fn.name}': extern relo failed to find extern for '${sname}' (${sym.index})`,
            rs.section,
          );
        out.push({ ...base, kind: isCall ? "extern_call" : "extern_ld64", target: e, symbolOffset: 0 });
        continue;
      }
      if (isCall) {
        if (view.src(insnIndex) !== 1) throw err(`prog '${fn.name}': incorrect bpf_call opcode`, rs.section);
        if (sym.shndx === 0 || sym.shndx !== textIdx)
          throw err(
            `prog '${fn.name}': bad call relo against '${sname}' in section '${sym.section?.name ?? ""}'`,
            rs.section,
          );
        if (sym.value % 8n !== 0n)
          throw err(`prog '${fn.name}': bad call relo offset: ${sym.value}`, rs.section);
        out.push({ ...base, kind: "call", target: -1 });
        continue;
      }
      const isSubprog =
        sym.shndx === textIdx &&
        ((sym.bind === STB_LOCAL && sym.type === STT_SECTION) ||
          (sym.bind === STB_GLOBAL && sym.type === STT_FUNC));
      if (isSubprog) {
        out.push({ ...base, kind: "subprog_addr", target: -1 });
        continue;
      }
      if (sym.shndx === 0 || sym.shndx >= SHN_LORESERVE)
        throw err(
          `prog '${fn.name}': invalid relo against '${sname}' in special section 0x${sym.shndx.toString(16)}; forgot to initialize global var?..`,
          rs.section,
        );
      const secName = sym.section?.name ?? "";
      if (secName === ".maps") {
        const m = maps.findIndex(
          (x) => x.origin === "btf" && x.sectionIndex === sym.shndx && x.sectionOffset === Number(sym.value),
        );
        if (m < 0)
          throw err(
            `prog '${fn.name}': map relo failed to find map for section '${secName}', off ${sym.value}`,
            rs.section,
          );
        out.push({ ...base, kind: "map", target: m, symbolOffset: 0 });
        continue;
      }
      const m = maps.findIndex((x) => x.origin !== "btf" && x.sectionIndex === sym.shndx);
      if (m < 0) {
        const what = sym.section && dataKind(sym.section) ? "data" : "map";
        throw err(
          what === "data"
            ? `prog '${fn.name}': bad data relo against section '${secName}'`
            : `prog '${fn.name}': bad map relo against '${sname}' in section '${secName}'`,
          rs.section,
        );
      }
      out.push({ ...base, kind: "data", target: m });
    }
  }
  return out;
}
