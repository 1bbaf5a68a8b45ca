import { BpfIsaError } from "../error.js";
import type { Instruction } from "../instruction.js";
import { insn, lddw } from "../instruction.js";

const ALU: Record<string, number> = {
  add: 0x00,
  sub: 0x10,
  mul: 0x20,
  div: 0x30,
  sdiv: 0x30,
  or: 0x40,
  and: 0x50,
  lsh: 0x60,
  rsh: 0x70,
  mod: 0x90,
  smod: 0x90,
  xor: 0xa0,
  mov: 0xb0,
  arsh: 0xc0,
};
const JMP: Record<string, number> = {
  jeq: 0x10,
  jgt: 0x20,
  jge: 0x30,
  jset: 0x40,
  jne: 0x50,
  jsgt: 0x60,
  jsge: 0x70,
  jlt: 0xa0,
  jle: 0xb0,
  jslt: 0xc0,
  jsle: 0xd0,
};
const SIZE: Record<string, number> = { b: 0x10, h: 0x08, w: 0x00, dw: 0x18 };
const ATOMIC: Record<string, number> = {
  add: 0x00,
  or: 0x40,
  and: 0x50,
  xor: 0xa0,
  xchg: 0xe1,
  cmpxchg: 0xf1,
};
const MOVSX: Record<string, [number, number]> = {
  movsx832: [0xbc, 8],
  movsx1632: [0xbc, 16],
  movsx864: [0xbf, 8],
  movsx1664: [0xbf, 16],
  movsx3264: [0xbf, 32],
};

export interface UbpfAssembleOptions {
  /** Line number of the text's first line, for error messages (default 1). */
  firstLine?: number;
}

interface Pending {
  index: number;
  slot: number;
  label: string;
  field: "off" | "imm";
  line: number;
}

/**
 * Assembles bpf_conformance / uBPF assembler text (spec 7.2-7.3) into instructions: `%rN`
 * registers, `[%rN+off]` memory operands, labels (`name:` on its own line; the first `exit`
 * also defines the label `exit`), numeric jump targets `+N`/`-N` counted in slots, decimal or
 * `0x` numbers with an optional sign (taken modulo 2^64, then truncated to the field). Throws
 * `BpfIsaError` (kind `syntax`, with `line`) for an unknown mnemonic, bad operand or unknown label.
 */
export function assembleUbpf(text: string, options: UbpfAssembleOptions = {}): Instruction[] {
  const first = options.firstLine ?? 1;
  const out: Instruction[] = [];
  const labels = new Map<string, number>();
  const pending: Pending[] = [];
  let slot = 0;
  let sawExit = false;
  const lines = text.split("\n");
  for (let n = 0; n < lines.length; n++) {
    const lineNo = first + n;
    let line = (lines[n] as string).replace(/\r$/, "");
    const hash = line.indexOf("#");
    if (hash >= 0) line = line.slice(0, hash);
    line = line.trim();
    if (line === "") continue;
    const label = /^([A-Za-z_.$][\w.$]*):\s*(.*)$/.exec(line);
    if (label) {
      const name = label[1] as string;
      if (labels.has(name)) throw syntax(`duplicate label "${name}"`, lineNo);
      labels.set(name, slot);
      line = label[2] as string;
      if (line === "") continue;
    }
    const ctx = new LineContext(line, lineNo);
    const built = assembleLine(ctx, (target, field) => {
      if (/^[+-]/.test(target))
        return field === "off" ? toOff(num(target, lineNo)) : toImm(num(target, lineNo));
      if (!/^[A-Za-z_.$][\w.$]*$/.test(target)) throw syntax(`bad jump target "${target}"`, lineNo);
      pending.push({ index: out.length, slot, label: target, field, line: lineNo });
      return 0;
    });
    if (built.code === 0x95 && !sawExit) {
      // The reference assembler gives the first exit an implicit label, so `jne ..., exit` works.
      sawExit = true;
      labels.set("exit", slot);
    }
    out.push(built);
    slot += built.code === 0x18 ? 2 : 1;
  }
  for (const p of pending) {
    const target = labels.get(p.label);
    if (target === undefined) throw syntax(`unknown label "${p.label}"`, p.line);
    const delta = target - p.slot - 1;
    const i = out[p.index] as Instruction;
    if (p.field === "off") i.off = toOff(BigInt(delta));
    else i.imm = toImm(BigInt(delta));
  }
  return out;
}

class LineContext {
  readonly mnemonic: string;
  readonly operands: string[];
  constructor(
    readonly text: string,
    readonly line: number,
  ) {
    const m = /^(\S+)\s*(.*)$/.exec(text) as RegExpExecArray;
    this.mnemonic = (m[1] as string).toLowerCase();
    const rest = (m[2] as string).trim();
    this.operands = rest === "" ? [] : rest.split(",").map((s) => s.trim());
  }
  expect(count: number): void {
    if (this.operands.length !== count)
      throw syntax(
        `${this.mnemonic} takes ${count} operand${count === 1 ? "" : "s"}, got ${this.operands.length}`,
        this.line,
      );
  }
  op(i: number): string {
    return this.operands[i] as string;
  }
}

type Target = (target: string, field: "off" | "imm") => number;

function assembleLine(c: LineContext, target: Target): Instruction {
  const m = c.mnemonic;
  const line = c.line;
  if (m === "exit") {
    c.expect(0);
    return insn(0x95);
  }
  if (m === "lddw") {
    c.expect(2);
    return lddw(reg(c.op(0), line), num(c.op(1), line));
  }
  if (m === "neg" || m === "neg32") {
    c.expect(1);
    return insn(m === "neg" ? 0x87 : 0x84, reg(c.op(0), line));
  }
  const end = /^(le|be|swap|bswap)(16|32|64)$/.exec(m);
  if (end) {
    c.expect(1);
    const code = end[1] === "le" ? 0xd4 : end[1] === "be" ? 0xdc : 0xd7;
    return insn(code, reg(c.op(0), line), 0, 0, Number(end[2]));
  }
  const sx = MOVSX[m];
  if (sx) {
    c.expect(2);
    return insn(sx[0], reg(c.op(0), line), reg(c.op(1), line), sx[1]);
  }
  const alu = /^([a-z]+?)(32)?$/.exec(m);
  if (alu && ALU[alu[1] as string] !== undefined) {
    c.expect(2);
    const name = alu[1] as string;
    const cls = alu[2] ? 0x04 : 0x07;
    const off = name === "sdiv" || name === "smod" ? 1 : 0;
    const dst = reg(c.op(0), line);
    const src = c.op(1);
    if (src.startsWith("%")) return insn(cls | (ALU[name] as number) | 0x08, dst, reg(src, line), off);
    return insn(cls | (ALU[name] as number), dst, 0, off, toImm(num(src, line)));
  }
  if (alu && JMP[alu[1] as string] !== undefined) {
    c.expect(3);
    const cls = alu[2] ? 0x06 : 0x05;
    const code = cls | (JMP[alu[1] as string] as number);
    const dst = reg(c.op(0), line);
    const src = c.op(1);
    const off = target(c.op(2), "off");
    if (src.startsWith("%")) return insn(code | 0x08, dst, reg(src, line), off);
    return insn(code, dst, 0, off, toImm(num(src, line)));
  }
  if (m === "ja") {
    c.expect(1);
    return insn(0x05, 0, 0, target(c.op(0), "off"));
  }
  if (m === "ja32") {
    c.expect(1);
    return insn(0x06, 0, 0, 0, target(c.op(0), "imm"));
  }
  const ldx = /^ldx(s?)(b|h|w|dw)$/.exec(m);
  if (ldx && !(ldx[1] && ldx[2] === "dw")) {
    c.expect(2);
    const { base, off } = mem(c.op(1), line);
    return insn((ldx[1] ? 0x81 : 0x61) | (SIZE[ldx[2] as string] as number), reg(c.op(0), line), base, off);
  }
  const st = /^st(x?)(b|h|w|dw)$/.exec(m);
  if (st) {
    c.expect(2);
    const { base, off } = mem(c.op(0), line);
    const size = SIZE[st[2] as string] as number;
    if (st[1]) return insn(0x63 | size, base, reg(c.op(1), line), off);
    return insn(0x62 | size, base, 0, off, toImm(num(c.op(1), line)));
  }
  if (m === "lock") return assembleLock(c);
  if (m === "call") return assembleCall(c, target);
  throw syntax(`unknown mnemonic "${c.mnemonic}"`, line);
}

function assembleLock(c: LineContext): Instruction {
  const head = /^lock\s+(fetch\s+)?([a-z]+?)(32)?\s+(\[[^\]]*\])\s*,\s*(\S+)$/i.exec(c.text);
  if (!head) throw syntax(`bad lock instruction "${c.text}"`, c.line);
  const op = (head[2] as string).toLowerCase();
  const imm = ATOMIC[op];
  if (imm === undefined) throw syntax(`unknown atomic operation "${op}"`, c.line);
  const fetch = head[1] !== undefined;
  if (fetch && (op === "xchg" || op === "cmpxchg")) throw syntax(`"fetch" is implied by ${op}`, c.line);
  const { base, off } = mem(head[4] as string, c.line);
  return insn(head[3] ? 0xc3 : 0xdb, base, reg(head[5] as string, c.line), off, imm | (fetch ? 1 : 0));
}

function assembleCall(c: LineContext, target: Target): Instruction {
  const parts = c.text.split(/\s+/).slice(1);
  let mode = "helper";
  if (parts.length === 2) mode = (parts[0] as string).toLowerCase();
  else if (parts.length !== 1) throw syntax(`bad call "${c.text}"`, c.line);
  const arg = parts[parts.length - 1] as string;
  if (mode === "helper") {
    if (arg.startsWith("%")) return insn(0x8d, reg(arg, c.line));
    return insn(0x85, 0, 0, 0, toImm(num(arg, c.line)));
  }
  if (mode === "local") return insn(0x85, 0, 1, 0, target(arg, "imm"));
  if (mode === "runtime") return insn(0x85, 0, 2, 0, toImm(num(arg, c.line)));
  throw syntax(`unknown call mode "${mode}"`, c.line);
}

function reg(text: string, line: number): number {
  const m = /^%r(\d+)$/.exec(text.trim());
  const n = m ? Number(m[1]) : Number.NaN;
  if (!(n >= 0 && n <= 15)) throw syntax(`bad register "${text}"`, line);
  return n;
}

function mem(text: string, line: number): { base: number; off: number } {
  const m = /^\[\s*(%r\d+)\s*(?:([+-])\s*([0-9a-fA-FxX]+))?\s*\]$/.exec(text.trim());
  if (!m) throw syntax(`bad memory operand "${text}"`, line);
  const off = m[2] === undefined ? 0 : toOff(num(`${m[2]}${m[3]}`, line));
  return { base: reg(m[1] as string, line), off };
}

/** A number as the reference assembler reads it: sign, then decimal or 0x hex, modulo 2^64. */
function num(text: string, line: number): bigint {
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|\d+)$/.exec(text.trim());
  if (!m) throw syntax(`bad number "${text}"`, line);
  const value = BigInt(m[2] as string);
  if (value >= 1n << 64n) throw syntax(`number out of range "${text}"`, line);
  return BigInt.asUintN(64, m[1] === "-" ? -value : value);
}

function toImm(v: bigint): number {
  return Number(BigInt.asIntN(32, v));
}

function toOff(v: bigint): number {
  return Number(BigInt.asIntN(16, v));
}

function syntax(message: string, line: number): BpfIsaError {
  return new BpfIsaError(`line ${line}: ${message}`, { kind: "syntax", line });
}
