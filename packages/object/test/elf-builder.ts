/**
 * A small ELF64 writer for tests: builds files with the corners clang never produces (extended
 * section numbering, SHN_XINDEX, RELA with addends, symbol 0 relocations) in either byte order.
 */
export interface BuildSection {
  name: string;
  type: number;
  flags?: number;
  data?: Uint8Array;
  /** For NOBITS: the size to announce. */
  size?: number;
  link?: number;
  info?: number;
  entsize?: number;
  addralign?: number;
}

export interface BuildOptions {
  endian?: "little" | "big";
  machine?: number;
  /** Store the section count in section 0's sh_size (e_shnum = 0) and the name index in its sh_link. */
  extendedNumbering?: boolean;
}

/** Section 0 (NULL) and the name table are added here: pass the others, indices start at 1. */
export function buildElf(sections: BuildSection[], options: BuildOptions = {}): Uint8Array {
  const le = options.endian !== "big";
  const all: BuildSection[] = [{ name: "", type: 0 }, ...sections];
  const shstrndx = all.length;
  const names: number[] = [];
  const strings: number[] = [0];
  for (const s of [...all, { name: ".shstrtab", type: 3 }]) {
    if (s.name === "") {
      names.push(0);
      continue;
    }
    names.push(strings.length);
    for (const c of new TextEncoder().encode(s.name)) strings.push(c);
    strings.push(0);
  }
  all.push({ name: ".shstrtab", type: 3, data: Uint8Array.from(strings) });

  let offset = 64;
  const placed = all.map((s) => {
    const data = s.data ?? new Uint8Array(0);
    offset = (offset + 7) & ~7;
    const at = offset;
    if (s.type !== 8) offset += data.length;
    return { s, data, at };
  });
  const shoff = (offset + 7) & ~7;
  const bytes = new Uint8Array(shoff + all.length * 64);
  const v = new DataView(bytes.buffer);
  bytes.set([0x7f, 0x45, 0x4c, 0x46, 2, le ? 1 : 2, 1, 0]);
  v.setUint16(0x10, 1, le); // ET_REL
  v.setUint16(0x12, options.machine ?? 247, le);
  v.setUint32(0x14, 1, le);
  v.setBigUint64(0x28, BigInt(shoff), le);
  v.setUint16(0x34, 64, le);
  v.setUint16(0x3a, 64, le);
  v.setUint16(0x3c, options.extendedNumbering ? 0 : all.length, le);
  v.setUint16(0x3e, options.extendedNumbering ? 0xffff : shstrndx, le);
  placed.forEach(({ s, data, at }, i) => {
    bytes.set(data, at);
    const h = shoff + i * 64;
    v.setUint32(h, names[i] as number, le);
    v.setUint32(h + 4, s.type, le);
    v.setBigUint64(h + 8, BigInt(s.flags ?? 0), le);
    v.setBigUint64(h + 0x18, BigInt(i === 0 ? 0 : at), le);
    v.setBigUint64(h + 0x20, BigInt(s.size ?? data.length), le);
    v.setUint32(h + 0x28, s.link ?? 0, le);
    v.setUint32(h + 0x2c, s.info ?? 0, le);
    v.setBigUint64(h + 0x30, BigInt(s.addralign ?? (i === 0 ? 0 : 8)), le);
    v.setBigUint64(h + 0x38, BigInt(s.entsize ?? 0), le);
  });
  if (options.extendedNumbering) {
    v.setBigUint64(shoff + 0x20, BigInt(all.length), le);
    v.setUint32(shoff + 0x28, shstrndx, le);
  }
  return bytes;
}

/** Concatenates fixed-width little/big-endian fields into bytes. */
export function pack(le: boolean, fields: Array<[number, number | bigint]>): Uint8Array {
  const size = fields.reduce((n, [w]) => n + w, 0);
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  let p = 0;
  for (const [w, value] of fields) {
    if (w === 1) v.setUint8(p, Number(value));
    else if (w === 2) v.setUint16(p, Number(value), le);
    else if (w === 4) v.setUint32(p, Number(value) >>> 0, le);
    else v.setBigUint64(p, BigInt.asUintN(64, BigInt(value)), le);
    p += w;
  }
  return out;
}

/** A string table and the offset of each string in it. */
export function strtab(...names: string[]): { data: Uint8Array; off: Record<string, number> } {
  const bytes: number[] = [0];
  const off: Record<string, number> = {};
  for (const n of names) {
    off[n] = bytes.length;
    for (const c of new TextEncoder().encode(n)) bytes.push(c);
    bytes.push(0);
  }
  return { data: Uint8Array.from(bytes), off };
}

/** One Elf64_Sym. */
export function sym(
  le: boolean,
  name: number,
  info: number,
  shndx: number,
  value: number | bigint = 0,
  size: number | bigint = 0,
): Uint8Array {
  return pack(le, [
    [4, name],
    [1, info],
    [1, 0],
    [2, shndx],
    [8, value],
    [8, size],
  ]);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let p = 0;
  for (const part of parts) {
    out.set(part, p);
    p += part.length;
  }
  return out;
}
