import type { Instruction } from "../instruction.js";
import { imm64 } from "../instruction.js";

const ALU_NAMES: Record<number, string> = {
  0: "add",
  16: "sub",
  32: "mul",
  48: "div",
  64: "or",
  80: "and",
  96: "lsh",
  112: "rsh",
  128: "neg",
  144: "mod",
  160: "xor",
  176: "mov",
  192: "arsh",
};
const JMP_NAMES: Record<number, string> = {
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
};
const SIZE_SUFFIX = ["w", "h", "b", "dw"] as const;
const ATOMIC_NAMES: Record<number, string> = { 0: "add", 64: "or", 80: "and", 160: "xor" };

/**
 * Prints one instruction in the canonical bpf_conformance syntax (spec 7.4), the form the
 * assembler reads back to the same bytes.
 */
export function disassembleUbpfInsn(insn: Instruction): string {
  const { code, dst, src, off, imm } = insn;
  const cls = code & 7;
  const r = (n: number) => `%r${n}`;
  switch (cls) {
    case 0x04:
    case 0x07: {
      const op = code & 0xf0;
      const x = (code & 0x08) !== 0;
      const suffix = cls === 0x07 ? "" : "32";
      if (op === 0xd0) {
        const name = x ? "be" : cls === 0x07 ? "swap" : "le";
        return `${name}${imm} ${r(dst)}`;
      }
      if (op === 0x80) return `neg${suffix} ${r(dst)}`;
      if (op === 0xb0 && off !== 0) return `movsx${off}${cls === 0x07 ? "64" : "32"} ${r(dst)}, ${r(src)}`;
      let name = ALU_NAMES[op] ?? "unknown_alu";
      if (off === 1 && op === 0x30) name = "sdiv";
      if (off === 1 && op === 0x90) name = "smod";
      return `${name}${suffix} ${r(dst)}, ${x ? r(src) : formatImm(imm)}`;
    }
    case 0x00:
      if (code === 0x18) return `lddw ${r(dst)}, 0x${imm64(insn).toString(16)}`;
      return `unknown 0x${code.toString(16)}`;
    case 0x01:
      return `ldx${(code & 0xe0) === 0x80 ? "s" : ""}${SIZE_SUFFIX[(code >> 3) & 3]} ${r(dst)}, ${memory(src, off)}`;
    case 0x02:
      return `st${SIZE_SUFFIX[(code >> 3) & 3]} ${memory(dst, off)}, ${formatImm(imm)}`;
    case 0x03: {
      const size = SIZE_SUFFIX[(code >> 3) & 3];
      if ((code & 0xe0) !== 0xc0) return `stx${size} ${memory(dst, off)}, ${r(src)}`;
      const width = size === "w" ? "32" : "";
      let op: string;
      if (imm === 0xe1) op = `xchg${width}`;
      else if (imm === 0xf1) op = `cmpxchg${width}`;
      else op = `${imm & 1 ? "fetch " : ""}${ATOMIC_NAMES[imm & ~1] ?? "unknown"}${width}`;
      return `lock ${op} ${memory(dst, off)}, ${r(src)}`;
    }
    default: {
      const suffix = cls === 0x06 ? "32" : "";
      if (code === 0x95) return "exit";
      if ((code & ~0x08) === 0x85) {
        if (code & 0x08) return `call helper ${r(dst)}`;
        if (src === 0) return `call helper ${formatImm(imm)}`;
        if (src === 1) return `call local ${jump(imm)}`;
        if (src === 2) return `call runtime ${formatImm(imm)}`;
        return `call unknown ${formatImm(imm)}`;
      }
      if (code === 0x05) return `ja ${jump(off)}`;
      if (code === 0x06) return `ja32 ${jump(imm)}`;
      const name = JMP_NAMES[code & 0xf0] ?? "junknown";
      return `${name}${suffix} ${r(dst)}, ${code & 0x08 ? r(src) : formatImm(imm)}, ${jump(off)}`;
    }
  }
}

/** Prints a program as the conformance disassembler lists it: `<slot right-aligned to 4>: <text>`. */
export function disassembleUbpf(insns: readonly Instruction[]): string {
  let slot = 0;
  let out = "";
  for (const i of insns) {
    out += `${String(slot).padStart(4)}: ${disassembleUbpfInsn(i)}\n`;
    slot += i.code === 0x18 ? 2 : 1;
  }
  return out;
}

function formatImm(imm: number): string {
  if ((imm < 0 && imm !== -0x80000000) || (imm >= -10 && imm <= 10)) return String(imm);
  return `0x${(imm >>> 0).toString(16)}`;
}

function memory(reg: number, off: number): string {
  if (off === 0) return `[%r${reg}]`;
  return `[%r${reg}${off >= 0 ? "+" : ""}${off}]`;
}

function jump(n: number): string {
  return n >= 0 ? `+${n}` : `${n}`;
}
