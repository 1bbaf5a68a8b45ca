import { ElfError } from "../error.js";
import {
  SHN_LORESERVE,
  SHN_UNDEF,
  SHN_XINDEX,
  SHT_NOBITS,
  SHT_REL,
  SHT_RELA,
  SHT_STRTAB,
  SHT_SYMTAB,
  SHT_SYMTAB_SHNDX,
} from "./constants.js";

/** The ELF file header fields a reader needs (64-bit class only: BPF objects are ELFCLASS64). */
export interface ElfHeader {
  endian: "little" | "big";
  /** `EI_OSABI` byte. */
  osabi: number;
  /** `e_type`: 1 relocatable (every clang BPF object), 2 executable, 3 shared. */
  type: number;
  /** `e_machine`: 247 for BPF. */
  machine: number;
  version: number;
  entry: bigint;
  flags: number;
  /** Number of sections, after the extended-numbering escape (`e_shnum` 0) is resolved. */
  sectionCount: number;
  /** Index of the section-name string table, after the `SHN_XINDEX` escape is resolved. */
  sectionNameIndex: number;
}

/** One section header plus its bytes. `offset`/`size` are checked to lie inside the file. */
export interface ElfSection {
  index: number;
  name: string;
  type: number;
  flags: bigint;
  addr: bigint;
  offset: number;
  /** `sh_size`; for `SHT_NOBITS` it may exceed the file (no bytes are stored). */
  size: bigint;
  link: number;
  info: number;
  addralign: bigint;
  entsize: bigint;
  /** The section's bytes (empty for `SHT_NOBITS`), a view into the input. */
  data: Uint8Array;
}

/** One `.symtab` entry. `section` is the defining section when `shndx` names one. */
export interface ElfSymbol {
  index: number;
  name: string;
  value: bigint;
  size: bigint;
  /** `st_info >> 4`: 0 local, 1 global, 2 weak. */
  bind: number;
  /** `st_info & 0xf`: 0 notype, 1 object, 2 func, 3 section, 4 file. */
  type: number;
  /** `st_other & 3`: 0 default, 1 internal, 2 hidden, 3 protected. */
  visibility: number;
  /** Section index after `SHN_XINDEX` resolution; `SHN_UNDEF`, `SHN_ABS`, `SHN_COMMON` stay as is. */
  shndx: number;
  section: ElfSection | undefined;
}

/** One entry of a `SHT_REL`/`SHT_RELA` section (BPF objects use REL: no addend). */
export interface ElfRelocation {
  offset: bigint;
  type: number;
  symbolIndex: number;
  /** Undefined for symbol index 0 (an absolute relocation). */
  symbol: ElfSymbol | undefined;
  /** RELA only. */
  addend: bigint | undefined;
}

/** A relocation section and the section its entries patch (`sh_info`). */
export interface ElfRelocationSection {
  section: ElfSection;
  target: ElfSection;
  relocations: ElfRelocation[];
}

/** A parsed ELF64 object: every section, the symbol table, every relocation section. */
export interface ElfFile {
  header: ElfHeader;
  sections: ElfSection[];
  /** Entries of the (first) `SHT_SYMTAB` section, index 0 included; empty when there is none. */
  symbols: ElfSymbol[];
  /** The `SHT_SYMTAB` section the symbols come from. */
  symtab: ElfSection | undefined;
  relocationSections: ElfRelocationSection[];
}

const EHDR_SIZE = 64;
const SHDR_SIZE = 64;
const SYM_SIZE = 24;
const REL_SIZE = 16;
const RELA_SIZE = 24;

const utf8 = new TextDecoder("utf-8");

/**
 * Reads an ELF64 file of either byte order. Every offset, size, count and index is checked
 * against the file before it is used, so a truncated or corrupted file throws an `ElfError`
 * naming the section and the file offset of the bad field instead of reading out of bounds.
 * Section data are views into `bytes` (no copies).
 */
export function readElf(bytes: Uint8Array): ElfFile {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fileSize = bytes.byteLength;
  if (fileSize < 16) {
    throw new ElfError(`file too short for an ELF identification (${fileSize} bytes)`, {
      kind: "truncated",
      offset: 0,
    });
  }
  if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
    throw new ElfError("not an ELF file (bad magic)", { kind: "malformed", offset: 0 });
  }
  if (bytes[4] !== 2) {
    throw new ElfError(`unsupported ELF class ${bytes[4]} (BPF objects are ELFCLASS64)`, {
      kind: "unsupported",
      offset: 4,
    });
  }
  const data = bytes[5];
  if (data !== 1 && data !== 2) {
    throw new ElfError(`bad ELF data encoding ${data}`, { kind: "malformed", offset: 5 });
  }
  const le = data === 1;
  if (fileSize < EHDR_SIZE) {
    throw new ElfError(`file too short for an ELF64 header (${fileSize} of ${EHDR_SIZE} bytes)`, {
      kind: "truncated",
      offset: 0,
    });
  }
  const u16 = (at: number) => view.getUint16(at, le);
  const u32 = (at: number) => view.getUint32(at, le);
  const u64 = (at: number) => view.getBigUint64(at, le);

  const shoff = u64(0x28);
  const shentsize = u16(0x3a);
  let shnum = u16(0x3c);
  let shstrndx = u16(0x3e);

  if (shoff !== 0n && shentsize !== SHDR_SIZE) {
    throw new ElfError(`section header entry size is ${shentsize}, expected ${SHDR_SIZE}`, {
      kind: "malformed",
      offset: 0x3a,
    });
  }
  if (shoff === 0n && shnum !== 0) {
    throw new ElfError(`${shnum} sections announced but no section header table`, {
      kind: "malformed",
      offset: 0x3c,
    });
  }
  const tableAt = checkedRange(shoff, BigInt(SHDR_SIZE), fileSize, "section header table", 0x28);
  if (shoff !== 0n && shnum === 0) {
    // Extended numbering: the real count lives in section 0's sh_size.
    const count = u64(tableAt + 0x20);
    if (count > BigInt(fileSize)) {
      throw new ElfError(`extended section count ${count} is impossible for a ${fileSize}-byte file`, {
        kind: "malformed",
        offset: tableAt + 0x20,
      });
    }
    shnum = Number(count);
  }
  if (shnum > 0)
    checkedRange(shoff, BigInt(shnum) * BigInt(SHDR_SIZE), fileSize, "section header table", 0x28);
  if (shstrndx === SHN_XINDEX && shnum > 0) shstrndx = u32(tableAt + 0x28);
  if (shnum > 0 && shstrndx !== SHN_UNDEF && shstrndx >= shnum) {
    throw new ElfError(`section name table index ${shstrndx} is not below the section count ${shnum}`, {
      kind: "malformed",
      offset: 0x3e,
    });
  }

  const header: ElfHeader = {
    endian: le ? "little" : "big",
    osabi: bytes[7] as number,
    type: u16(0x10),
    machine: u16(0x12),
    version: u32(0x14),
    entry: u64(0x18),
    flags: u32(0x30),
    sectionCount: shnum,
    sectionNameIndex: shstrndx,
  };

  // Section headers first, then their names (so later errors can say which section), then the
  // data range of each one.
  const sections: ElfSection[] = [];
  const nameOffsets: number[] = [];
  for (let i = 0; i < shnum; i++) {
    const at = tableAt + i * SHDR_SIZE;
    nameOffsets.push(u32(at));
    sections.push({
      index: i,
      name: "",
      type: u32(at + 4),
      flags: u64(at + 8),
      addr: u64(at + 0x10),
      offset: 0,
      size: u64(at + 0x20),
      link: u32(at + 0x28),
      info: u32(at + 0x2c),
      addralign: u64(at + 0x30),
      entsize: u64(at + 0x38),
      data: bytes.subarray(0, 0),
    });
  }
  const rawOffset = (i: number) => u64(tableAt + i * SHDR_SIZE + 0x18);

  if (shnum > 0 && shstrndx !== SHN_UNDEF) {
    const names = sections[shstrndx] as ElfSection;
    const at = tableAt + shstrndx * SHDR_SIZE;
    if (names.type !== SHT_STRTAB) {
      throw new ElfError(
        `section name table (section #${shstrndx}) is not a string table (type ${names.type})`,
        {
          kind: "malformed",
          offset: at + 4,
          section: `#${shstrndx}`,
        },
      );
    }
    const start = checkedRange(
      rawOffset(shstrndx),
      names.size,
      fileSize,
      "section name table",
      at + 0x18,
      `#${shstrndx}`,
    );
    names.offset = start;
    names.data = bytes.subarray(start, start + Number(names.size));
    for (const s of sections) {
      s.name = readString(
        names,
        nameOffsets[s.index] as number,
        tableAt + s.index * SHDR_SIZE,
        `#${s.index}`,
      );
    }
  }

  for (const s of sections) {
    const at = tableAt + s.index * SHDR_SIZE;
    const offset = rawOffset(s.index);
    if (s.type !== SHT_NOBITS && s.size > 0n) {
      const label = sectionLabel(s);
      const start = checkedRange(offset, s.size, fileSize, `contents of '${label}'`, at + 0x18, label);
      s.offset = start;
      s.data = bytes.subarray(start, start + Number(s.size));
    } else if (offset <= BigInt(fileSize)) {
      s.offset = Number(offset);
    }
  }

  // Symbols: the first SHT_SYMTAB (libbpf insists there is exactly one; the reader takes the first).
  const symtab = sections.find((s) => s.type === SHT_SYMTAB);
  const symbols = symtab === undefined ? [] : readSymbols(symtab, sections, view, le, tableAt);

  const relocationSections: ElfRelocationSection[] = [];
  for (const s of sections) {
    if (s.type !== SHT_REL && s.type !== SHT_RELA) continue;
    relocationSections.push(readRelocations(s, sections, symtab, symbols, view, le, tableAt));
  }

  return { header, sections, symbols, symtab, relocationSections };
}

/** Checks `[offset, offset + size)` lies in the file and returns `offset` as a number. */
function checkedRange(
  offset: bigint,
  size: bigint,
  fileSize: number,
  what: string,
  fieldAt: number,
  section?: string,
): number {
  if (offset > BigInt(fileSize) || offset + size > BigInt(fileSize)) {
    const fields: { kind: "truncated"; offset: number; section?: string } = {
      kind: "truncated",
      offset: fieldAt,
    };
    if (section !== undefined) fields.section = section;
    throw new ElfError(
      `${what} at 0x${offset.toString(16)} (0x${size.toString(16)} bytes) runs past the end of the file (0x${fileSize.toString(16)} bytes)`,
      fields,
    );
  }
  return Number(offset);
}

/** NUL-terminated string at `off` inside a string-table section. */
function readString(table: ElfSection, off: number, fieldAt: number, owner: string): string {
  const d = table.data;
  if (off >= d.length) {
    if (off === 0 && d.length === 0) return "";
    throw new ElfError(
      `name of ${owner} at string offset ${off} is outside '${table.name || `#${table.index}`}' (${d.length} bytes)`,
      { kind: "malformed", offset: fieldAt, section: owner },
    );
  }
  const end = d.indexOf(0, off);
  if (end < 0) {
    throw new ElfError(`name of ${owner} at string offset ${off} is not NUL-terminated`, {
      kind: "malformed",
      offset: table.offset + off,
      section: table.name || `#${table.index}`,
    });
  }
  return utf8.decode(d.subarray(off, end));
}

function sectionLabel(s: ElfSection): string {
  return s.name === "" ? `#${s.index}` : s.name;
}

function readSymbols(
  symtab: ElfSection,
  sections: ElfSection[],
  view: DataView,
  le: boolean,
  tableAt: number,
): ElfSymbol[] {
  const label = sectionLabel(symtab);
  const hdrAt = tableAt + symtab.index * SHDR_SIZE;
  if (symtab.entsize !== BigInt(SYM_SIZE)) {
    throw new ElfError(`symbol table entry size is ${symtab.entsize}, expected ${SYM_SIZE}`, {
      kind: "malformed",
      offset: hdrAt + 0x38,
      section: label,
    });
  }
  if (symtab.data.length % SYM_SIZE !== 0) {
    throw new ElfError(`symbol table size ${symtab.data.length} is not a multiple of ${SYM_SIZE}`, {
      kind: "malformed",
      offset: hdrAt + 0x20,
      section: label,
    });
  }
  const strtab = sections[symtab.link];
  if (strtab === undefined || strtab.type !== SHT_STRTAB) {
    throw new ElfError(`symbol table links to section ${symtab.link}, which is not a string table`, {
      kind: "malformed",
      offset: hdrAt + 0x28,
      section: label,
    });
  }
  const shndxTable = sections.find((s) => s.type === SHT_SYMTAB_SHNDX && s.link === symtab.index);
  const count = symtab.data.length / SYM_SIZE;
  const out: ElfSymbol[] = [];
  for (let i = 0; i < count; i++) {
    const at = symtab.offset + i * SYM_SIZE;
    const info = view.getUint8(at + 4);
    let shndx = view.getUint16(at + 6, le);
    if (shndx === SHN_XINDEX) {
      if (shndxTable === undefined || (i + 1) * 4 > shndxTable.data.length) {
        throw new ElfError(`symbol #${i} uses SHN_XINDEX but there is no extended index for it`, {
          kind: "malformed",
          offset: at + 6,
          section: label,
        });
      }
      shndx = view.getUint32(shndxTable.offset + i * 4, le);
    }
    let section: ElfSection | undefined;
    if (shndx !== SHN_UNDEF && (shndx < SHN_LORESERVE || view.getUint16(at + 6, le) === SHN_XINDEX)) {
      section = sections[shndx];
      if (section === undefined) {
        throw new ElfError(`symbol #${i} refers to section ${shndx}, but there are ${sections.length}`, {
          kind: "malformed",
          offset: at + 6,
          section: label,
        });
      }
    }
    out.push({
      index: i,
      name: readString(strtab, view.getUint32(at, le), at, `symbol #${i}`),
      value: view.getBigUint64(at + 8, le),
      size: view.getBigUint64(at + 16, le),
      bind: info >> 4,
      type: info & 0xf,
      visibility: view.getUint8(at + 5) & 3,
      shndx,
      section,
    });
  }
  return out;
}

function readRelocations(
  rel: ElfSection,
  sections: ElfSection[],
  symtab: ElfSection | undefined,
  symbols: ElfSymbol[],
  view: DataView,
  le: boolean,
  tableAt: number,
): ElfRelocationSection {
  const label = sectionLabel(rel);
  const hdrAt = tableAt + rel.index * SHDR_SIZE;
  const rela = rel.type === SHT_RELA;
  const entry = rela ? RELA_SIZE : REL_SIZE;
  if (rel.entsize !== BigInt(entry)) {
    throw new ElfError(`relocation entry size is ${rel.entsize}, expected ${entry}`, {
      kind: "malformed",
      offset: hdrAt + 0x38,
      section: label,
    });
  }
  if (rel.data.length % entry !== 0) {
    throw new ElfError(`relocation section size ${rel.data.length} is not a multiple of ${entry}`, {
      kind: "malformed",
      offset: hdrAt + 0x20,
      section: label,
    });
  }
  const target = sections[rel.info];
  if (target === undefined || rel.info === 0) {
    throw new ElfError(`relocation section targets section ${rel.info}, which does not exist`, {
      kind: "malformed",
      offset: hdrAt + 0x2c,
      section: label,
    });
  }
  const count = rel.data.length / entry;
  if (count > 0 && (symtab === undefined || rel.link !== symtab.index)) {
    throw new ElfError(`relocation section links to section ${rel.link}, which is not the symbol table`, {
      kind: "malformed",
      offset: hdrAt + 0x28,
      section: label,
    });
  }
  const relocations: ElfRelocation[] = [];
  for (let i = 0; i < count; i++) {
    const at = rel.offset + i * entry;
    const info = view.getBigUint64(at + 8, le);
    const symbolIndex = Number(info >> 32n);
    const type = Number(info & 0xffffffffn);
    let symbol: ElfSymbol | undefined;
    if (symbolIndex !== 0) {
      symbol = symbols[symbolIndex];
      if (symbol === undefined) {
        throw new ElfError(
          `relocation #${i} refers to symbol ${symbolIndex}, but the symbol table has ${symbols.length}`,
          { kind: "malformed", offset: at + 8, section: label },
        );
      }
    }
    relocations.push({
      offset: view.getBigUint64(at, le),
      type,
      symbolIndex,
      symbol,
      addend: rela ? view.getBigInt64(at + 16, le) : undefined,
    });
  }
  return { section: rel, target, relocations };
}
