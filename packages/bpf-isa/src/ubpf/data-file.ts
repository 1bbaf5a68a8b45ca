import { BpfIsaError } from "../error.js";

/** One bpf_conformance `.data` test case (spec 7.1). */
export interface ConformanceCase {
  /** The `-- asm` section text, lines as in the file (comments included). */
  asm: string | undefined;
  /** 1-based line number in the file of the first `asm` line, for error messages. */
  asmLine: number;
  /** `-- mem` bytes: R1 points at them, R2 holds their length. */
  mem: Uint8Array;
  /** `-- result`: the expected R0. */
  result: bigint | undefined;
  /** `-- raw`: the program as little-endian slots, preferred over `asm` when present. */
  raw: Uint8Array | undefined;
  /** `-- error`: expected error text. */
  error: string | undefined;
  /** Set when the file has a directive the reference runner does not know; it skips such files. */
  unsupported: string | undefined;
}

const KNOWN = ["asm", "result", "mem", "raw", "error", "no register offset", " c"] as const;

/**
 * Reads a bpf_conformance `.data` file. Pass the file's bytes (decoded as latin1, since some
 * comments are not UTF-8) or a string already decoded. Directives are lines containing `--`,
 * recognised by substring like the reference runner; lines before the first are ignored.
 */
export function parseConformanceData(input: string | Uint8Array): ConformanceCase {
  const text = typeof input === "string" ? input : latin1(input);
  const lines = text.split("\n").map((l) => l.replace(/\r$/, ""));
  const sections = new Map<string, { start: number; lines: string[] }>();
  let current: string[] | undefined;
  let unsupported: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.includes("--")) {
      const name = KNOWN.find((k) => line.includes(k));
      if (name === undefined) {
        unsupported ??= line.trim();
        current = undefined;
        continue;
      }
      const section = { start: i + 2, lines: [] as string[] };
      sections.set(name.trim(), section);
      current = section.lines;
      continue;
    }
    current?.push(line);
  }
  const asm = sections.get("asm");
  const result = sections.get("result");
  const raw = sections.get("raw");
  const mem = sections.get("mem");
  const error = sections.get("error");
  return {
    asm: asm?.lines.join("\n"),
    asmLine: asm?.start ?? 0,
    mem: mem ? hexBytes(mem.lines, mem.start) : new Uint8Array(0),
    result: result ? parseResult(result.lines, result.start) : undefined,
    raw: raw ? rawSlots(raw.lines, raw.start) : undefined,
    error: error ? error.lines.join("\n").trim() : undefined,
    unsupported,
  };
}

function latin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return s;
}

function stripComment(line: string): string {
  const hash = line.indexOf("#");
  return (hash >= 0 ? line.slice(0, hash) : line).trim();
}

function hexBytes(lines: string[], start: number): Uint8Array {
  const out: number[] = [];
  lines.forEach((line, i) => {
    for (const token of stripComment(line).split(/\s+/)) {
      if (token === "") continue;
      if (!/^[0-9a-fA-F]{1,2}$/.test(token))
        throw new BpfIsaError(`line ${start + i}: bad mem byte "${token}"`, {
          kind: "syntax",
          line: start + i,
        });
      out.push(Number.parseInt(token, 16));
    }
  });
  return new Uint8Array(out);
}

function parseResult(lines: string[], start: number): bigint | undefined {
  let value: bigint | undefined;
  lines.forEach((line, i) => {
    const t = stripComment(line);
    if (t === "") return;
    if (!/^(0[xX][0-9a-fA-F]+|-?\d+)$/.test(t))
      throw new BpfIsaError(`line ${start + i}: bad result "${t}"`, { kind: "syntax", line: start + i });
    value = BigInt.asUintN(64, BigInt(t));
  });
  return value;
}

function rawSlots(lines: string[], start: number): Uint8Array {
  const values: bigint[] = [];
  lines.forEach((line, i) => {
    for (const token of stripComment(line).split(/\s+/)) {
      if (token === "") continue;
      if (!/^(0[xX][0-9a-fA-F]+|\d+)$/.test(token))
        throw new BpfIsaError(`line ${start + i}: bad raw slot "${token}"`, {
          kind: "syntax",
          line: start + i,
        });
      values.push(BigInt.asUintN(64, BigInt(token)));
    }
  });
  const bytes = new Uint8Array(values.length * 8);
  const view = new DataView(bytes.buffer);
  for (const [i, v] of values.entries()) view.setBigUint64(i * 8, v, true);
  return bytes;
}
