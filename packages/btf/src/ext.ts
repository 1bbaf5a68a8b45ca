import type { Btf } from "./btf.js";
import { BtfError } from "./error.js";
import { BTF_MAGIC } from "./kinds.js";
import { readCString } from "./strings.js";

/** A func_info record: the FUNC type of the subprogram starting at `insnOff` (bytes). */
export interface BtfExtFuncInfo {
  insnOff: number;
  typeId: number;
}

/** A line_info record; `line`/`column` come from `line_col` (line << 10 | column). */
export interface BtfExtLineInfo {
  insnOff: number;
  fileNameOff: number;
  lineOff: number;
  lineCol: number;
  line: number;
  column: number;
  /** Resolved when a string table was given, else "". */
  fileName: string;
  lineText: string;
}

/** A CO-RE relocation record (`struct bpf_core_relo`); `kind` is a CoreReloKind number. */
export interface BtfExtCoreRelo {
  insnOff: number;
  typeId: number;
  accessStrOff: number;
  /** Resolved when a string table was given, else "". */
  accessString: string;
  kind: number;
}

/** Records of one ELF code section. */
export interface BtfExtSection<T> {
  /** ELF section name (resolved when a string table was given, else ""). */
  section: string;
  sectionNameOff: number;
  records: T[];
}

/** A parsed .BTF.ext section. */
export interface BtfExt {
  littleEndian: boolean;
  hdrLen: number;
  /** Record sizes as stored (readers honour larger sizes). */
  funcInfoRecSize: number;
  lineInfoRecSize: number;
  coreReloRecSize: number;
  funcInfo: BtfExtSection<BtfExtFuncInfo>[];
  lineInfo: BtfExtSection<BtfExtLineInfo>[];
  coreRelos: BtfExtSection<BtfExtCoreRelo>[];
}

/**
 * Where section names, file names and access strings live: the object's parsed .BTF, or the raw bytes
 * of its string section.
 */
export type BtfStrings = Btf | Uint8Array;

interface SubSection {
  name: string;
  minRec: number;
  offField: number;
}

/**
 * Parses .BTF.ext. Pass the object's .BTF (or its raw string section) as `strings` to get section
 * names and access strings resolved; without it only the offsets are filled in.
 */
export function parseBtfExt(bytes: Uint8Array, strings?: BtfStrings): BtfExt {
  if (bytes.byteLength < 8) throw new BtfError(".BTF.ext too short for a header", 0, "btf_ext_header");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let le: boolean;
  if (view.getUint16(0, true) === BTF_MAGIC) le = true;
  else if (view.getUint16(0, false) === BTF_MAGIC) le = false;
  else
    throw new BtfError(`bad .BTF.ext magic 0x${view.getUint16(0, true).toString(16)}`, 0, "btf_ext_header");
  if (view.getUint8(2) !== 1)
    throw new BtfError(`unsupported .BTF.ext version ${view.getUint8(2)}`, 2, "btf_ext_header");
  const hdrLen = view.getUint32(4, le);
  if (hdrLen < 24 || hdrLen > bytes.byteLength) {
    throw new BtfError(`bad .BTF.ext header length ${hdrLen}`, 4, "btf_ext_header");
  }
  const str = makeStringReader(strings);
  const dataLen = bytes.byteLength - hdrLen;

  const readSub = <T>(
    sub: SubSection,
    decode: (pos: number) => T,
  ): { recSize: number; sections: BtfExtSection<T>[] } => {
    if (sub.offField + 8 > hdrLen) return { recSize: 0, sections: [] };
    const off = view.getUint32(sub.offField, le);
    const len = view.getUint32(sub.offField + 4, le);
    if (len === 0) return { recSize: 0, sections: [] };
    if (off + len > dataLen || off % 4 !== 0) {
      throw new BtfError(
        `${sub.name} (${off}+${len}) outside .BTF.ext data (${dataLen})`,
        sub.offField,
        sub.name,
      );
    }
    let pos = hdrLen + off;
    const end = pos + len;
    if (len < 4) throw new BtfError(`${sub.name} too short`, pos, sub.name);
    const recSize = view.getUint32(pos, le);
    if (recSize < sub.minRec || recSize % 4 !== 0) {
      throw new BtfError(`${sub.name} record size ${recSize} invalid (min ${sub.minRec})`, pos, sub.name);
    }
    pos += 4;
    const sections: BtfExtSection<T>[] = [];
    while (pos < end) {
      if (pos + 8 > end) throw new BtfError(`${sub.name} section header truncated`, pos, sub.name);
      const sectionNameOff = view.getUint32(pos, le);
      const num = view.getUint32(pos + 4, le);
      if (num === 0) throw new BtfError(`${sub.name} section has no records`, pos + 4, sub.name);
      const section = str(sectionNameOff, pos, sub.name);
      pos += 8;
      if (num * recSize > end - pos) {
        throw new BtfError(`${sub.name} section '${section}' (${num} records) truncated`, pos, sub.name);
      }
      const records: T[] = [];
      for (let i = 0; i < num; i++, pos += recSize) records.push(decode(pos));
      sections.push({ section, sectionNameOff, records });
    }
    return { recSize, sections };
  };

  const func = readSub({ name: "func_info", minRec: 8, offField: 8 }, (p) => ({
    insnOff: view.getUint32(p, le),
    typeId: view.getUint32(p + 4, le),
  }));
  const line = readSub({ name: "line_info", minRec: 16, offField: 16 }, (p) => {
    const fileNameOff = view.getUint32(p + 4, le);
    const lineOff = view.getUint32(p + 8, le);
    const lineCol = view.getUint32(p + 12, le);
    return {
      insnOff: view.getUint32(p, le),
      fileNameOff,
      lineOff,
      lineCol,
      line: lineCol >>> 10,
      column: lineCol & 0x3ff,
      fileName: str(fileNameOff, p + 4, "line_info"),
      lineText: str(lineOff, p + 8, "line_info"),
    };
  });
  const core = readSub({ name: "core_relo", minRec: 16, offField: 24 }, (p) => {
    const accessStrOff = view.getUint32(p + 8, le);
    return {
      insnOff: view.getUint32(p, le),
      typeId: view.getUint32(p + 4, le),
      accessStrOff,
      accessString: str(accessStrOff, p + 8, "core_relo"),
      kind: view.getUint32(p + 12, le),
    };
  });
  return {
    littleEndian: le,
    hdrLen,
    funcInfoRecSize: func.recSize,
    lineInfoRecSize: line.recSize,
    coreReloRecSize: core.recSize,
    funcInfo: func.sections,
    lineInfo: line.sections,
    coreRelos: core.sections,
  };
}

function makeStringReader(
  strings: BtfStrings | undefined,
): (off: number, at: number, kind: string) => string {
  if (strings === undefined) return () => "";
  if (strings instanceof Uint8Array) {
    return (off, at, kind) => {
      const s = off < strings.byteLength ? readCString(strings, off, strings.byteLength) : undefined;
      if (s === undefined) throw new BtfError(`string offset ${off} out of range`, at, kind);
      return s;
    };
  }
  return (off, at, kind) => {
    if (!strings.hasStr(off)) throw new BtfError(`string offset ${off} out of range`, at, kind);
    return strings.str(off);
  };
}
