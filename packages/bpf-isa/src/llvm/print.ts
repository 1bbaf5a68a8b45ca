import type { Instruction } from "../instruction.js";
import {
  BPF_ALU,
  BPF_ALU64,
  BPF_DW,
  BPF_JMP,
  BPF_JMP32,
  BPF_LD,
  BPF_LD_IMM64,
  BPF_LDX,
  BPF_ST,
  insnClass,
  insnSize,
} from "../opcodes.js";

/** What llvm-objdump prints for bytes its BPF decoder rejects (spec bpf-isa.md 6.2). */
export const LLVM_UNKNOWN = "<unknown>";

/**
 * Options of the LLVM printer. LLVM's disassembler only reads 32-bit sub-registers for loads,
 * stores and 32-bit atomics when the `alu32` feature is on (`--mcpu=v3`/`v4`, `--mattr=+alu32`);
 * plain `llvm-objdump -d` runs without it, so the default matches it.
 */
export interface LlvmPrintOptions {
  alu32?: boolean;
}

/** Highest register LLVM's BPF decoder accepts (it models R11 as an internal register). */
const MAX_REG = 11;

/** `0x`-prefixed hex of a signed value, the way LLVM 19 prints immediates by default. */
export function llvmHex(value: number | bigint): string {
  if (typeof value === "bigint")
    return value < 0n ? `-0x${(-value).toString(16)}` : `0x${value.toString(16)}`;
  return value < 0 ? `-0x${(-value).toString(16)}` : `0x${value.toString(16)}`;
}

/** Branch displacement operand: `+0x1`, `-0x1c`. */
function branch(off: number): string {
  return off >= 0 ? `+${llvmHex(off)}` : llvmHex(off);
}

/** Memory operand `r1 + 0x8` / `r10 - 0x8` (the offset is an s16). */
function mem(base: string, off: number): string {
  return off >= 0 ? `${base} + ${llvmHex(off)}` : `${base} - ${llvmHex(-off)}`;
}

const ALU_SYMBOLS: Readonly<Record<number, string>> = {
  0: "+=",
  16: "-=",
  32: "*=",
  64: "|=",
  80: "&=",
  96: "<<=",
  112: ">>=",
  160: "^=",
  192: "s>>=",
};

const JMP_SYMBOLS: Readonly<Record<number, string>> = {
  16: "==",
  32: ">",
  48: ">=",
  64: "&",
  80: "!=",
  96: "s>",
  112: "s>=",
  160: "<",
  176: "<=",
  192: "s<",
  208: "s<=",
};

const SIZE_NAMES: Readonly<Record<number, string>> = { 0: "u32", 8: "u16", 16: "u8", 24: "u64" };
const SIGNED_SIZE_NAMES: Readonly<Record<number, string>> = { 0: "s32", 8: "s16", 16: "s8" };

/** Atomic read-modify-write ops by `imm & 0xf0` (spec 4.7); fetch forms add `imm & 1`. */
const ATOMIC_OPS: Readonly<Record<number, { sym: string; name: string }>> = {
  0: { sym: "+", name: "add" },
  64: { sym: "|", name: "or" },
  80: { sym: "&", name: "and" },
  160: { sym: "^", name: "xor" },
};

/**
 * Prints one instruction the way llvm-objdump-19 does (spec bpf-isa.md 6.2), without the leading
 * tab and without the ` <sym+0x..>` branch annotation that objdump appends (see
 * `llvmBranchTarget`). Returns `undefined` where LLVM's decoder rejects the encoding: objdump then
 * prints `<unknown>` and moves on by one slot.
 *
 * The rules mirror which bits LLVM's instruction definitions fix: fields an instruction does not
 * encode are ignored (`exit` with a non-zero dst still prints `exit`, a 32-bit atomic with
 * imm 0x01 prints as the plain `lock ... +=` without alu32), registers above r11 are rejected, and
 * where two definitions match the more specific one wins (`atomic_fetch_add` over `lock +=`).
 * An `lddw` needs its second slot (`nextImm`); without it the decoder fails.
 */
export function printLlvm(insn: Instruction, options: LlvmPrintOptions = {}): string | undefined {
  const { code, dst, src, off, imm } = insn;
  if (dst > MAX_REG && !dstUnused(code)) return undefined;
  const cls = insnClass(code);
  const r = (n: number) => `r${n}`;
  const srcReg = () => (src > MAX_REG ? undefined : src);
  switch (cls) {
    case BPF_ALU:
    case BPF_ALU64: {
      const w = cls === BPF_ALU ? "w" : "r";
      const op = code & 0xf0;
      const x = (code & 0x08) !== 0;
      const operand = (): string | undefined => {
        if (!x) return llvmHex(imm);
        const s = srcReg();
        return s === undefined ? undefined : `${w}${s}`;
      };
      const sym = ALU_SYMBOLS[op];
      if (sym !== undefined) {
        if (off !== 0) return undefined;
        const o = operand();
        return o === undefined ? undefined : `${w}${dst} ${sym} ${o}`;
      }
      if (op === 0x30 || op === 0x90) {
        if (off !== 0 && off !== 1) return undefined;
        const o = operand();
        const s = op === 0x30 ? "/=" : "%=";
        return o === undefined ? undefined : `${w}${dst} ${off === 1 ? "s" : ""}${s} ${o}`;
      }
      if (op === 0xb0) {
        if (!x) return off === 0 ? `${w}${dst} = ${llvmHex(imm)}` : undefined;
        const s = srcReg();
        if (s === undefined) return undefined;
        if (off === 0) return `${w}${dst} = ${w}${s}`;
        if (off === 8 || off === 16 || (off === 32 && cls === BPF_ALU64))
          return `${w}${dst} = (s${off})${w}${s}`;
        if (off === 1 && cls === BPF_ALU64)
          return `r${dst} = addr_space_cast(r${s}, ${llvmHex((imm >>> 16) & 0xffff)}, ${llvmHex(imm & 0xffff)})`;
        return undefined;
      }
      if (op === 0x80) return x ? undefined : `${w}${dst} = -${w}${dst}`;
      if (op === 0xd0) {
        if (imm !== 16 && imm !== 32 && imm !== 64) return undefined;
        if (cls === BPF_ALU) return `r${dst} = ${x ? "be" : "le"}${imm} r${dst}`;
        return x ? undefined : `r${dst} = bswap${imm} r${dst}`;
      }
      return undefined;
    }
    case BPF_JMP:
    case BPF_JMP32: {
      const op = code & 0xf0;
      const x = (code & 0x08) !== 0;
      if (op === 0x00) {
        if (x) return undefined;
        return cls === BPF_JMP ? `goto ${branch(off)}` : `gotol ${branch(imm)}`;
      }
      const sym = JMP_SYMBOLS[op];
      if (sym !== undefined) {
        const w = cls === BPF_JMP32 ? "w" : "r";
        let rhs: string;
        if (x) {
          const s = srcReg();
          if (s === undefined) return undefined;
          rhs = `${w}${s}`;
        } else rhs = llvmHex(imm);
        return `if ${w}${dst} ${sym} ${rhs} goto ${branch(off)}`;
      }
      if (cls === BPF_JMP32) return undefined;
      if (op === 0x80) return x ? `callx r${dst}` : `call ${llvmHex(imm)}`;
      if (op === 0x90) return !x && imm === 0 ? "exit" : undefined;
      if (op === 0xe0) return x ? undefined : `may_goto ${branch(off)}`;
      return undefined;
    }
    case BPF_LD: {
      if (code === BPF_LD_IMM64) {
        if (off !== 0 || insn.nextImm === undefined) return undefined;
        if (src === 0) {
          const value = (BigInt(insn.nextImm) << 32n) | BigInt(imm >>> 0);
          return `r${dst} = ${llvmHex(value)} ll`;
        }
        return `ld_pseudo\tr${dst}, ${llvmHex(src)}, ${llvmHex(imm >>> 0)}`;
      }
      const size = SIZE_NAMES[insnSize(code)];
      if (size === undefined || insnSize(code) === BPF_DW) return undefined;
      if ((code & 0xe0) === 0x20) return `r0 = *(${size} *)skb[${llvmHex(imm)}]`;
      if ((code & 0xe0) === 0x40) {
        const s = srcReg();
        return s === undefined ? undefined : `r0 = *(${size} *)skb[r${s}]`;
      }
      return undefined;
    }
    case BPF_LDX: {
      const s = srcReg();
      if (s === undefined) return undefined;
      const mode = code & 0xe0;
      const sz = insnSize(code);
      if (mode === 0x60) {
        const w = options.alu32 && sz !== BPF_DW ? "w" : "r";
        return `${w}${dst} = *(${SIZE_NAMES[sz]} *)(${mem(r(s), off)})`;
      }
      if (mode === 0x80 && sz !== BPF_DW) return `r${dst} = *(${SIGNED_SIZE_NAMES[sz]} *)(${mem(r(s), off)})`;
      return undefined;
    }
    case BPF_ST: {
      if ((code & 0xe0) !== 0x60) return undefined;
      return `*(${SIZE_NAMES[insnSize(code)]} *)(${mem(r(dst), off)}) = ${llvmHex(imm)}`;
    }
    default: {
      // BPF_STX
      const s = srcReg();
      if (s === undefined) return undefined;
      const mode = code & 0xe0;
      const sz = insnSize(code);
      const narrow = options.alu32 && sz !== BPF_DW;
      if (mode === 0x60) return `*(${SIZE_NAMES[sz]} *)(${mem(r(dst), off)}) = ${narrow ? "w" : "r"}${s}`;
      if (mode !== 0xc0 || (sz !== BPF_DW && sz !== 0x00)) return undefined;
      return printAtomic(sz === BPF_DW, narrow === true, dst, s, off, imm);
    }
  }
}

/**
 * STX | ATOMIC. Without alu32 the only 32-bit form LLVM knows is the old XADD, which fixes just
 * `imm & 0xf0 == 0`, so every other low nibble (fetch included) prints as `lock ... +=`.
 */
function printAtomic(
  dw: boolean,
  alu32: boolean,
  dst: number,
  src: number,
  off: number,
  imm: number,
): string | undefined {
  const addr = mem(`r${dst}`, off);
  const low = imm & 0x0f;
  const opField = imm & 0xf0;
  if (!dw && !alu32) return opField === 0 ? `lock *(u32 *)(${addr}) += r${src}` : undefined;
  const w = dw ? "r" : "w";
  const size = dw ? "u64" : "u32";
  if (low === 0x01) {
    if (opField === 0xe0)
      return dw ? `r${src} = xchg_64(${addr}, r${src})` : `w${src} = xchg32_32(${addr}, w${src})`;
    if (opField === 0xf0)
      return dw ? `r0 = cmpxchg_64(${addr}, r0, r${src})` : `w0 = cmpxchg32_32(${addr}, w0, w${src})`;
    const fetch = ATOMIC_OPS[opField];
    if (fetch !== undefined)
      return `${w}${src} = atomic_fetch_${fetch.name}((${size} *)(${addr}), ${w}${src})`;
  }
  const plain = ATOMIC_OPS[opField];
  if (plain !== undefined) return `lock *(${size} *)(${addr}) ${plain.sym}= ${w}${src}`;
  return undefined;
}

/** Instructions whose LLVM definition does not encode dst (so any value decodes). */
function dstUnused(code: number): boolean {
  switch (code) {
    case 0x05: // goto
    case 0x06: // gotol
    case 0x85: // call
    case 0x95: // exit
    case 0xe5: // may_goto
    case 0x20:
    case 0x28:
    case 0x30: // ld abs
    case 0x40:
    case 0x48:
    case 0x50: // ld ind
      return true;
    default:
      return false;
  }
}

/**
 * Slot index an LLVM-decodable jump lands on (objdump annotates it with `<sym+0x..>`), or
 * undefined for anything that is not a branch: conditional jumps, `goto`, `gotol` and `may_goto`
 * branch; calls do not. `slot` is the jump's own slot index.
 */
export function llvmBranchTarget(insn: Instruction, slot: number): number | undefined {
  const cls = insnClass(insn.code);
  if (cls !== BPF_JMP && cls !== BPF_JMP32) return undefined;
  const op = insn.code & 0xf0;
  if (op === 0x80 || op === 0x90) return undefined;
  if (op === 0xe0 && cls === BPF_JMP32) return undefined;
  if (printLlvm(insn) === undefined) return undefined;
  if (op === 0x00 && cls === BPF_JMP32) return slot + 1 + insn.imm;
  return slot + 1 + insn.off;
}
