import { BPF_LD_IMM64 } from "./opcodes.js";

/**
 * One instruction as raw fields, exactly as encoded: `code` u8, `dst`/`src` 0..15, `off` s16,
 * `imm` s32. The wide `lddw` (code 0x18) occupies two slots and carries the second slot's imm in
 * `nextImm`; any non-zero reserved fields of that second slot are kept in `nextReserved` so decode
 * stays lossless for invalid programs.
 */
export interface Instruction {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
  /** lddw only: imm of the second slot (high 32 bits of the constant). */
  nextImm?: number;
  /** lddw only, present when non-zero: the second slot's code/dst/src/off, which must be 0. */
  nextReserved?: { code: number; dst: number; src: number; off: number };
}

/** Number of 8-byte slots an instruction occupies: 2 for `lddw`, else 1. */
export function slotCount(insn: Instruction): 1 | 2 {
  return insn.code === BPF_LD_IMM64 ? 2 : 1;
}

/** Slot index of each instruction (jump offsets count slots, so lddw counts twice). */
export function slotIndices(insns: readonly Instruction[]): number[] {
  const out = new Array<number>(insns.length);
  let slot = 0;
  for (let i = 0; i < insns.length; i++) {
    out[i] = slot;
    slot += slotCount(insns[i] as Instruction);
  }
  return out;
}

/** The 64-bit value of an `lddw`: `(u32)imm | (u32)nextImm << 32`. */
export function imm64(insn: Instruction): bigint {
  return (BigInt((insn.nextImm ?? 0) >>> 0) << 32n) | BigInt(insn.imm >>> 0);
}

/** Builds an instruction, normalising fields to their encoded ranges (s16 off, s32 imm). */
export function insn(code: number, dst = 0, src = 0, off = 0, imm = 0): Instruction {
  return { code: code & 0xff, dst: dst & 0xf, src: src & 0xf, off: (off << 16) >> 16, imm: imm | 0 };
}

/** Builds an `lddw dst, value` (subtype `src`, 0 = plain constant); `value` is taken modulo 2^64. */
export function lddw(dst: number, value: bigint, src = 0): Instruction {
  const v = BigInt.asUintN(64, value);
  return {
    code: BPF_LD_IMM64,
    dst: dst & 0xf,
    src: src & 0xf,
    off: 0,
    imm: Number(BigInt.asIntN(32, v)),
    nextImm: Number(BigInt.asIntN(32, v >> 32n)),
  };
}
