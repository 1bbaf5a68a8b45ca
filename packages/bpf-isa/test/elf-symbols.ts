/**
 * Just enough ELF64 little-endian reading for the kernel oracle test: the instruction bytes of a
 * FUNC symbol. The real ELF reader lives in @bpfkit/object; this package must not depend on it.
 */
export function functionBytes(elf: Uint8Array, name: string): Uint8Array {
  const v = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
  const shoff = Number(v.getBigUint64(0x28, true));
  const shentsize = v.getUint16(0x3a, true);
  const shnum = v.getUint16(0x3c, true);
  const section = (i: number) => {
    const at = shoff + i * shentsize;
    return {
      type: v.getUint32(at + 4, true),
      offset: Number(v.getBigUint64(at + 0x18, true)),
      size: Number(v.getBigUint64(at + 0x20, true)),
      link: v.getUint32(at + 0x28, true),
    };
  };
  for (let i = 0; i < shnum; i++) {
    const symtab = section(i);
    if (symtab.type !== 2) continue; // SHT_SYMTAB
    const strtab = section(symtab.link);
    for (let at = symtab.offset; at < symtab.offset + symtab.size; at += 24) {
      const nameOff = v.getUint32(at, true);
      const info = elf[at + 4] as number;
      if ((info & 0xf) !== 2) continue; // STT_FUNC
      let end = strtab.offset + nameOff;
      while (elf[end] !== 0) end++;
      const symName = new TextDecoder().decode(elf.subarray(strtab.offset + nameOff, end));
      if (symName !== name) continue;
      const shndx = v.getUint16(at + 6, true);
      const value = Number(v.getBigUint64(at + 8, true));
      const size = Number(v.getBigUint64(at + 16, true));
      const text = section(shndx);
      return elf.subarray(text.offset + value, text.offset + value + size);
    }
  }
  throw new Error(`no function ${name}`);
}
