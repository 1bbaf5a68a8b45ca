import type { Instruction } from "@bpfkit/bpf-isa";
import { BPF_PSEUDO_FUNC, classify, decode, slotCount } from "@bpfkit/bpf-isa";
import { VmError } from "./error.js";
import { CODE_HI } from "./memory.js";
import { Op } from "./ops.js";

/** Words per pre-decoded slot: `op | dst*2 << 8 | src*2 << 16`, off or jump target, imm, imm high word. */
export const SLOT_WORDS = 4;

/**
 * Gives the 64-bit value of an `lddw` whose `src_reg` names a pseudo source (map fd, map value,
 * BTF variable, fd_array index): the embedder's map or kernel-object address.
 */
export type LddwResolver = (subtype: number, imm: number, nextImm: number, slot: number) => bigint;

export interface LoadOptions {
  /** Shown in faults and statistics. */
  name?: string;
  /** Required when the program loads pseudo values other than `BPF_PSEUDO_FUNC`. */
  resolveLddw?: LddwResolver;
}

/**
 * A program ready to run: the instructions pre-decoded into one `Int32Array` of `SLOT_WORDS` words
 * per slot (jump targets absolute, immediates split into 32-bit words, registers pre-scaled to
 * register-file indices), plus one sentinel slot past the end so running off the end faults.
 */
export interface Program {
  readonly name: string;
  /** Number of 8-byte slots (an `lddw` counts two). */
  readonly slots: number;
  /** The decoded instructions, one per instruction (not per slot). */
  readonly insns: readonly Instruction[];
  /** Slot index of each entry of `insns`. */
  readonly slotOf: readonly number[];
  /** @internal The pre-decoded form the interpreter runs. */
  readonly code: Int32Array;
}

const ALU_NAMES = [
  "add",
  "sub",
  "mul",
  "div",
  "sdiv",
  "or",
  "and",
  "lsh",
  "rsh",
  "mod",
  "smod",
  "xor",
  "mov",
  "arsh",
];
const JMP_NAMES = ["jeq", "jgt", "jge", "jset", "jne", "jsgt", "jsge", "jlt", "jle", "jslt", "jsle"];

/**
 * Validates and pre-decodes a program given as bytes (little-endian slots) or instructions.
 * Everything the interpreter cannot execute is refused here with a `VmError` of kind `load` naming
 * the slot: unknown encodings, registers above r10, writes to r10, jumps out of the program or into
 * the middle of an `lddw`, pseudo `lddw`s without a resolver.
 */
export function loadProgram(source: Uint8Array | readonly Instruction[], options: LoadOptions = {}): Program {
  const insns = source instanceof Uint8Array ? decodeBytes(source) : source;
  const slotOf: number[] = [];
  let slots = 0;
  for (const insn of insns) {
    slotOf.push(slots);
    slots += slotCount(insn);
  }
  const code = new Int32Array((slots + 1) * SLOT_WORDS);
  const starts = new Uint8Array(slots + 1);
  for (const s of slotOf) starts[s] = 1;
  // The sentinel past the end and every lddw high slot run as LDDW_HI, which faults.
  code[slots * SLOT_WORDS] = Op.LDDW_HI;
  const name = options.name ?? "prog";
  for (let i = 0; i < insns.length; i++) {
    const slot = slotOf[i] as number;
    encodeSlot(code, slot, insns[i] as Instruction, slots, starts, options);
  }
  return { name, slots, insns, slotOf, code };
}

function decodeBytes(bytes: Uint8Array): readonly Instruction[] {
  try {
    return decode(bytes);
  } catch (error) {
    const e = error as Error & { insn?: number; offset?: number };
    throw new VmError(`cannot decode program: ${e.message}`, { kind: "load", insn: e.insn });
  }
}

function encodeSlot(
  code: Int32Array,
  slot: number,
  insn: Instruction,
  slots: number,
  starts: Uint8Array,
  options: LoadOptions,
): void {
  const fail = (why: string): never => {
    throw new VmError(
      `cannot load insn ${slot} (opcode 0x${insn.code.toString(16).padStart(2, "0")}): ${why}`,
      {
        kind: "load",
        insn: slot,
      },
    );
  };
  const reg = (r: number, write: boolean): number => {
    if (r > 10) fail(`register r${r} does not exist`);
    if (write && r === 10) fail("r10 (the frame pointer) is read only");
    return r * 2;
  };
  const target = (delta: number): number => {
    const t = slot + 1 + delta;
    if (t < 0 || t >= slots) fail(`jump out of range to ${t}`);
    if (starts[t] !== 1) fail(`jump into the middle of the lddw at ${t - 1}`);
    return t;
  };
  const p = slot * SLOT_WORDS;
  const [op, dst, src, w1, imm, immHi] = describeSlot(insn, slot, options, reg, target, fail);
  code[p] = op | (dst << 8) | (src << 16);
  code[p + 1] = w1;
  code[p + 2] = imm;
  code[p + 3] = immHi;
  if (insn.code === 0x18) code[p + SLOT_WORDS] = Op.LDDW_HI;
}

/** Pre-decoded words of one instruction: op, dst index, src index, off or target, imm, imm high word. */
type Words = [number, number, number, number, number, number];

function describeSlot(
  insn: Instruction,
  slot: number,
  options: LoadOptions,
  reg: (r: number, write: boolean) => number,
  target: (delta: number) => number,
  fail: (why: string) => never,
): Words {
  const put = (op: number, dst: number, src: number, w1: number, imm: number, immHi: number): Words => [
    op,
    dst,
    src,
    w1,
    imm,
    immHi,
  ];
  const d = classify(insn);
  switch (d.kind) {
    case "alu": {
      const base = d.width === 64 ? Op.ADD64_K : Op.ADD32_K;
      const x = d.operand.kind === "reg";
      const op = base + ALU_NAMES.indexOf(d.op) + (x ? Op.ADD64_X - Op.ADD64_K : 0);
      const dst = reg(d.dst, true);
      if (d.operand.kind === "reg") return put(op, dst, reg(d.operand.reg, false), 0, 0, 0);
      return put(op, dst, 0, 0, d.operand.imm, d.operand.imm >> 31);
    }
    case "neg":
      return put(d.width === 64 ? Op.NEG64 : Op.NEG32, reg(d.dst, true), 0, 0, 0, 0);
    case "movsx":
      // imm holds the shift that moves the sign bit of the source to bit 31.
      return put(
        d.width === 64 ? Op.MOVSX64 : Op.MOVSX32,
        reg(d.dst, true),
        reg(d.src, false),
        0,
        32 - d.bits,
        0,
      );
    case "end":
    case "bswap": {
      const le = d.kind === "end" && d.order === "le";
      const op =
        d.bits === 16
          ? le
            ? Op.LE16
            : Op.BSWAP16
          : d.bits === 32
            ? le
              ? Op.LE32
              : Op.BSWAP32
            : le
              ? Op.NOP
              : Op.BSWAP64;
      if (d.bits !== 16 && d.bits !== 32 && d.bits !== 64) fail(`invalid byte swap width ${d.bits}`);
      return put(op, reg(d.dst, true), 0, 0, 0, 0);
    }
    case "addr_space_cast":
      return fail("addr_space_cast needs an arena, which this VM does not model");
    case "percpu_mov":
      return fail("the per-CPU move is kernel-internal");
    case "ja":
      return put(Op.JA, 0, 0, target(d.off), 0, 0);
    case "gotol":
      return put(Op.JA, 0, 0, target(d.imm), 0, 0);
    case "gotox":
      return fail("gotox (indirect jump) is not supported");
    case "may_goto":
      return put(Op.MAY_GOTO, 0, 0, target(d.off), 0, 0);
    case "jcond": {
      const base = d.width === 64 ? Op.JEQ_K : Op.JEQ32_K;
      const x = d.operand.kind === "reg";
      const op = base + JMP_NAMES.indexOf(d.op) + (x ? Op.JEQ_X - Op.JEQ_K : 0);
      const dst = reg(d.dst, false);
      if (d.operand.kind === "reg") return put(op, dst, reg(d.operand.reg, false), target(d.off), 0, 0);
      return put(op, dst, 0, target(d.off), d.operand.imm, d.operand.imm >> 31);
    }
    case "call_helper":
      return put(Op.CALL_HELPER, 0, 0, 0, d.id, 0);
    case "call_subprog":
      return put(Op.CALL_LOCAL, 0, 0, target(d.imm), 0, 0);
    case "call_kfunc":
      return put(Op.CALL_KFUNC, 0, 0, 0, d.btfId, d.module);
    case "callx": {
      // LLVM 19 puts the register in dst_reg; older encodings put its number in imm.
      const r = d.reg === 0 && insn.imm > 0 && insn.imm <= 10 ? insn.imm : d.reg;
      return put(Op.CALLX, 0, reg(r, false), 0, 0, 0);
    }
    case "exit":
      return put(Op.EXIT, 0, 0, 0, 0, 0);
    case "lddw": {
      const dst = reg(d.dst, true);
      if (d.subtype === 0) return put(Op.LDDW, dst, 0, 0, insn.imm, insn.nextImm ?? 0);
      if (d.subtype === BPF_PSEUDO_FUNC) return put(Op.LDDW, dst, 0, 0, target(insn.imm), CODE_HI | 0);
      const resolve = options.resolveLddw;
      if (resolve === undefined)
        return fail(`lddw subtype ${d.subtype} needs a resolver (LoadOptions.resolveLddw)`);
      const v = BigInt.asUintN(64, resolve(d.subtype, insn.imm, insn.nextImm ?? 0, slot));
      return put(Op.LDDW, dst, 0, 0, Number(v & 0xffffffffn) | 0, Number(v >> 32n) | 0);
    }
    case "ld_abs":
      return put(Op.LD_ABS, 0, 0, d.size, d.imm, 0);
    case "ld_ind":
      return put(Op.LD_IND, 0, reg(d.src, false), d.size, d.imm, 0);
    case "ldx": {
      const op = d.signed
        ? d.size === 1
          ? Op.LDXSB
          : d.size === 2
            ? Op.LDXSH
            : Op.LDXSW
        : [0, Op.LDXB, Op.LDXH, 0, Op.LDXW, 0, 0, 0, Op.LDXDW][d.size];
      return put(op as number, reg(d.dst, true), reg(d.src, false), d.off, 0, 0);
    }
    case "st": {
      const op = [0, Op.STB, Op.STH, 0, Op.STW, 0, 0, 0, Op.STDW][d.size] as number;
      return put(op, reg(d.dst, false), 0, d.off, d.imm, d.imm >> 31);
    }
    case "stx": {
      const op = [0, Op.STXB, Op.STXH, 0, Op.STXW, 0, 0, 0, Op.STXDW][d.size] as number;
      return put(op, reg(d.dst, false), reg(d.src, false), d.off, 0, 0);
    }
    case "atomic":
    case "xchg":
    case "cmpxchg":
      if (d.size < 4) fail("invalid atomic operand size");
      return put(
        Op.ATOMIC,
        reg(d.dst, false),
        reg(d.src, d.kind !== "atomic" || d.fetch),
        d.off,
        insn.imm,
        d.size,
      );
    case "load_acquire":
      return put(Op.ATOMIC, reg(d.dst, true), reg(d.src, false), d.off, insn.imm, d.size);
    case "store_release":
      return put(Op.ATOMIC, reg(d.dst, false), reg(d.src, false), d.off, insn.imm, d.size);
    case "nospec":
      return put(Op.NOP, 0, 0, 0, 0, 0);
    default:
      return fail("unknown opcode");
  }
}
