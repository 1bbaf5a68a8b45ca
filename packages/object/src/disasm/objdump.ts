import type { Instruction } from "@bpfkit/bpf-isa";
import { decode, disassembleUbpfInsn, llvmBranchTarget, printKernelInsn, printLlvm } from "@bpfkit/bpf-isa";
import type { Btf } from "@bpfkit/btf";
import { BtfError, parseBtf, parseBtfExt } from "@bpfkit/btf";
import {
  bpfRelocationName,
  EM_BPF,
  ET_REL,
  SHF_EXECINSTR,
  SHT_NOBITS,
  STT_COMMON,
  STT_FILE,
  STT_FUNC,
  STT_OBJECT,
  STT_SECTION,
} from "../elf/constants.js";
import type { ElfFile, ElfRelocation, ElfSection } from "../elf/read.js";
import { readElf } from "../elf/read.js";
import { ElfError } from "../error.js";
import type { CoreRelocation } from "./core-relo.js";
import { describeCoreRelocation } from "./core-relo.js";

/** Instruction syntax of `disassembleObject`; the framing is llvm-objdump's in all three. */
export type DisasmSyntax = "llvm" | "kernel" | "ubpf";

export interface DisassembleOptions {
  /** Default `"llvm"`: byte-identical to `llvm-objdump-19 -d -r`. */
  syntax?: DisasmSyntax;
  /**
   * When given, the output starts with objdump's `\n<fileName>:\tfile format elf64-bpf\n` header
   * (the whole of what objdump prints); otherwise it starts at the first `Disassembly of section`.
   */
  fileName?: string;
  /** Print 32-bit loads, stores and atomics with `w` registers (`llvm-objdump --mcpu=v3`). */
  alu32?: boolean;
  /** Relocation lines (objdump `-r`), default true. */
  relocations?: boolean;
}

interface SymbolInfo {
  addr: bigint;
  name: string;
  type: number;
}

const U64 = (1n << 64n) - 1n;

/**
 * Disassembles every executable section of a BPF ELF object the way `llvm-objdump-19 -d -r`
 * does (spec bpf-isa.md 6.1): sections in header order (empty ones skipped), one block per
 * symbol address (the section name stands in when no symbol starts the section), `<unknown>`
 * for what LLVM cannot decode, `<sym+0x..>` after branches, then the CO-RE line from .BTF.ext
 * and the relocation lines of each instruction. With `syntax` "kernel" or "ubpf" the same
 * listing carries that syntax's instruction text instead.
 *
 * Throws `ElfError` for malformed input (a corrupt .BTF/.BTF.ext included), never anything else.
 */
export function disassembleObject(bytes: Uint8Array, options: DisassembleOptions = {}): string {
  const elf = readElf(bytes);
  if (elf.header.machine !== EM_BPF) {
    throw new ElfError(`not a BPF object (e_machine ${elf.header.machine}, expected ${EM_BPF})`, {
      kind: "unsupported",
      offset: 0x12,
    });
  }
  const syntax = options.syntax ?? "llvm";
  const showRelocs = options.relocations ?? true;
  const core = showRelocs ? loadCoreRelocations(elf) : undefined;
  const littleEndian = elf.header.endian === "little";

  // objdump's symbol bookkeeping: every named symbol except sections and files, grouped by the
  // section that defines it; the rest (undefined, absolute, common) are "absolute" symbols.
  const bySection = new Map<number, SymbolInfo[]>();
  const absolute: SymbolInfo[] = [];
  for (const s of elf.symbols) {
    if (s.index === 0 || s.name === "" || s.type === STT_SECTION || s.type === STT_FILE) continue;
    let addr = s.value;
    if (s.section !== undefined && elf.header.type === ET_REL) addr = (addr + s.section.addr) & U64;
    const info = { addr, name: s.name, type: s.type };
    if (s.section === undefined || s.section.index === 0) absolute.push(info);
    else {
      const list = bySection.get(s.section.index) ?? [];
      list.push(info);
      bySection.set(s.section.index, list);
    }
  }
  sortSymbols(absolute);

  const relocsBySection = new Map<number, ElfRelocation[]>();
  for (const rs of elf.relocationSections) {
    const list = relocsBySection.get(rs.target.index) ?? [];
    list.push(...rs.relocations);
    relocsBySection.set(rs.target.index, list);
  }

  // .BTF.ext names code sections; objdump resolves a name to the last section carrying it.
  const lastByName = new Map<string, number>();
  for (const s of elf.sections) lastByName.set(s.name, s.index);

  let out = options.fileName === undefined ? "" : `\n${options.fileName}:\tfile format elf64-bpf\n`;
  for (const section of elf.sections) {
    if ((section.flags & BigInt(SHF_EXECINSTR)) === 0n || section.type === SHT_NOBITS) continue;
    if (section.size === 0n) continue;
    const symbols = bySection.get(section.index) ?? [];
    sortSymbols(symbols);
    out += disassembleSection(section, symbols, absolute, {
      relocations: showRelocs ? sortRelocations(relocsBySection.get(section.index) ?? []) : [],
      core: lastByName.get(section.name) === section.index ? core?.get(section.name) : undefined,
      syntax,
      alu32: options.alu32 === true,
      littleEndian,
    });
  }
  return out;
}

interface SectionContext {
  relocations: ElfRelocation[];
  core: CoreLines | undefined;
  syntax: DisasmSyntax;
  alu32: boolean;
  littleEndian: boolean;
}

function disassembleSection(
  section: ElfSection,
  symbols: SymbolInfo[],
  absolute: SymbolInfo[],
  ctx: SectionContext,
): string {
  const secAddr = section.addr;
  const bytes = section.data;
  const size = BigInt(bytes.length);
  if (!symbols.some((s) => s.addr === secAddr)) {
    const dummy: SymbolInfo = { addr: secAddr, name: section.name, type: STT_FUNC };
    symbols.splice(lowerBound(symbols, dummy), 0, dummy);
  }
  const rels = ctx.relocations;
  let relCur = 0;
  let out = "";
  let printedSection = false;

  for (let si = 0; si < symbols.length; ) {
    const first = si;
    const startAddr = (symbols[si] as SymbolInfo).addr;
    while (si < symbols.length && (symbols[si] as SymbolInfo).addr === startAddr) si++;
    const here = symbols.slice(first, si);

    // In a code section the label shown is the last non-data symbol; an address with only
    // STT_OBJECT symbols is dumped as data.
    let asData = true;
    let display = here.length - 1;
    here.forEach((s, i) => {
      if (s.type !== STT_OBJECT && s.type !== STT_COMMON) {
        asData = false;
        display = i;
      }
    });
    if (startAddr < secAddr) continue;
    let endAddr = secAddr + size;
    if (si < symbols.length) endAddr = min((symbols[si] as SymbolInfo).addr, endAddr);
    if (startAddr >= endAddr) continue;
    const start = Number(startAddr - secAddr);
    const end = Number(endAddr - secAddr);

    if (!printedSection) {
      printedSection = true;
      out += `\nDisassembly of section ${section.name}:\n`;
    }
    out += `\n${hex16(secAddr + BigInt(start))} <${(here[display] as SymbolInfo).name}>:\n`;

    if (asData) {
      out += dumpData(secAddr, start, end, bytes);
      continue;
    }
    while (relCur < rels.length && (rels[relCur] as ElfRelocation).offset < BigInt(start)) relCur++;

    let index = start;
    while (index < end) {
      // Runs of 8+ zero bytes (not covering a relocation) print as "...".
      let maxOffset = end - index;
      if (relCur < rels.length) {
        const gap = ((rels[relCur] as ElfRelocation).offset - BigInt(index)) & U64;
        if (gap < BigInt(maxOffset)) maxOffset = Number(gap);
      }
      const zeros = skippableZeros(bytes, index, index + maxOffset);
      if (zeros > 0) {
        out += "\t\t...\n";
        index += zeros;
        continue;
      }

      const { insn, size: n } = decodeAt(bytes, index, ctx.littleEndian);
      const text = insn === undefined ? undefined : formatInsn(insn, ctx);
      const used = text === undefined ? (insn === undefined ? n : 8) : n;
      const addr = secAddr + BigInt(index);
      out += `${String(addr / 8n).padStart(8)}:\t${hexBytes(bytes, index, index + used)}\t${text ?? "<unknown>"}`;
      if (insn !== undefined && text !== undefined) {
        const target = branchTarget(insn, addr);
        if (target !== undefined) out += targetLabel(target, symbols, absolute);
      }
      out += "\n";

      const coreLine = ctx.core?.at(index);
      if (coreLine !== undefined) out += `\t\t${hex16(BigInt(index))}:  CO-RE ${coreLine}\n`;

      while (relCur < rels.length) {
        const r = rels[relCur] as ElfRelocation;
        if (r.offset >= BigInt(index + used)) break;
        if (r.offset >= BigInt(index)) out += `\t\t${hex16(secAddr + r.offset)}:  ${relocationText(r)}\n`;
        relCur++;
      }
      index += used;
    }
  }
  return out;
}

/**
 * What LLVM's decoder does at a byte offset: an 8-byte slot, 16 for `lddw`; fewer bytes than
 * an instruction needs make it give up on a single byte (`size` 1, no instruction).
 */
function decodeAt(
  bytes: Uint8Array,
  index: number,
  littleEndian: boolean,
): { insn?: Instruction; size: number } {
  const avail = bytes.length - index;
  if (avail < 8) return { size: 1 };
  const code = bytes[index] as number;
  if (code === 0x18) {
    if (avail < 16) return { size: 1 };
    return { insn: decodeOne(bytes.subarray(index, index + 16), littleEndian), size: 16 };
  }
  return { insn: decodeOne(bytes.subarray(index, index + 8), littleEndian), size: 8 };
}

function decodeOne(slot: Uint8Array, littleEndian: boolean): Instruction {
  return decode(slot, { endian: littleEndian ? "little" : "big" })[0] as Instruction;
}

function formatInsn(insn: Instruction, ctx: SectionContext): string | undefined {
  const llvm = printLlvm(insn, { alu32: ctx.alu32 });
  if (llvm === undefined || ctx.syntax === "llvm") return llvm;
  try {
    return ctx.syntax === "kernel" ? printKernelInsn(insn, { withCode: false }) : disassembleUbpfInsn(insn);
  } catch {
    return undefined;
  }
}

/** LLVM's evaluateBranch: target byte address of a decodable jump, in 64-bit arithmetic. */
function branchTarget(insn: Instruction, addr: bigint): bigint | undefined {
  const rel = llvmBranchTarget(insn, 0);
  if (rel === undefined) return undefined;
  return (addr + BigInt(rel) * 8n) & U64;
}

/** ` <sym>` / ` <sym+0x10>`: the last symbol at or before the target, else an absolute one. */
function targetLabel(target: bigint, symbols: SymbolInfo[], absolute: SymbolInfo[]): string {
  for (const list of [symbols, absolute]) {
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((list[mid] as SymbolInfo).addr <= target) lo = mid + 1;
      else hi = mid;
    }
    if (lo === 0) continue;
    const sym = list[lo - 1] as SymbolInfo;
    const disp = target - sym.addr;
    return disp === 0n ? ` <${sym.name}>` : ` <${sym.name}+0x${disp.toString(16)}>`;
  }
  return "";
}

function relocationText(r: ElfRelocation): string {
  let value: string;
  if (r.symbol === undefined) value = "*ABS*";
  else if (r.symbol.type === STT_SECTION) value = r.symbol.section?.name ?? "";
  else value = r.symbol.name;
  if (r.addend !== undefined && r.addend !== 0n)
    value += r.addend < 0n ? `-0x${(-r.addend).toString(16)}` : `+0x${r.addend.toString(16)}`;
  return `${bpfRelocationName(r.type)}\t${value}`;
}

/** objdump's countSkippableZeroBytes: at least 8 zero bytes, rounded down to a multiple of 4. */
function skippableZeros(bytes: Uint8Array, from: number, to: number): number {
  let n = 0;
  while (from + n < to && bytes[from + n] === 0) n++;
  return n < 8 ? 0 : n & ~3;
}

/** objdump's dumpELFData: 8 bytes a line, hex then printable ASCII. */
function dumpData(secAddr: bigint, start: number, end: number, bytes: Uint8Array): string {
  let out = "";
  for (let i = start; i < end; i += 8) {
    const chunk = bytes.subarray(i, Math.min(i + 8, end));
    out += `${(secAddr + BigInt(i)).toString(16).padStart(8)}:`;
    let ascii = "";
    for (const b of chunk) {
      out += ` ${b.toString(16).padStart(2, "0")}`;
      ascii += b >= 0x20 && b <= 0x7e ? String.fromCharCode(b) : ".";
    }
    out += `${" ".repeat(3 * (8 - chunk.length))}         ${ascii}\n`;
  }
  return out;
}

function hexBytes(bytes: Uint8Array, from: number, to: number): string {
  const parts: string[] = [];
  for (let i = from; i < to; i++) parts.push((bytes[i] as number).toString(16).padStart(2, "0"));
  return parts.join(" ");
}

function hex16(v: bigint): string {
  return (v & U64).toString(16).padStart(16, "0");
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

/** objdump sorts symbols by (address, name) and keeps symbol-table order for ties. */
function compareSymbols(a: SymbolInfo, b: SymbolInfo): number {
  if (a.addr !== b.addr) return a.addr < b.addr ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function sortSymbols(list: SymbolInfo[]): void {
  list.sort(compareSymbols); // Array.prototype.sort is stable
}

function lowerBound(list: SymbolInfo[], item: SymbolInfo): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareSymbols(list[mid] as SymbolInfo, item) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function sortRelocations(list: ElfRelocation[]): ElfRelocation[] {
  return [...list].sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
}

/** CO-RE descriptions of one code section, looked up by byte offset (first record wins). */
interface CoreLines {
  at(offset: number): string | undefined;
}

/**
 * Reads the CO-RE records of .BTF.ext (objdump only looks when both .BTF and .BTF.ext exist),
 * grouped by the code section they name. A corrupt .BTF or .BTF.ext is an `ElfError`.
 */
function loadCoreRelocations(elf: ElfFile): Map<string, CoreLines> | undefined {
  let btfSection: ElfSection | undefined;
  let extSection: ElfSection | undefined;
  for (const s of elf.sections) {
    if (s.name === ".BTF") btfSection = s;
    if (s.name === ".BTF.ext") extSection = s;
  }
  if (btfSection === undefined || extSection === undefined) return undefined;
  let btf: Btf;
  const records = new Map<string, CoreRelocation[]>();
  const current = { section: btfSection };
  try {
    btf = parseBtf(btfSection.data);
    current.section = extSection;
    const ext = parseBtfExt(extSection.data, btf);
    for (const block of ext.coreRelos) {
      const list = records.get(block.section) ?? [];
      list.push(...block.records);
      records.set(block.section, list);
    }
  } catch (error) {
    if (error instanceof BtfError) {
      throw new ElfError(`cannot read ${current.section.name}: ${error.reason}`, {
        kind: "malformed",
        offset: current.section.offset + Math.max(0, error.offset),
        section: current.section.name,
      });
    }
    throw error;
  }
  const out = new Map<string, CoreLines>();
  for (const [name, list] of records) {
    const sorted = [...list].sort((a, b) => a.insnOff - b.insnOff);
    const first = new Map<number, CoreRelocation>();
    for (const r of sorted) if (!first.has(r.insnOff)) first.set(r.insnOff, r);
    out.set(name, {
      at(offset: number) {
        const r = first.get(offset);
        if (r === undefined) return undefined;
        try {
          return describeCoreRelocation(btf, r);
        } catch (error) {
          if (!(error instanceof BtfError)) throw error;
          throw new ElfError(
            `cannot describe the CO-RE record at ${name}+0x${offset.toString(16)}: ${error.reason}`,
            {
              kind: "malformed",
              offset: btfSection.offset,
              section: ".BTF",
            },
          );
        }
      },
    });
  }
  return out;
}
