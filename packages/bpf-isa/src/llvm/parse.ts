import { decode } from "../codec.js";
import { BpfIsaError } from "../error.js";
import type { Instruction } from "../instruction.js";
import { insn, lddw } from "../instruction.js";

const SIZE: Record<string, number> = {
  u32: 0x00,
  u16: 0x08,
  u8: 0x10,
  u64: 0x18,
  s32: 0x00,
  s16: 0x08,
  s8: 0x10,
};
const ALU_OP: Record<string, number> = {
  "+=": 0x00,
  "-=": 0x10,
  "*=": 0x20,
  "/=": 0x30,
  "s/=": 0x30,
  "|=": 0x40,
  "&=": 0x50,
  "<<=": 0x60,
  ">>=": 0x70,
  "%=": 0x90,
  "s%=": 0x90,
  "^=": 0xa0,
  "s>>=": 0xc0,
};
const JMP_OP: Record<string, number> = {
  "==": 0x10,
  ">": 0x20,
  ">=": 0x30,
  "&": 0x40,
  "!=": 0x50,
  "s>": 0x60,
  "s>=": 0x70,
  "<": 0xa0,
  "<=": 0xb0,
  "s<": 0xc0,
  "s<=": 0xd0,
};
const ATOMIC_OP: Record<string, number> = { "+": 0x00, "|": 0x40, "&": 0x50, "^": 0xa0 };
const FETCH_OP: Record<string, number> = { add: 0x00, or: 0x40, and: 0x50, xor: 0xa0 };

/** A number as LLVM prints it (`0x1f`, `-0x8`) or as people write it (`31`, `-8`, `+0x2`). */
const NUM = String.raw`[+-]?(?:0x[0-9a-fA-F]+|\d+)`;
const REG = String.raw`([rw])(\d+)`;
/** `(r1 + 0x8)` / `(r10 - 0x8)` */
const ADDR = String.raw`r(\d+) ([+-]) (${NUM})`;
/** objdump's ` <sym+0x10>` after a branch, ignored when reading. */
const TARGET = String.raw`(?:\s+<[^>]*>)?`;

type Build = (m: string[], ctx: Context) => Instruction;
interface Context {
  line: number | undefined;
}

const PATTERNS: Array<[RegExp, Build]> = [
  [/^exit$/, () => insn(0x95)],
  [new RegExp(`^call (${NUM})$`), (m, c) => insn(0x85, 0, 0, 0, imm32(m[1], c))],
  [/^callx r(\d+)$/, (m, c) => insn(0x8d, reg(m[1], c))],
  [new RegExp(`^goto (${NUM})${TARGET}$`), (m, c) => insn(0x05, 0, 0, s16(m[1], c))],
  [new RegExp(`^gotol (${NUM})${TARGET}$`), (m, c) => insn(0x06, 0, 0, 0, imm32(m[1], c))],
  [new RegExp(`^may_goto (${NUM})${TARGET}$`), (m, c) => insn(0xe5, 0, 0, s16(m[1], c))],
  [
    new RegExp(`^if ${REG} (==|>|>=|&|!=|s>|s>=|<|<=|s<|s<=) (?:${REG}|(${NUM})) goto (${NUM})${TARGET}$`),
    (m, c) => {
      const cls = width(m[1], c) === 32 ? 0x06 : 0x05;
      const op = JMP_OP[m[3] as string] as number;
      if (m[4] !== undefined) {
        if (m[4] !== m[1]) fail("both registers of a compare must be the same width", c);
        return insn(op | 0x08 | cls, reg(m[2], c), reg(m[5], c), s16(m[7], c));
      }
      return insn(op | cls, reg(m[2], c), 0, s16(m[7], c), imm32(m[6], c));
    },
  ],
  [
    new RegExp(`^r(\\d+) = (${NUM}) ll$`),
    (m, c) => {
      const v = big(m[2], c);
      if (v < -(1n << 63n) || v >= 1n << 64n) fail(`64-bit immediate ${m[2]} out of range`, c);
      return lddw(reg(m[1], c), v);
    },
  ],
  [
    new RegExp(`^ld_pseudo r(\\d+), (${NUM}), (${NUM})$`),
    (m, c) => {
      const pseudo = Number(big(m[2], c));
      if (pseudo < 0 || pseudo > 15) fail(`ld_pseudo kind ${m[2]} is not 0..15`, c);
      const i = lddw(reg(m[1], c), BigInt(imm32(m[3], c) >>> 0), pseudo);
      return i;
    },
  ],
  [
    /^r0 = \*\((u8|u16|u32) \*\)skb\[(?:r(\d+)|([^\]]+))\]$/,
    (m, c) =>
      m[2] !== undefined
        ? insn(0x40 | size(m[1]), 0, reg(m[2], c))
        : insn(0x20 | size(m[1]), 0, 0, 0, imm32(m[3], c)),
  ],
  [
    new RegExp(`^${REG} = \\*\\((u8|u16|u32|u64|s8|s16|s32) \\*\\)\\(${ADDR}\\)$`),
    (m, c) => {
      const signed = (m[3] as string).startsWith("s");
      return insn((signed ? 0x81 : 0x61) | size(m[3]), reg(m[2], c), reg(m[4], c), offset(m[5], m[6], c));
    },
  ],
  [
    new RegExp(`^\\*\\((u8|u16|u32|u64) \\*\\)\\(${ADDR}\\) = (?:${REG}|(${NUM}))$`),
    (m, c) => {
      const off = offset(m[3], m[4], c);
      if (m[5] !== undefined) return insn(0x63 | size(m[1]), reg(m[2], c), reg(m[6], c), off);
      return insn(0x62 | size(m[1]), reg(m[2], c), 0, off, imm32(m[7], c));
    },
  ],
  [
    new RegExp(`^lock \\*\\((u32|u64) \\*\\)\\(${ADDR}\\) ([+|&^])= ${REG}$`),
    (m, c) =>
      insn(0xc3 | size(m[1]), reg(m[2], c), reg(m[7], c), offset(m[3], m[4], c), ATOMIC_OP[m[5] as string]),
  ],
  [
    new RegExp(`^${REG} = atomic_fetch_(add|or|and|xor)\\(\\((u32|u64) \\*\\)\\(${ADDR}\\), ${REG}\\)$`),
    (m, c) => {
      if (m[2] !== m[9] || m[1] !== m[8]) fail("atomic_fetch_* must return into its operand register", c);
      return insn(
        0xc3 | size(m[4]),
        reg(m[5], c),
        reg(m[9], c),
        offset(m[6], m[7], c),
        (FETCH_OP[m[3] as string] as number) | 1,
      );
    },
  ],
  [
    new RegExp(`^${REG} = xchg(32)?_(32|64)\\(${ADDR}, ${REG}\\)$`),
    (m, c) => {
      if (m[2] !== m[9] || m[1] !== m[8]) fail("xchg must return into its operand register", c);
      return insn(m[4] === "64" ? 0xdb : 0xc3, reg(m[5], c), reg(m[9], c), offset(m[6], m[7], c), 0xe1);
    },
  ],
  [
    new RegExp(`^[rw]0 = cmpxchg(32)?_(32|64)\\(${ADDR}, [rw]0, ${REG}\\)$`),
    (m, c) => insn(m[2] === "64" ? 0xdb : 0xc3, reg(m[3], c), reg(m[7], c), offset(m[4], m[5], c), 0xf1),
  ],
  [
    new RegExp(`^r(\\d+) = addr_space_cast\\(r(\\d+), (${NUM}), (${NUM})\\)$`),
    (m, c) => {
      const hi = imm32(m[3], c);
      const lo = imm32(m[4], c);
      if (hi < 0 || hi > 0xffff || lo < 0 || lo > 0xffff) fail("address spaces must be 0..0xffff", c);
      return insn(0xbf, reg(m[1], c), reg(m[2], c), 1, (hi << 16) | lo);
    },
  ],
  [
    /^r(\d+) = (le|be|bswap)(16|32|64) r(\d+)$/,
    (m, c) => {
      if (m[1] !== m[4]) fail("byte swaps work in place (dst and src must be the same register)", c);
      const code = m[2] === "le" ? 0xd4 : m[2] === "be" ? 0xdc : 0xd7;
      return insn(code, reg(m[1], c), 0, 0, Number(m[3]));
    },
  ],
  [
    new RegExp(`^${REG} = -${REG}$`),
    (m, c) => {
      if (m[1] !== m[3] || m[2] !== m[4]) fail("negation works in place", c);
      return insn(width(m[1], c) === 32 ? 0x84 : 0x87, reg(m[2], c));
    },
  ],
  [
    new RegExp(`^${REG} = \\(s(8|16|32)\\)${REG}$`),
    (m, c) => {
      if (m[1] !== m[4]) fail("movsx registers must be the same width", c);
      const bits = Number(m[3]);
      if (bits === 32 && m[1] === "w") fail("(s32) needs 64-bit registers", c);
      return insn(m[1] === "w" ? 0xbc : 0xbf, reg(m[2], c), reg(m[5], c), bits);
    },
  ],
  [
    new RegExp(`^${REG} (=|\\+=|-=|\\*=|/=|s/=|\\|=|&=|<<=|>>=|%=|s%=|\\^=|s>>=) (?:${REG}|(${NUM}))$`),
    (m, c) => {
      const cls = width(m[1], c) === 32 ? 0x04 : 0x07;
      const op = m[3] === "=" ? 0xb0 : (ALU_OP[m[3] as string] as number);
      const off = (m[3] as string).startsWith("s") && m[3] !== "s>>=" ? 1 : 0;
      if (m[4] !== undefined) {
        if (m[4] !== m[1]) fail("both registers must be the same width", c);
        return insn(op | 0x08 | cls, reg(m[2], c), reg(m[5], c), off);
      }
      return insn(op | cls, reg(m[2], c), 0, off, imm32(m[6], c));
    },
  ],
];

/**
 * Parses one instruction in llvm-objdump syntax (spec bpf-isa.md 6.2), the inverse of
 * `printLlvm`: hex or decimal immediates, `w` registers, `<sym+0x..>` branch annotations are
 * accepted. What the text cannot say comes out as zero: `call -0x1` is a helper call (src 0) and
 * the hidden high half of `ld_pseudo` is 0. Throws `BpfIsaError` (kind `syntax` or `range`).
 */
export function parseLlvmInsn(text: string, line?: number): Instruction {
  const ctx: Context = { line };
  const norm = text.trim().replace(/\s+/g, " ");
  for (const [re, build] of PATTERNS) {
    const m = re.exec(norm);
    if (m) return build(m as unknown as string[], ctx);
  }
  throw new BpfIsaError(`cannot parse LLVM instruction '${text.trim()}'${where(ctx)}`, {
    kind: "syntax",
    line,
  });
}

/** Options of `parseLlvm`. */
export interface ParseLlvmOptions {
  /** Byte order of the bytes column of objdump listings (default little, as `-target bpf`). */
  endian?: "little" | "big";
}

/**
 * Parses a listing: one instruction per line; blank lines, `;`/`#`/`//` comments and objdump's
 * framing (file header, section banners, symbol labels, relocation and CO-RE lines) are skipped.
 * Lines may carry objdump's `  12:\t<bytes>\t` prefix. A `<unknown>` line is taken from its bytes
 * column when that holds a whole slot (LLVM printed no text to read); without the bytes, or for
 * objdump's one-byte tails and `...` zero runs, the listing cannot be assembled and this throws.
 */
export function parseLlvm(source: string, options: ParseLlvmOptions = {}): Instruction[] {
  const out: Instruction[] = [];
  const lines = source.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = (lines[i] as string).trim();
    if (/file format /.test(raw) || /^Disassembly of section /.test(raw)) continue;
    if (/^[0-9a-f]{16} <.*>:$/.test(raw) || /^[0-9a-f]{16}: {2}/.test(raw)) continue;
    if (raw === "...") {
      throw new BpfIsaError(
        `objdump elided a run of zero bytes ('...') at line ${i + 1}; its length is unknown`,
        {
          kind: "syntax",
          line: i + 1,
        },
      );
    }
    const framed = /^\d+:\s+((?:[0-9a-f]{2} )*[0-9a-f]{2})?\s*\t(.*)$/.exec(raw);
    const body = framed ? (framed[2] as string) : raw.replace(/^\d+:\s+/, "");
    if (framed && body.trim() === "<unknown>") {
      const hex = (framed[1] ?? "").split(" ").filter((b) => b !== "");
      if (hex.length === 8 && hex[0] !== "18") {
        const bytes = Uint8Array.from(hex, (b) => Number.parseInt(b, 16));
        out.push(decode(bytes, { endian: options.endian ?? "little" })[0] as Instruction);
        continue;
      }
    }
    const text = body.replace(/(?:;|#|\/\/).*$/, "").trim();
    if (text === "") continue;
    out.push(parseLlvmInsn(text, i + 1));
  }
  return out;
}

function where(ctx: Context): string {
  return ctx.line === undefined ? "" : ` at line ${ctx.line}`;
}

function fail(message: string, ctx: Context): never {
  throw new BpfIsaError(`${message}${where(ctx)}`, { kind: "syntax", line: ctx.line });
}

function big(text: string | undefined, ctx: Context): bigint {
  if (text === undefined) fail("missing number", ctx);
  const neg = text.startsWith("-");
  const body = text.replace(/^[+-]/, "");
  const v = BigInt(body);
  return neg ? -v : v;
}

/** A 32-bit immediate: signed or unsigned 32-bit text, stored as s32. */
function imm32(text: string | undefined, ctx: Context): number {
  const v = big(text, ctx);
  if (v < -(1n << 31n) || v >= 1n << 32n)
    throw new BpfIsaError(`immediate ${text} does not fit in 32 bits${where(ctx)}`, {
      kind: "range",
      line: ctx.line,
    });
  return Number(BigInt.asIntN(32, v));
}

function s16(text: string | undefined, ctx: Context): number {
  const v = big(text, ctx);
  if (v < -32768n || v > 32767n)
    throw new BpfIsaError(`offset ${text} does not fit in 16 bits${where(ctx)}`, {
      kind: "range",
      line: ctx.line,
    });
  return Number(v);
}

function offset(sign: string | undefined, text: string | undefined, ctx: Context): number {
  const v = big(text, ctx) * (sign === "-" ? -1n : 1n);
  if (v < -32768n || v > 32767n)
    throw new BpfIsaError(`memory offset ${sign}${text} does not fit in 16 bits${where(ctx)}`, {
      kind: "range",
      line: ctx.line,
    });
  return Number(v);
}

function reg(text: string | undefined, ctx: Context): number {
  const n = Number(text);
  // r11 is LLVM's internal register: it prints it, so it reads it back too.
  if (!(n >= 0 && n <= 11))
    throw new BpfIsaError(`register r${text} does not exist (r0..r11)${where(ctx)}`, {
      kind: "range",
      line: ctx.line,
    });
  return n;
}

function width(prefix: string | undefined, _ctx: Context): 32 | 64 {
  return prefix === "w" ? 32 : 64;
}

function size(name: string | undefined): number {
  return SIZE[name as string] as number;
}
