import { BtfError } from "./error.js";
import { readCString } from "./strings.js";

/** True when `bytes` starts with the ELF magic. */
export function isElf(bytes: Uint8Array): boolean {
  return (
    bytes.byteLength >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46
  );
}

/**
 * Minimal ELF section lookup (32/64-bit, either byte order) so BTF can be read out of a clang object
 * without depending on @bpfkit/object. Returns the section's bytes, or undefined when absent.
 */
export function findElfSection(bytes: Uint8Array, name: string): Uint8Array | undefined {
  if (!isElf(bytes) || bytes.byteLength < 52) throw new BtfError("not an ELF file", 0, "elf");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const is64 = bytes[4] === 2;
  const le = bytes[5] !== 2;
  const u16 = (o: number) => view.getUint16(o, le);
  const u32 = (o: number) => view.getUint32(o, le);
  const word = (o: number) => (is64 ? Number(view.getBigUint64(o, le)) : u32(o));
  if (is64 && bytes.byteLength < 64) throw new BtfError("truncated ELF header", 0, "elf");
  const shoff = word(is64 ? 0x28 : 0x20);
  const shentsize = u16(is64 ? 0x3a : 0x2e);
  let shnum = u16(is64 ? 0x3c : 0x30);
  let shstrndx = u16(is64 ? 0x3e : 0x32);
  const minEnt = is64 ? 64 : 40;
  if (shoff === 0) return undefined;
  if (shentsize < minEnt)
    throw new BtfError(`bad section header size ${shentsize}`, is64 ? 0x3a : 0x2e, "elf");
  const sh = (i: number) => {
    const at = shoff + i * shentsize;
    if (at + minEnt > bytes.byteLength) throw new BtfError(`section header ${i} out of range`, at, "elf");
    return {
      at,
      name: u32(at),
      type: u32(at + 4),
      offset: word(is64 ? at + 0x18 : at + 0x10),
      size: word(is64 ? at + 0x20 : at + 0x14),
      link: u32(is64 ? at + 0x28 : at + 0x18),
    };
  };
  if (shnum === 0) shnum = sh(0).size;
  if (shstrndx === 0xffff) shstrndx = sh(0).link;
  if (shnum > 0x10000 * 16) throw new BtfError(`too many sections ${shnum}`, 0, "elf");
  const strtab = sh(shstrndx);
  if (strtab.offset + strtab.size > bytes.byteLength) {
    throw new BtfError("section name table out of range", strtab.at, "elf");
  }
  const names = bytes.subarray(strtab.offset, strtab.offset + strtab.size);
  for (let i = 1; i < shnum; i++) {
    const s = sh(i);
    if (s.name >= names.byteLength || readCString(names, s.name, names.byteLength) !== name) continue;
    if (s.type === 8) return new Uint8Array(0); // SHT_NOBITS
    if (s.offset + s.size > bytes.byteLength) throw new BtfError(`section ${name} out of range`, s.at, "elf");
    return bytes.subarray(s.offset, s.offset + s.size);
  }
  return undefined;
}
