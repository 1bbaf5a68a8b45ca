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
