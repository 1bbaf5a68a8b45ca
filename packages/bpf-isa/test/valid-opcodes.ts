import type { Instruction } from "../src/index.js";
import { insn, lddw } from "../src/index.js";

/**
 * Representative valid instructions for every opcode Linux 6.18 accepts, with several field
 * values each (registers, signed extremes of off/imm), used by the codec and printer tests.
 */
export function validSamples(): Instruction[] {
  const out: Instruction[] = [];
  const regs: Array<[number, number]> = [
    [0, 1],
    [9, 10],
    [5, 3],
  ];
  const imms = [0, 1, -1, 0x7fffffff, -0x80000000, 123456];
  const offs = [0, 1, -1, 0x7fff, -0x8000];
  const aluOps = [0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x90, 0xa0, 0xb0, 0xc0];
  for (const cls of [0x04, 0x07]) {
    const width = cls === 0x07 ? 64 : 32;
    for (const op of aluOps) {
      const shift = op === 0x60 || op === 0x70 || op === 0xc0;
      const div = op === 0x30 || op === 0x90;
      for (const [d, s] of regs) {
        out.push(insn(cls | op | 0x08, d, s));
        for (const imm of shift ? [0, 1, width - 1] : div ? [1, -1, 0x7fffffff] : imms)
          out.push(insn(cls | op, d, 0, 0, imm));
        if (div) {
          out.push(insn(cls | op | 0x08, d, s, 1));
          out.push(insn(cls | op, d, 0, 1, -3));
        }
      }
    }
    out.push(insn(cls | 0x80, 3), insn(cls | 0x80, 0));
    for (const off of width === 64 ? [8, 16, 32] : [8, 16]) out.push(insn(cls | 0xb8, 3, 2, off));
    for (const bits of [16, 32, 64]) out.push(insn(cls | 0xd0, 4, 0, 0, bits));
  }
  for (const bits of [16, 32, 64]) out.push(insn(0xdc, 4, 0, 0, bits));
  out.push(insn(0xbf, 1, 2, 1, 1), insn(0xbf, 1, 2, 1, 0x10000));
  const jmpOps = [0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0];
  for (const cls of [0x05, 0x06]) {
    for (const op of jmpOps) {
      for (const off of offs) {
        out.push(insn(cls | op | 0x08, 1, 2, off));
        for (const imm of imms) out.push(insn(cls | op, 3, 0, off, imm));
      }
    }
  }
  for (const off of offs) out.push(insn(0x05, 0, 0, off), insn(0xe5, 0, 0, off));
  for (const imm of imms) {
    out.push(insn(0x06, 0, 0, 0, imm), insn(0x85, 0, 0, 0, imm), insn(0x85, 0, 1, 0, imm));
    out.push(insn(0x85, 0, 2, 0, imm), insn(0x85, 0, 2, 3, imm));
  }
  out.push(insn(0x95));
  for (const [value, src] of [
    [0n, 0],
    [0x1122334455667788n, 0],
    [0xffffffffffffffffn, 0],
    [0x80000000n, 0],
    [7n, 1],
    [(16n << 32n) | 5n, 2],
    [1234n, 3],
    [5n, 4],
    [2n, 5],
    [(8n << 32n) | 2n, 6],
  ] as Array<[bigint, number]>) {
    out.push(lddw(2, value, src), lddw(10, value, src));
  }
  for (const size of [0x00, 0x08, 0x10]) {
    for (const imm of imms) out.push(insn(0x20 | size, 0, 0, 0, imm), insn(0x40 | size, 0, 7, 0, imm));
  }
  for (const size of [0x00, 0x08, 0x10, 0x18]) {
    for (const off of offs) {
      out.push(insn(0x61 | size, 2, 1, off), insn(0x63 | size, 10, 3, off));
      for (const imm of imms) out.push(insn(0x62 | size, 10, 0, off, imm));
      if (size !== 0x18) out.push(insn(0x81 | size, 4, 10, off));
    }
    out.push(insn(0xc3 | size, 1, 0, -8, 0x100), insn(0xc3 | size, 1, 2, -8, 0x110));
  }
  for (const size of [0x00, 0x18]) {
    for (const imm of [0x00, 0x01, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, 0xe1, 0xf1]) {
      for (const off of offs) out.push(insn(0xc3 | size, 10, 3, off, imm));
    }
  }
  return out;
}
