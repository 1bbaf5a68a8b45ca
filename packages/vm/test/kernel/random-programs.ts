import type { Instruction } from "@bpfkit/bpf-isa";
import { insn } from "@bpfkit/bpf-isa";

// Random ALU/JMP programs that the Linux verifier accepts, shaped as syscall programs: the
// registers start from the context (so the verifier knows nothing about their values), run a body
// of straight-line code, forward branches and counted loops, then go back into the context, which
// BPF_PROG_TEST_RUN returns. The same program runs in bpfkit and in the kernel, and the contexts
// must agree byte for byte.

/** Registers the body computes on; r6 holds the context and r9 counts loop iterations. */
export const POOL = [0, 1, 2, 3, 4, 5, 7, 8];
/** Registers saved to and restored from the context, in slot order. */
export const CTX_REGS = [...POOL, 9];
/** Context size: one u64 per register in CTX_REGS. */
export const CTX_SIZE = CTX_REGS.length * 8;

/** A small fast seeded PRNG (mulberry32), so failures reproduce from the seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const INTERESTING = [
  0n,
  1n,
  2n,
  0x7fn,
  0x80n,
  0xffn,
  0x7fffn,
  0x8000n,
  0xffffn,
  0x7fffffffn,
  0x80000000n,
  0xffffffffn,
  0x100000000n,
  0x7fffffffffffffffn,
  0x8000000000000000n,
  0xffffffffffffffffn,
  0xfffffffffffffffen,
];

/** A random 64-bit input value, biased toward edge cases. */
export function randomValue(rand: () => number): bigint {
  const r = rand();
  if (r < 0.4) return INTERESTING[Math.floor(rand() * INTERESTING.length)] as bigint;
  if (r < 0.6) return BigInt(Math.floor(rand() * 256));
  if (r < 0.8) return BigInt(Math.floor(rand() * 2 ** 32));
  return (BigInt(Math.floor(rand() * 2 ** 32)) << 32n) | BigInt(Math.floor(rand() * 2 ** 32));
}

const ALU = [0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x90, 0xa0, 0xb0, 0xc0];
const JMP = [0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0];

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)] as T;
}

function randomImm(rand: () => number): number {
  const r = rand();
  if (r < 0.3) return Math.floor(rand() * 16) - 8;
  if (r < 0.5) return pick(rand, [0x7fffffff, -0x80000000, -1, 0xff, 0x8000, 31, 32, 63]);
  return Math.floor(rand() * 2 ** 32) | 0;
}

/** One random ALU instruction writing a pool register. */
function aluInsn(rand: () => number): Instruction {
  const dst = pick(rand, POOL);
  const src = pick(rand, POOL);
  const cls = rand() < 0.5 ? 0x07 : 0x04;
  const r = rand();
  if (r < 0.05) return insn(0x80 | cls, dst);
  if (r < 0.1) {
    // movsx: ALU64 8/16/32, ALU 8/16
    const bits = cls === 0x07 ? pick(rand, [8, 16, 32]) : pick(rand, [8, 16]);
    return insn(0xb8 | cls, dst, src, bits);
  }
  if (r < 0.15) {
    const bits = pick(rand, [16, 32, 64]);
    // le/be (class ALU) or bswap (ALU64 K)
    const form = pick(rand, [0xd4, 0xdc, 0xd7]);
    return insn(form, dst, 0, 0, bits);
  }
  const op = pick(rand, ALU);
  const signed = (op === 0x30 || op === 0x90) && rand() < 0.4 ? 1 : 0;
  if (rand() < 0.5) return insn(op | 0x08 | cls, dst, src, signed);
  let imm = randomImm(rand);
  const width = cls === 0x07 ? 64 : 32;
  if (op === 0x60 || op === 0x70 || op === 0xc0) imm = Math.floor(rand() * width);
  if ((op === 0x30 || op === 0x90) && imm === 0) imm = 3;
  return insn(op | cls, dst, 0, signed, imm);
}

/** A forward conditional (or unconditional) jump skipping `skip` instructions. */
function jumpInsn(rand: () => number, skip: number): Instruction {
  // An unconditional jump over code would leave it unreachable, which the verifier refuses.
  if (rand() < 0.05) return insn(0x05, 0, 0, 0);
  const cls = rand() < 0.5 ? 0x05 : 0x06;
  const op = pick(rand, JMP);
  const dst = pick(rand, POOL);
  if (rand() < 0.5) return insn(op | 0x08 | cls, dst, pick(rand, POOL), skip);
  return insn(op | cls, dst, 0, skip, randomImm(rand));
}

/** A block of `length` instructions whose jumps stay inside it (they may land just past its end). */
function block(rand: () => number, length: number, jumpRate: number): Instruction[] {
  const out: Instruction[] = [];
  for (let i = 0; i < length; i++) {
    const left = length - i - 1;
    if (left > 0 && rand() < jumpRate) out.push(jumpInsn(rand, Math.floor(rand() * (left + 1))));
    else out.push(aluInsn(rand));
  }
  return out;
}

export interface ProgramShape {
  /** Straight-line only (with forward jumps), or also counted loops. */
  loops: boolean;
  /** Body length in instructions (approximate for looping programs). */
  length: number;
}

/** Generates one program: load registers from ctx, random body, store them back, exit with r0. */
export function randomProgram(rand: () => number, shape: ProgramShape): Instruction[] {
  const out: Instruction[] = [insn(0xbf, 6, 1)]; // r6 = r1 (ctx)
  CTX_REGS.forEach((r, k) => {
    out.push(insn(0x79, r, 6, 8 * k)); // rK = *(u64 *)(r6 + 8k)
  });
  let left = shape.length;
  while (left > 0) {
    if (shape.loops && rand() < 0.5) {
      const body = block(rand, 2 + Math.floor(rand() * 6), 0.2);
      const count = 2 + Math.floor(rand() * 5);
      out.push(insn(0xb7, 9, 0, 0, count)); // r9 = count
      out.push(...body);
      out.push(insn(0x17, 9, 0, 0, 1)); // r9 -= 1
      out.push(insn(0x55, 9, 0, -(body.length + 2), 0)); // if r9 != 0 goto body
      left -= body.length;
    } else {
      const n = Math.min(left, 3 + Math.floor(rand() * 10));
      out.push(...block(rand, n, 0.15));
      left -= n;
    }
  }
  CTX_REGS.forEach((r, k) => {
    out.push(insn(0x7b, 6, r, 8 * k)); // *(u64 *)(r6 + 8k) = rK
  });
  out.push(insn(0x95));
  return out;
}

/** A random context: one u64 per register of CTX_REGS, little-endian. */
export function randomContext(rand: () => number): Uint8Array {
  const bytes = new Uint8Array(CTX_SIZE);
  const view = new DataView(bytes.buffer);
  for (let k = 0; k < CTX_REGS.length; k++) view.setBigUint64(8 * k, randomValue(rand), true);
  return bytes;
}
