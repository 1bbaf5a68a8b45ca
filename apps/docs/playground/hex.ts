/**
 * Reads bytes written as hex: pairs separated by spaces, commas or newlines, or one run of digits
 * (`68656c6c6f`), with optional `0x` prefixes and `#` comments. Returns an error message naming the
 * first bad token instead of throwing, since the page shows it next to the input.
 */
export function parseHex(text: string): { bytes: Uint8Array } | { error: string } {
  const out: number[] = [];
  const lines = text.split("\n");
  for (let l = 0; l < lines.length; l++) {
    const line = (lines[l] as string).replace(/#.*/, "");
    for (const raw of line.split(/[\s,]+/)) {
      if (raw === "") continue;
      const token = raw.replace(/^0x/i, "");
      if (!/^[0-9a-fA-F]+$/.test(token) || token.length % 2 !== 0)
        return { error: `memory line ${l + 1}: "${raw}" is not hex bytes (two hex digits per byte)` };
      for (let i = 0; i < token.length; i += 2) out.push(Number.parseInt(token.slice(i, i + 2), 16));
    }
  }
  return { bytes: Uint8Array.from(out) };
}

/** Bytes as lowercase hex pairs, `perLine` to a line. */
export function formatHex(bytes: Uint8Array, perLine = 16): string {
  const lines: string[] = [];
  for (let i = 0; i < bytes.length; i += perLine)
    lines.push([...bytes.subarray(i, i + perLine)].map((b) => b.toString(16).padStart(2, "0")).join(" "));
  return lines.join("\n");
}

/**
 * A 64-bit register value as the page shows it: hex, with the signed decimal alongside when it is
 * small enough to read as a number (pointers and hashes stay hex only).
 */
export function formatValue(value: bigint): string {
  const hex = `0x${value.toString(16)}`;
  const signed = BigInt.asIntN(64, value);
  if (value < 10n || signed >= 1n << 32n || signed < -(1n << 32n)) return hex;
  return `${hex} (${signed})`;
}
