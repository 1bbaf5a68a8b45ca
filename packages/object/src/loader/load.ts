import {
  type Btf,
  BtfKind,
  CoreRelocator,
  type CoreTarget,
  essentialName,
  patchCoreInsn,
  typesCompat,
} from "@bpfkit/btf";
import { ElfError } from "../error.js";
import type { ObjectMap } from "../maps/map.js";
import { MapType } from "../maps/map-types.js";
import { BpfPseudo, copyBytes, InsnView } from "./insn.js";
import type { BpfObject, ObjectExtern, ObjectProgram, ProgramRelocation } from "./object.js";

/** Options of `loadObject`: what libbpf takes from the running kernel. */
export interface LoadOptions {
  /** Kernel BTF for CO-RE and extern resolution (vmlinux). Without it CO-RE and ksyms stay unapplied. */
  kernelBtf?: Btf;
  /** Module BTFs (split on `kernelBtf`), searched after vmlinux like libbpf. */
  modules?: readonly CoreTarget[];
  /** Address of a kernel symbol (`/proc/kallsyms`) for typeless `__ksym` externs. */
  kallsyms?: (name: string) => bigint | undefined;
  /** Kconfig values (`CONFIG_X` -> "y" / "m" / number / string) and `LINUX_KERNEL_VERSION`. */
  kconfig?: Readonly<Record<string, string>>;
  /** Possible CPUs: a PERF_EVENT_ARRAY declared with max_entries 0 gets one slot per CPU. */
  possibleCpus?: number;
  /** Resolve `bpf_foo___v2` as `bpf_foo` like libbpf 1.5 (default false: libbpf 1.1). */
  kfuncFlavours?: boolean;
  /** Kernel page size for ring buffer sizing (default 4096). */
  pageSize?: number;
}

/**
 * The map as libbpf asks the kernel to create it: ring buffer sizes rounded up to a power-of-two
 * number of pages, perf event arrays without max_entries sized to the possible CPUs.
 */
export function createdMap(map: ObjectMap, options: LoadOptions): ObjectMap {
  const page = options.pageSize ?? 4096;
  let maxEntries = map.maxEntries;
  if ((map.type === MapType.RINGBUF || map.type === MapType.USER_RINGBUF) && maxEntries !== 0) {
    const pages = maxEntries / page;
    if (!(maxEntries % page === 0 && (pages & (pages - 1)) === 0)) {
      let mul = 1;
      while (mul * page <= maxEntries) mul *= 2;
      maxEntries = mul * page;
    }
  }
  if (map.type === MapType.PERF_EVENT_ARRAY && maxEntries === 0 && options.possibleCpus)
    maxEntries = options.possibleCpus;
  return maxEntries === map.maxEntries ? map : { ...map, maxEntries };
}

/** How an extern was resolved. */
export interface ResolvedExtern {
  extern: ObjectExtern;
  resolved: boolean;
  /** BTF id in the target (kfunc FUNC or VAR), 0 when unresolved or not BTF-based. */
  btfId: number;
  /** "vmlinux", a module name, "kallsyms", "kconfig". */
  source: string;
  /** fd_array index of the module BTF (kfuncs in modules; 0 = vmlinux). */
  fdArrayIndex: number;
  address: bigint;
}

/** A relocation as applied to the final instruction stream. */
export interface AppliedRelocation {
  /** Index in the final program. */
  insn: number;
  kind: ProgramRelocation["kind"] | "core";
  symbol: string;
  /** Map index, extern index, subprogram start, or the CO-RE value. */
  value: number;
}

/** A line_info record placed in the final program. */
export interface ProgramLine {
  insn: number;
  fileName: string;
  line: number;
  column: number;
  text: string;
}

/** A program as handed to the kernel. */
export interface LoadedProgram {
  name: string;
  section: string;
  progType: number;
  expectedAttachType: number;
  sleepable: boolean;
  /**
   * Final instructions, libbpf layout: the program, then each subprogram it calls in first-call
   * order. Map references are `lddw` src 1 (map) / 2 (value) with the map index as imm; kfunc
   * calls carry the target BTF id (imm) and fd_array index (off).
   */
  insns: Uint8Array;
  /** Start of each function (main first) with its BTF FUNC id in the object's BTF. */
  funcs: Array<{ insn: number; name: string; btfId: number }>;
  lines: ProgramLine[];
  relocations: AppliedRelocation[];
  /** Module BTFs the program's kfunc calls use, by fd_array index - 1. */
  fdArrayModules: string[];
}

/** The object after relocation: libbpf's state after `bpf_object__load` (without a kernel). */
export interface LoadedObject {
  object: BpfObject;
  maps: ObjectMap[];
  programs: LoadedProgram[];
  externs: ResolvedExtern[];
  /** CO-RE relocations applied (all programs), and how many poisoned their instruction. */
  core: { applied: number; poisoned: number };
}

function fail(message: string, section?: string): ElfError {
  return new ElfError(message, { kind: "malformed", offset: 0, section });
}

/** Relocates every autoload program of an opened object like libbpf's `bpf_object__load`. */
export function loadObject(obj: BpfObject, options: LoadOptions = {}): LoadedObject {
  const le = obj.endian === "little";
  // Work on copies so an object can be loaded again (for another kernel).
  const code = new Map<ObjectProgram, Uint8Array>();
  for (const f of obj.functions) code.set(f, copyBytes(f.insns));
  const externs = resolveExterns(obj, options);
  fillKconfig(obj, externs, options);
  const core = { applied: 0, poisoned: 0 };
  const coreByFn = new Map<ObjectProgram, AppliedRelocation[]>();
  if (obj.btfExt && obj.btf && options.kernelBtf && le) {
    const relocator = new CoreRelocator(obj.btf, options.kernelBtf, options.modules ?? []);
    let index = 0;
    for (const sec of obj.btfExt.coreRelos) {
      const secIdx = obj.elf.sections.findIndex((s) => s.name === sec.section);
      for (const r of sec.records) {
        const insnIdx = r.insnOff / 8;
        const fn = findFunction(obj, secIdx, insnIdx);
        if (!fn || !(fn.autoload || fn.isSubprogram)) continue;
        const res = relocator.resolve(r, index, fn.name);
        const local = insnIdx - fn.sectionInsnOffset;
        patchCoreInsn(code.get(fn)!, local, res, index, fn.name);
        index++;
        core.applied++;
        if (res.poison) core.poisoned++;
        const list = coreByFn.get(fn) ?? [];
        list.push({
          insn: local,
          kind: "core",
          symbol: r.accessString,
          value: Number(BigInt.asIntN(53, res.newVal)),
        });
        coreByFn.set(fn, list);
      }
    }
  }
  const relosByFn = new Map<ObjectProgram, ProgramRelocation[]>();
  for (const r of obj.relocations) {
    const fn = findFunction(obj, r.sectionIndex, r.insnIndex)!;
    const list = relosByFn.get(fn) ?? [];
    list.push(r);
    relosByFn.set(fn, list);
  }
  // libbpf marks every callback reference as BPF_PSEUDO_FUNC before laying out calls.
  for (const [fn, list] of relosByFn) {
    const v = new InsnView(code.get(fn)!, le);
    for (const r of list)
      if (r.kind === "subprog_addr") v.setSrc(r.insnIndex - fn.sectionInsnOffset, BpfPseudo.FUNC);
  }
  const programs: LoadedProgram[] = [];
  for (const main of obj.functions) {
    if (main.isSubprogram || !main.autoload) continue;
    programs.push(layoutProgram(obj, main, code, relosByFn, coreByFn, externs, le));
  }
  const maps = obj.maps.map((m) => createdMap(m, options));
  return { object: obj, maps, programs, externs, core };
}

function findFunction(obj: BpfObject, secIdx: number, insnIdx: number): ObjectProgram | undefined {
  return obj.functions.find(
    (f) =>
      f.sectionIndex === secIdx &&
      insnIdx >= f.sectionInsnOffset &&
      insnIdx < f.sectionInsnOffset + f.insnCount,
  );
}

function layoutProgram(
  obj: BpfObject,
  main: ObjectProgram,
  code: Map<ObjectProgram, Uint8Array>,
  relosByFn: Map<ObjectProgram, ProgramRelocation[]>,
  coreByFn: Map<ObjectProgram, AppliedRelocation[]>,
  externs: ResolvedExtern[],
  le: boolean,
): LoadedProgram {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const placed = new Map<ObjectProgram, number>();
  const funcs: LoadedProgram["funcs"] = [];
  const lines: ProgramLine[] = [];
  const relocations: AppliedRelocation[] = [];
  const fdArrayModules: string[] = [];
  const pending: Array<{ fn: ObjectProgram; start: number }> = [];
  const append = (fn: ObjectProgram): number => {
    const start = total;
    placed.set(fn, start);
    const bytes = copyBytes(code.get(fn)!);
    chunks.push(bytes);
    total += fn.insnCount;
    funcs.push({ insn: start, name: fn.name, btfId: funcInfoId(obj, fn) });
    lines.push(...lineInfo(obj, fn, start));
    for (const c of coreByFn.get(fn) ?? []) relocations.push({ ...c, insn: c.insn + start });
    pending.push({ fn, start });
    return start;
  };
  append(main);
  // Depth-first like libbpf's bpf_object__reloc_code: a callee is appended at its first call and
  // its own calls are laid out before the caller's remaining ones.
  const process = (fn: ObjectProgram, start: number, bytes: Uint8Array): void => {
    const v = new InsnView(bytes, le);
    const relos = relosByFn.get(fn) ?? [];
    for (let i = 0; i < fn.insnCount; i++) {
      const op = v.code(i);
      const isCall = op === 0x85 && v.src(i) === BpfPseudo.CALL;
      const isFunc = op === 0x18 && v.src(i) === BpfPseudo.FUNC;
      if (!isCall && !isFunc) continue;
      const secInsn = fn.sectionInsnOffset + i;
      const relo = relos.find((r) => r.insnIndex === secInsn);
      if (relo && (relo.kind === "extern_call" || relo.kind === "extern_ld64")) continue;
      if (relo && relo.kind !== "call" && relo.kind !== "subprog_addr")
        throw fail(`prog '${main.name}': unexpected relo for insn #${i}, type ${relo.kind}`, fn.section);
      let targetSec: number;
      let targetInsn: number;
      if (relo?.kind === "call") {
        targetSec = obj.textSectionIndex;
        targetInsn = relo.symbolOffset / 8 + v.imm(i) + 1;
      } else if (relo) {
        if (relo.symbolOffset % 8 !== 0)
          throw fail(`prog '${main.name}': bad subprog addr relo offset`, fn.section);
        targetSec = obj.textSectionIndex;
        targetInsn = (relo.symbolOffset + v.imm(i)) / 8;
      } else if (isFunc) {
        continue;
      } else {
        targetSec = fn.sectionIndex;
        targetInsn = secInsn + v.imm(i) + 1;
      }
      const callee = obj.functions.find(
        (f) => f.sectionIndex === targetSec && f.sectionInsnOffset === targetInsn,
      );
      if (!callee)
        throw fail(
          `prog '${main.name}': no .text instruction #${targetInsn} starts a subprogram (call at insn #${i} of ${fn.name}, imm ${v.imm(i)}, relo ${relo?.kind})`,
          fn.section,
        );
      let at = placed.get(callee);
      const first = at === undefined;
      if (at === undefined) at = append(callee);
      const here = start + i;
      v.setImm(i, at - here - 1);
      relocations.push({ insn: here, kind: relo?.kind ?? "call", symbol: callee.name, value: at });
      if (first) {
        const p = pending.pop()!;
        process(p.fn, p.start, chunks[chunks.length - 1]!);
      }
    }
  };
  const first = pending.pop()!;
  process(first.fn, first.start, chunks[0]!);
  const insns = new Uint8Array(total * 8);
  let at = 0;
  for (const c of chunks) {
    insns.set(c, at);
    at += c.byteLength;
  }
  // Map, global data and extern references, for the main program and each appended copy.
  const v = new InsnView(insns, le);
  for (const [fn, start] of placed) {
    for (const r of relosByFn.get(fn) ?? []) {
      const i = start + r.insnIndex - fn.sectionInsnOffset;
      switch (r.kind) {
        case "map":
          v.setSrc(i, BpfPseudo.MAP_FD);
          v.setImm(i, r.target);
          relocations.push({ insn: i, kind: "map", symbol: r.symbolName, value: r.target });
          break;
        case "data":
          v.setImm(i + 1, v.imm(i) + r.symbolOffset);
          v.setSrc(i, BpfPseudo.MAP_VALUE);
          v.setImm(i, r.target);
          relocations.push({ insn: i, kind: "data", symbol: r.symbolName, value: r.target });
          break;
        case "extern_ld64": {
          const e = externs[r.target]!;
          if (e.extern.kind === "kconfig") {
            const kmap = obj.maps.findIndex((m) => m.origin === "kconfig");
            v.setSrc(i, BpfPseudo.MAP_VALUE);
            v.setImm(i, kmap);
            v.setImm(i + 1, e.extern.kconfigOffset);
          } else if ((e.extern.kind === "ksym-var" || e.extern.kind === "kfunc") && e.resolved) {
            v.setSrc(i, BpfPseudo.BTF_ID);
            v.setImm(i, e.btfId);
            v.setImm(i + 1, 0);
          } else {
            v.setImm(i, Number(BigInt.asIntN(32, e.address)));
            v.setImm(i + 1, Number(BigInt.asIntN(32, e.address >> 32n)));
          }
          relocations.push({ insn: i, kind: r.kind, symbol: r.symbolName, value: r.target });
          break;
        }
        case "extern_call": {
          const e = externs[r.target]!;
          if (e.resolved) {
            v.setSrc(i, BpfPseudo.KFUNC_CALL);
            v.setImm(i, e.btfId);
            let idx = 0;
            if (e.source !== "vmlinux") {
              idx = fdArrayModules.indexOf(e.source) + 1;
              if (idx === 0) idx = fdArrayModules.push(e.source);
            }
            v.setOff(i, idx);
          } else {
            // libbpf 1.1 leaves an unresolved weak kfunc as a kfunc call to id 0.
            v.setSrc(i, BpfPseudo.KFUNC_CALL);
            v.setImm(i, 0);
            v.setOff(i, 0);
          }
          relocations.push({ insn: i, kind: r.kind, symbol: r.symbolName, value: r.target });
          break;
        }
        default:
          break;
      }
    }
  }
  relocations.sort((a, b) => a.insn - b.insn);
  lines.sort((a, b) => a.insn - b.insn);
  return {
    name: main.name,
    section: main.section,
    progType: main.progType,
    expectedAttachType: main.expectedAttachType,
    sleepable: main.sleepable,
    insns,
    funcs,
    lines,
    relocations,
    fdArrayModules,
  };
}

function funcInfoId(obj: BpfObject, fn: ObjectProgram): number {
  const elfName = obj.elf.sections[fn.sectionIndex]?.name;
  const sec = obj.btfExt?.funcInfo.find((s) => s.section === elfName);
  const rec = sec?.records.find((r) => r.insnOff / 8 === fn.sectionInsnOffset);
  return rec?.typeId ?? 0;
}

function lineInfo(obj: BpfObject, fn: ObjectProgram, start: number): ProgramLine[] {
  const elfName = obj.elf.sections[fn.sectionIndex]?.name;
  const sec = obj.btfExt?.lineInfo.find((s) => s.section === elfName);
  if (!sec) return [];
  const out: ProgramLine[] = [];
  for (const r of sec.records) {
    const idx = r.insnOff / 8 - fn.sectionInsnOffset;
    if (idx < 0 || idx >= fn.insnCount) continue;
    out.push({ insn: start + idx, fileName: r.fileName, line: r.line, column: r.column, text: r.lineText });
  }
  return out;
}

function lookupKernel(
  options: LoadOptions,
  name: string,
  kind: number,
): { btf: Btf; id: number; source: string } | undefined {
  const k = options.kernelBtf;
  if (!k) return undefined;
  const id = k.find(name, kind);
  if (id !== undefined) return { btf: k, id, source: "vmlinux" };
  for (const m of options.modules ?? []) {
    const mid = m.btf.findAll(name, kind).find((x) => x >= m.btf.startId);
    if (mid !== undefined) return { btf: m.btf, id: mid, source: m.name };
  }
  return undefined;
}

function resolveExterns(obj: BpfObject, options: LoadOptions): ResolvedExtern[] {
  const btf = obj.btf;
  return obj.externs.map((e) => {
    const out: ResolvedExtern = {
      extern: e,
      resolved: false,
      btfId: 0,
      source: "",
      fdArrayIndex: 0,
      address: 0n,
    };
    if (!btf) return out;
    switch (e.kind) {
      case "kconfig": {
        const v = options.kconfig?.[e.name];
        out.resolved = v !== undefined;
        out.source = "kconfig";
        break;
      }
      case "ksym-typeless": {
        const addr = options.kallsyms?.(e.name);
        if (addr === undefined) {
          if (!e.weak && options.kallsyms)
            throw fail(`extern (ksym) '${e.name}': not found in kallsyms`, ".ksyms");
        } else {
          out.resolved = true;
          out.address = addr;
          out.source = "kallsyms";
        }
        break;
      }
      case "kfunc": {
        // libbpf 1.1 looks kfuncs up by their full name (1.5 strips a `___flavour` suffix).
        const name = options.kfuncFlavours ? essentialName(e.name) : e.name;
        const hit = lookupKernel(options, name, BtfKind.FUNC);
        if (!hit) {
          if (!e.weak && options.kernelBtf)
            throw fail(`extern (func ksym) '${e.name}': not found in kernel or module BTFs`, ".ksyms");
          break;
        }
        const localProto = btf.sizeOrType(e.btfId);
        const kernProto = hit.btf.sizeOrType(hit.id);
        if (!typesCompat(btf, localProto, hit.btf, kernProto)) {
          if (!e.weak)
            throw fail(
              `extern (func ksym) '${e.name}': func_proto [${localProto}] incompatible with kernel [${kernProto}]`,
              ".ksyms",
            );
          break;
        }
        out.resolved = true;
        out.btfId = hit.id;
        out.source = hit.source;
        break;
      }
      case "ksym-var": {
        const hit = lookupKernel(options, e.name, BtfKind.VAR);
        if (!hit) {
          if (!e.weak && options.kernelBtf)
            throw fail(`extern (var ksym) '${e.name}': not found in kernel BTF`, ".ksyms");
          break;
        }
        out.resolved = true;
        out.btfId = hit.id;
        out.source = hit.source;
        break;
      }
    }
    return out;
  });
}

/** Writes kconfig values into the `.kconfig` map's initial bytes (bool/tristate/int/char[]). */
function fillKconfig(obj: BpfObject, externs: ResolvedExtern[], options: LoadOptions): void {
  const map = obj.maps.find((m) => m.origin === "kconfig");
  if (!map?.initial || !obj.btf) return;
  const view = new DataView(map.initial.buffer, map.initial.byteOffset, map.initial.byteLength);
  const le = obj.endian === "little";
  for (const r of externs) {
    const e = r.extern;
    if (e.kind !== "kconfig") continue;
    const raw = options.kconfig?.[e.name];
    if (raw === undefined) continue;
    const off = e.kconfigOffset;
    const t = obj.btf.resolve(obj.btf.sizeOrType(e.btfId));
    const k = obj.btf.kind(t);
    if (k === BtfKind.ARRAY) {
      const s = new TextEncoder().encode(raw.replace(/^"|"$/g, ""));
      map.initial.set(s.subarray(0, Math.max(0, e.size - 1)), off);
      continue;
    }
    // libbpf: a `char` holds the letter itself, bool/tristate/int take y=1, m=2, n=0 (m only
    // for tristate), numbers are read like strtoull(..., 0) (0x hex, leading-0 octal).
    const isChar = k === BtfKind.INT && ((obj.btf.tail(t, 0) >>> 24) & 2) !== 0;
    let value: bigint;
    if (isChar && (raw === "y" || raw === "m" || raw === "n")) value = BigInt(raw.charCodeAt(0));
    else if (raw === "y") value = 1n;
    else if (raw === "m") value = 2n;
    else if (raw === "n") value = 0n;
    else {
      try {
        value = /^-?0[0-7]+$/.test(raw) ? BigInt(raw.replace("0", "0o")) : BigInt(raw);
      } catch {
        continue;
      }
    }
    if (e.size === 1) view.setUint8(off, Number(value & 0xffn));
    else if (e.size === 2) view.setUint16(off, Number(value & 0xffffn), le);
    else if (e.size === 4) view.setUint32(off, Number(value & 0xffffffffn), le);
    else if (e.size === 8) view.setBigUint64(off, BigInt.asUintN(64, value), le);
  }
}
