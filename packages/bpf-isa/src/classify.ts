import type { Instruction } from "./instruction.js";
import { imm64 } from "./instruction.js";
import {
  BPF_ABS,
  BPF_ADDR_SPACE_CAST,
  BPF_ALU,
  BPF_ALU64,
  BPF_ATOMIC,
  BPF_CALL,
  BPF_CMPXCHG,
  BPF_DW,
  BPF_END,
  BPF_EXIT,
  BPF_FETCH,
  BPF_IMM,
  BPF_IND,
  BPF_JA,
  BPF_JCOND,
  BPF_JMP,
  BPF_JMP32,
  BPF_LD,
  BPF_LDX,
  BPF_LOAD_ACQ,
  BPF_MEM,
  BPF_MEMSX,
  BPF_MOV,
  BPF_NEG,
  BPF_PSEUDO_CALL,
  BPF_PSEUDO_KFUNC_CALL,
  BPF_ST,
  BPF_STORE_REL,
  BPF_X,
  BPF_XCHG,
  insnClass,
  insnMode,
  insnOp,
  insnSize,
  sizeBytes,
} from "./opcodes.js";

/** Binary ALU operations by their op field (spec 3.1); SDIV/SMOD are DIV/MOD with off = 1. */
export const ALU_OPS = {
  0: "add",
  16: "sub",
  32: "mul",
  48: "div",
  64: "or",
  80: "and",
  96: "lsh",
  112: "rsh",
  144: "mod",
  160: "xor",
  176: "mov",
  192: "arsh",
} as const satisfies Record<number, string>;
export type AluOp = (typeof ALU_OPS)[keyof typeof ALU_OPS] | "sdiv" | "smod";

/** Conditional jump operations by their op field (spec 3.2). */
export const JMP_OPS = {
  16: "jeq",
  32: "jgt",
  48: "jge",
  64: "jset",
  80: "jne",
  96: "jsgt",
  112: "jsge",
  160: "jlt",
  176: "jle",
  192: "jslt",
  208: "jsle",
} as const satisfies Record<number, string>;
export type JmpOp = (typeof JMP_OPS)[keyof typeof JMP_OPS];

/** Read-modify-write atomic operations (spec 4.7). */
export type AtomicOp = "add" | "or" | "and" | "xor";
const ATOMIC_OPS: Record<number, AtomicOp> = { 0: "add", 64: "or", 80: "and", 160: "xor" };

export type Width = 32 | 64;
export type Operand = { kind: "reg"; reg: number } | { kind: "imm"; imm: number };
export type AccessSize = 1 | 2 | 4 | 8;

/**
 * What an instruction does, as a discriminated union on `kind`. `classify` is lenient: it names
 * the form an encoding selects even when reserved fields are set (`validate` reports those).
 */
export type InsnDescription =
  | { kind: "alu"; width: Width; op: AluOp; dst: number; operand: Operand }
  | { kind: "neg"; width: Width; dst: number }
  | { kind: "movsx"; width: Width; dst: number; src: number; bits: 8 | 16 | 32 }
  | { kind: "end"; order: "le" | "be"; bits: number; dst: number }
  | { kind: "bswap"; bits: number; dst: number }
  | { kind: "addr_space_cast"; dst: number; src: number; dstAs: number; srcAs: number }
  | { kind: "percpu_mov"; dst: number; src: number }
  | { kind: "ja"; off: number }
  | { kind: "gotol"; imm: number }
  | { kind: "gotox"; dst: number }
  | { kind: "may_goto"; off: number }
  | { kind: "jcond"; width: Width; op: JmpOp; dst: number; operand: Operand; off: number }
  | { kind: "call_helper"; id: number }
  | { kind: "call_subprog"; imm: number }
  | { kind: "call_kfunc"; btfId: number; module: number }
  | { kind: "callx"; reg: number }
  | { kind: "exit" }
  | { kind: "lddw"; subtype: number; dst: number; value: bigint }
  | { kind: "ld_abs"; size: AccessSize; imm: number }
  | { kind: "ld_ind"; size: AccessSize; src: number; imm: number }
  | { kind: "ldx"; size: AccessSize; signed: boolean; dst: number; src: number; off: number }
  | { kind: "st"; size: AccessSize; dst: number; off: number; imm: number }
  | { kind: "stx"; size: AccessSize; dst: number; src: number; off: number }
  | { kind: "atomic"; size: AccessSize; op: AtomicOp; fetch: boolean; dst: number; src: number; off: number }
  | { kind: "xchg"; size: AccessSize; dst: number; src: number; off: number }
  | { kind: "cmpxchg"; size: AccessSize; dst: number; src: number; off: number }
  | { kind: "load_acquire"; size: AccessSize; dst: number; src: number; off: number }
  | { kind: "store_release"; size: AccessSize; dst: number; src: number; off: number }
  | { kind: "nospec" }
  | { kind: "unknown"; code: number };

export type InsnKind = InsnDescription["kind"];

/** Describes one instruction (see `InsnDescription`). */
export function classify(insn: Instruction): InsnDescription {
  const { code, dst, src, off, imm } = insn;
  const cls = insnClass(code);
  switch (cls) {
    case BPF_ALU:
    case BPF_ALU64: {
      const width: Width = cls === BPF_ALU64 ? 64 : 32;
      const op = insnOp(code);
      const x = (code & BPF_X) !== 0;
      if (op === BPF_NEG) return x ? unknown(code) : { kind: "neg", width, dst };
      if (op === BPF_END) {
        if (cls === BPF_ALU) return { kind: "end", order: x ? "be" : "le", bits: imm, dst };
        return x ? unknown(code) : { kind: "bswap", bits: imm, dst };
      }
      if (op === BPF_MOV && x && off !== 0) {
        if (off === 8 || off === 16 || (off === 32 && width === 64))
          return { kind: "movsx", width, dst, src, bits: off };
        if (width === 64 && off === BPF_ADDR_SPACE_CAST)
          return { kind: "addr_space_cast", dst, src, dstAs: imm >>> 16, srcAs: imm & 0xffff };
        if (width === 64 && off === -1) return { kind: "percpu_mov", dst, src };
      }
      let name: AluOp | undefined = ALU_OPS[op as keyof typeof ALU_OPS];
      if (name === undefined) return unknown(code);
      if (off === 1 && name === "div") name = "sdiv";
      else if (off === 1 && name === "mod") name = "smod";
      return {
        kind: "alu",
        width,
        op: name,
        dst,
        operand: x ? { kind: "reg", reg: src } : { kind: "imm", imm },
      };
    }
    case BPF_JMP:
    case BPF_JMP32: {
      const op = insnOp(code);
      const x = (code & BPF_X) !== 0;
      const width: Width = cls === BPF_JMP ? 64 : 32;
      if (op === BPF_JA) {
        if (cls === BPF_JMP32) return x ? unknown(code) : { kind: "gotol", imm };
        return x ? { kind: "gotox", dst } : { kind: "ja", off };
      }
      if (op === BPF_CALL) {
        if (cls === BPF_JMP32) return unknown(code);
        if (x) return { kind: "callx", reg: dst };
        if (src === BPF_PSEUDO_CALL) return { kind: "call_subprog", imm };
        if (src === BPF_PSEUDO_KFUNC_CALL) return { kind: "call_kfunc", btfId: imm, module: off };
        return { kind: "call_helper", id: imm };
      }
      if (op === BPF_EXIT) return cls === BPF_JMP && !x ? { kind: "exit" } : unknown(code);
      if (op === BPF_JCOND) return cls === BPF_JMP && !x ? { kind: "may_goto", off } : unknown(code);
      const name = JMP_OPS[op as keyof typeof JMP_OPS];
      if (name === undefined) return unknown(code);
      return {
        kind: "jcond",
        width,
        op: name,
        dst,
        operand: x ? { kind: "reg", reg: src } : { kind: "imm", imm },
        off,
      };
    }
    case BPF_LD: {
      const mode = insnMode(code);
      const size = sizeBytes(insnSize(code));
      if (mode === BPF_IMM && insnSize(code) === BPF_DW)
        return { kind: "lddw", subtype: src, dst, value: imm64(insn) };
      if (mode === BPF_ABS && size !== 8) return { kind: "ld_abs", size, imm };
      if (mode === BPF_IND && size !== 8) return { kind: "ld_ind", size, src, imm };
      return unknown(code);
    }
    case BPF_LDX: {
      const mode = insnMode(code);
      const size = sizeBytes(insnSize(code));
      if (mode === BPF_MEM) return { kind: "ldx", size, signed: false, dst, src, off };
      if (mode === BPF_MEMSX && size !== 8) return { kind: "ldx", size, signed: true, dst, src, off };
      return unknown(code);
    }
    case BPF_ST: {
      const mode = insnMode(code);
      if (mode === BPF_MEM) return { kind: "st", size: sizeBytes(insnSize(code)), dst, off, imm };
      if (mode === BPF_ATOMIC && code === (BPF_ST | BPF_ATOMIC)) return { kind: "nospec" };
      return unknown(code);
    }
    default: {
      const mode = insnMode(code);
      const size = sizeBytes(insnSize(code));
      if (mode === BPF_MEM) return { kind: "stx", size, dst, src, off };
      if (mode !== BPF_ATOMIC) return unknown(code);
      if (imm === BPF_LOAD_ACQ) return { kind: "load_acquire", size, dst, src, off };
      if (imm === BPF_STORE_REL) return { kind: "store_release", size, dst, src, off };
      if (imm === BPF_XCHG) return { kind: "xchg", size, dst, src, off };
      if (imm === BPF_CMPXCHG) return { kind: "cmpxchg", size, dst, src, off };
      const op = ATOMIC_OPS[imm & ~BPF_FETCH];
      if (op === undefined || (imm & ~0xf1) !== 0) return unknown(code);
      return { kind: "atomic", size, op, fetch: (imm & BPF_FETCH) !== 0, dst, src, off };
    }
  }
}

function unknown(code: number): InsnDescription {
  return { kind: "unknown", code };
}
