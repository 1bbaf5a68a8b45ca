import { assembleUbpf, type Instruction } from "@bpfkit/bpf-isa";

/** Sums r1 down to 0: three instructions per iteration (add, sub, jne). */
export const LOOP = assembleUbpf(`
  mov %r0, 0
loop:
  add %r0, %r1
  sub %r1, 1
  jne %r1, 0, loop
  exit`);

/**
 * 32-bit FNV-1a over r2 bytes at r1, the way clang -O2 -mcpu=v3 compiles the C loop: five
 * instructions per byte (load, xor, multiply, increment, compare-and-branch).
 */
export const FNV1A = assembleUbpf(`
  mov32 %r0, 0x811c9dc5
  mov %r3, %r1
  add %r3, %r2
  jge %r1, %r3, done
loop:
  ldxb %r4, [%r1]
  xor32 %r0, %r4
  mul32 %r0, 0x01000193
  add %r1, 1
  jlt %r1, %r3, loop
done:
  exit`);

/** Insertion sort of r2 u32 values at r1, in place; returns 0. */
export const SORT = assembleUbpf(`
  mov %r3, 1
outer:
  jge %r3, %r2, done
  mov %r4, %r3
  lsh %r4, 2
  add %r4, %r1
  ldxw %r5, [%r4]
inner:
  jeq %r4, %r1, place
  ldxw %r6, [%r4-4]
  jle %r6, %r5, place
  stxw [%r4], %r6
  sub %r4, 4
  ja inner
place:
  stxw [%r4], %r5
  add %r3, 1
  ja outer
done:
  mov %r0, 0
  exit`);

/** The FNV-1a 32-bit hash computed in JavaScript, to check the programs. */
export function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

/** Deterministic pseudo-random bytes. */
export function noise(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

export type { Instruction };
