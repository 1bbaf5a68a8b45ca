const decoder = new TextDecoder("utf-8", { fatal: false });

/**
 * Reads NUL-terminated strings out of a string section. Names are nearly always ASCII, so the fast
 * path builds them from char codes and only falls back to TextDecoder for other bytes.
 */
export function readCString(bytes: Uint8Array, start: number, end: number): string | undefined {
  let i = start;
  let ascii = true;
  while (i < end) {
    const b = bytes[i]!;
    if (b === 0) break;
    if (b >= 0x80) ascii = false;
    i++;
  }
  if (i >= end) return undefined;
  if (i === start) return "";
  if (!ascii) return decoder.decode(bytes.subarray(start, i));
  if (i - start < 64) {
    let s = "";
    for (let j = start; j < i; j++) s += String.fromCharCode(bytes[j]!);
    return s;
  }
  return String.fromCharCode.apply(null, bytes.subarray(start, i) as unknown as number[]);
}

/**
 * The bytes as a string of one char per byte (ISO-8859-1, exact for all 256 values), so byte
 * offsets and string indices agree. `TextDecoder("latin1")` would not do: it is windows-1252 and
 * maps 0x80-0x9f elsewhere. ASCII (every vmlinux string table) takes the native decoder; other
 * bytes are widened in chunks small enough for `fromCharCode`'s argument limit.
 */
export function latin1String(bytes: Uint8Array): { text: string; ascii: boolean } {
  if (isAscii(bytes)) return { text: decoder.decode(bytes), ascii: true };
  let text = "";
  for (let j = 0; j < bytes.length; j += 0x2000)
    text += String.fromCharCode.apply(null, bytes.subarray(j, j + 0x2000) as unknown as number[]);
  return { text, ascii: false };
}

/** No byte has its top bit set; tested a word at a time, since vmlinux's table is megabytes. */
function isAscii(bytes: Uint8Array): boolean {
  const n = bytes.length;
  let i = 0;
  for (; i < n && (bytes.byteOffset + i) % 4 !== 0; i++) if (bytes[i]! >= 0x80) return false;
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset + i, (n - i) >>> 2);
  let seen = 0;
  for (let k = 0; k < words.length; k++) seen |= words[k]!;
  if ((seen & 0x80808080) !== 0) return false;
  for (i += words.length * 4; i < n; i++) if (bytes[i]! >= 0x80) return false;
  return true;
}
