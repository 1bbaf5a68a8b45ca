import { BpfIsaError } from "../error.js";
import { helperName } from "../helpers.js";
import type { Instruction } from "../instruction.js";
import { insn, lddw } from "../instruction.js";
import { KERNEL_ALU_OPS, KERNEL_JMP_OPS } from "./print.js";

const SIZE_CODE: Record<string, number> = {
  u32: 0x00,
  u16: 0x08,
  u8: 0x10,
  u64: 0x18,
  s32: 0x00,
  s16: 0x08,
  s8: 0x10,
};
const ATOMIC_IMM: Record<string, number> = { add: 0x00, or: 0x40, and: 0x50, xor: 0xa0 };
const LOCK_IMM: Record<string, number> = { "+=": 0x00, "|=": 0x40, "&=": 0x50, "^=": 0xa0 };

const R = String.raw`([rw])(\d+)`;
const MEM = String.raw`\((u8|u16|u32|u64|s8|s16|s32) \*\)\(r(\d+) ([+-]\d+)\)`;
const PATTERNS: Array<[RegExp, (m: string[]) => Instruction]> = [
  [/^nospec$/, () => insn(0xc2)],
  [/^exit$/, () => insn(0x95)],
  [/^goto pc([+-]\d+)$/, (m) => insn(0x05, 0, 0, num(m[1]))],
  [/^gotol pc([+-]\d+)$/, (m) => insn(0x06, 0, 0, 0, num(m[1]))],
  [/^may_goto pc([+-]\d+)$/, (m) => insn(0xe5, 0, 0, num(m[1]))],
  [/^gotox r(\d+)$/, (m) => insn(0x0d, num(m[1]))],
  // bpftool appends the JITed symbol: `call pc+41#bpf_prog_<tag>_mix`.
  [/^call pc([+-]\d+)(?:#\S+)?$/, (m) => insn(0x85, 0, 1, 0, num(m[1]))],
  [
    /^call (.+)#(-?\d+)$/,
    (m) => {
      const id = num(m[2]);
      const helper = m[1] === "unknown" || helperName(id) === m[1];
      return insn(0x85, 0, helper ? 0 : 2, 0, id);
    },
  ],
  [
    new RegExp(`^r(\\d+) = load_acquire\\(${MEM}\\)$`),
    (m) => insn(0xc3 | sizeCode(m[2]), num(m[1]), num(m[3]), num(m[4]), 0x100),
  ],
  [
    new RegExp(`^store_release\\(${MEM}, r(\\d+)\\)$`),
    (m) => insn(0xc3 | sizeCode(m[1]), num(m[2]), num(m[4]), num(m[3]), 0x110),
  ],
  [
    new RegExp(`^lock \\*${MEM} (\\+=|\\|=|&=|\\^=) r(\\d+)$`),
    (m) => insn(0xc3 | sizeCode(m[1]), num(m[2]), num(m[5]), num(m[3]), LOCK_IMM[m[4] as string] as number),
  ],
  [
    new RegExp(`^r(\\d+) = atomic(?:64)?_fetch_(add|and|or|xor)\\(${MEM}, r(\\d+)\\)$`),
    (m) =>
      insn(
        0xc3 | sizeCode(m[3]),
        num(m[4]),
        num(m[6]),
        num(m[5]),
        (ATOMIC_IMM[m[2] as string] as number) | 1,
      ),
  ],
  [
    new RegExp(`^r(\\d+) = atomic(?:64)?_xchg\\(${MEM}, r(\\d+)\\)$`),
    (m) => insn(0xc3 | sizeCode(m[2]), num(m[3]), num(m[5]), num(m[4]), 0xe1),
  ],
  [
    new RegExp(`^r0 = atomic(?:64)?_cmpxchg\\(${MEM}, r0, r(\\d+)\\)$`),
    (m) => insn(0xc3 | sizeCode(m[1]), num(m[2]), num(m[4]), num(m[3]), 0xf1),
  ],
  [/^r0 = \*\((u8|u16|u32) \*\)skb\[(-?\d+)\]$/, (m) => insn(0x20 | sizeCode(m[1]), 0, 0, 0, num(m[2]))],
  [
    /^r0 = \*\((u8|u16|u32) \*\)skb\[r(\d+) \+ (-?\d+)\]$/,
    (m) => insn(0x40 | sizeCode(m[1]), 0, num(m[2]), 0, num(m[3])),
  ],
  [new RegExp(`^\\*${MEM} = r(\\d+)$`), (m) => insn(0x63 | sizeCode(m[1]), num(m[2]), num(m[4]), num(m[3]))],
  [
    new RegExp(`^\\*${MEM} = (-?\\d+)$`),
    (m) => insn(0x62 | sizeCode(m[1]), num(m[2]), 0, num(m[3]), num(m[4])),
  ],
  [
    new RegExp(`^r(\\d+) = \\*${MEM}$`),
    (m) => insn((m[2]?.startsWith("s") ? 0x81 : 0x61) | sizeCode(m[2]), num(m[1]), num(m[3]), num(m[4])),
  ],
  [/^r(\d+) = bswap(\d+) r\1$/, (m) => insn(0xd7, num(m[1]), 0, 0, num(m[2]))],
  [/^r(\d+) = (be|le)(\d+) r\1$/, (m) => insn(m[2] === "be" ? 0xdc : 0xd4, num(m[1]), 0, 0, num(m[3]))],
  [
    /^r(\d+) = addr_space_cast\(r(\d+), (\d+), (\d+)\)$/,
    (m) => insn(0xbf, num(m[1]), num(m[2]), 1, (num(m[3]) << 16) | num(m[4])),
  ],
  [/^r(\d+) = &\(void __percpu \*\)\(r(\d+)\)$/, (m) => insn(0xbf, num(m[1]), num(m[2]), -1)],
  [/^r(\d+) = map\[id:(\d+)\]$/, (m) => lddw(num(m[1]), BigInt(num(m[2])), 1)],
  [
    /^r(\d+) = map\[id:(\d+)\]\[0\]\+(\d+)$/,
    (m) => lddw(num(m[1]), (BigInt(num(m[3])) << 32n) | BigInt(num(m[2])), 2),
  ],
  [
    /^r(\d+) = map\[idx:(\d+)\]\+(\d+)$/,
    (m) => lddw(num(m[1]), (BigInt(num(m[3])) << 32n) | BigInt(num(m[2])), 6),
  ],
  [/^r(\d+) = subprog\[([+-]\d+)\]$/, (m) => lddw(num(m[1]), BigInt(num(m[2])), 4)],
  [/^r(\d+) = 0x([0-9a-f]+)$/, (m) => lddw(num(m[1]), BigInt(`0x${m[2]}`))],
  [new RegExp(`^${R} = -${R}$`), (m) => insn((m[1] === "w" ? 0x04 : 0x07) | 0x80, num(m[2]))],
  [
    new RegExp(`^if ${R} (\\S+) ${R} goto pc([+-]\\d+)$`),
    (m) => insn((m[1] === "w" ? 0x06 : 0x05) | jmpOp(m[3]) | 0x08, num(m[2]), num(m[5]), num(m[6])),
  ],
  [
    new RegExp(`^if ${R} (\\S+) 0x([0-9a-f]+) goto pc([+-]\\d+)$`),
    (m) =>
      insn(
        (m[1] === "w" ? 0x06 : 0x05) | jmpOp(m[3]),
        num(m[2]),
        0,
        num(m[5]),
        Number.parseInt(m[4] as string, 16) | 0,
      ),
  ],
  [
    new RegExp(`^${R} (\\S+) (?:\\(s(8|16|32)\\))?${R}$`),
    (m) => {
      const { op, off } = aluOp(m[3]);
      const movsx = m[4] === undefined ? 0 : num(m[4]);
      return insn((m[1] === "w" ? 0x04 : 0x07) | op | 0x08, num(m[2]), num(m[6]), movsx || off);
    },
  ],
  [
    new RegExp(`^${R} (\\S+) (-?\\d+)$`),
    (m) => {
      const { op, off } = aluOp(m[3]);
      return insn((m[1] === "w" ? 0x04 : 0x07) | op, num(m[2]), 0, off, num(m[4]));
    },
  ],
];

/**
 * Parses one instruction in the kernel's syntax (spec 5.2), with or without its `(xx) ` opcode
 * prefix; when the prefix is present it must agree with the parsed encoding. `lddw` values print
 * without their pseudo subtype, so `r1 = 0x...` parses as a plain constant (subtype 0) unless it
 * is one of bpftool's `map[...]`/`subprog[...]` forms; `call name#N` is a helper when `name` is the
 * helper's name (or `unknown`), otherwise a kfunc.
 */
export function parseKernelInsn(text: string): Instruction {
  let body = text.trim();
  let code: number | undefined;
  const prefix = /^\(([0-9a-f]{2})\) /.exec(body);
  if (prefix) {
    code = Number.parseInt(prefix[1] as string, 16);
    body = body.slice(prefix[0].length);
  }
  for (const [re, build] of PATTERNS) {
    const m = re.exec(body);
    if (!m) continue;
    const out = build(m as unknown as string[]);
    if (code !== undefined && code !== out.code) {
      throw new BpfIsaError(
        `opcode (${prefix?.[1]}) does not match "${body}" (parsed as ${hex2(out.code)})`,
        {
          kind: "syntax",
        },
      );
    }
    return out;
  }
  throw new BpfIsaError(`cannot parse kernel instruction "${body}"`, { kind: "syntax" });
}

/** One instruction line of a verifier log or xlated dump. */
export interface KernelLine {
  index: number;
  code: number | undefined;
  /** The instruction text as printed, with its `(xx) ` prefix, without index or state. */
  text: string;
  insn: Instruction;
  /** Register state after `;`, when the log carries it. */
  state?: string;
}

const LINE = /^\s*(\d+): (?:[.0-9]{10,} )?(\(([0-9a-f]{2})\) )?(.*)$/;

/**
 * Parses every instruction line (`N: (xx) text [; state]`, with optional xlated indentation or a
 * `Live regs` column) of a verifier log or `bpftool prog dump xlated` output. Other lines (source
 * comments, `from X to Y`, states, summaries) are skipped. Lines repeat in logs that revisit an
 * instruction; all are returned in log order.
 */
export function parseKernelLines(log: string): KernelLine[] {
  const out: KernelLine[] = [];
  for (const raw of log.split("\n")) {
    const m = LINE.exec(raw.replace(/\r$/, ""));
    if (!m || m[2] === undefined) continue;
    let text = m[4] as string;
    let state: string | undefined;
    const semi = text.search(/ {2,}; |\t; /);
    if (semi >= 0) {
      state = text.slice(text.indexOf("; ", semi) + 2);
      text = text.slice(0, semi);
    } else if (text.endsWith(" ;")) {
      text = text.slice(0, -2).trimEnd();
    }
    const entry: KernelLine = {
      index: Number(m[1]),
      code: Number.parseInt(m[3] as string, 16),
      text: `${m[2]}${text}`,
      insn: parseKernelInsn(`${m[2]}${text}`),
    };
    if (state !== undefined) entry.state = state;
    out.push(entry);
  }
  return out;
}

/**
 * Rebuilds a program from a kernel listing: the first line for each slot index wins; `lddw`
 * covers two slots. Gaps (instructions the verifier never reached) throw.
 */
export function parseKernel(log: string): Instruction[] {
  const bySlot = new Map<number, Instruction>();
  for (const line of parseKernelLines(log)) if (!bySlot.has(line.index)) bySlot.set(line.index, line.insn);
  const out: Instruction[] = [];
  const last = Math.max(-1, ...bySlot.keys());
  for (let slot = 0; slot <= last; ) {
    const found = bySlot.get(slot);
    if (!found) throw new BpfIsaError(`no instruction line for slot ${slot}`, { kind: "syntax", insn: slot });
    out.push(found);
    slot += found.code === 0x18 ? 2 : 1;
  }
  return out;
}

function num(s: string | undefined): number {
  return Number(s);
}

function sizeCode(s: string | undefined): number {
  return SIZE_CODE[s as string] as number;
}

function aluOp(text: string | undefined): { op: number; off: number } {
  if (text === "s/=") return { op: 0x30, off: 1 };
  if (text === "s%=") return { op: 0x90, off: 1 };
  const i = KERNEL_ALU_OPS.indexOf(text);
  if (i < 0 || text === "neg" || text === "endian")
    throw new BpfIsaError(`unknown ALU operator "${text}"`, { kind: "syntax" });
  return { op: i << 4, off: 0 };
}

function jmpOp(text: string | undefined): number {
  const i = KERNEL_JMP_OPS.indexOf(text);
  if (i <= 0 || text === "call" || text === "exit")
    throw new BpfIsaError(`unknown jump condition "${text}"`, { kind: "syntax" });
  return i << 4;
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, "0");
}
