import type { Instruction } from "./instruction.js";
import { slotIndices } from "./instruction.js";
import {
  BPF_ABS,
  BPF_ADDR_SPACE_CAST,
  BPF_ALU,
  BPF_ALU64,
  BPF_ARSH,
  BPF_ATOMIC,
  BPF_CALL,
  BPF_CMPXCHG,
  BPF_DIV,
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
  BPF_K,
  BPF_LD,
  BPF_LD_IMM64,
  BPF_LDX,
  BPF_LOAD_ACQ,
  BPF_LSH,
  BPF_MAY_GOTO,
  BPF_MEM,
  BPF_MEMSX,
  BPF_MOD,
  BPF_MOV,
  BPF_NEG,
  BPF_PSEUDO_CALL,
  BPF_PSEUDO_FUNC,
  BPF_PSEUDO_KFUNC_CALL,
  BPF_PSEUDO_MAP_FD,
  BPF_PSEUDO_MAP_IDX,
  BPF_PSEUDO_MAP_IDX_VALUE,
  BPF_PSEUDO_MAP_VALUE,
  BPF_RSH,
  BPF_ST,
  BPF_STORE_REL,
  BPF_STX,
  BPF_TO_LE,
  BPF_W,
  BPF_X,
  BPF_XCHG,
  insnClass,
  insnMode,
  insnOp,
  insnSize,
  insnSource,
} from "./opcodes.js";

/** One encoding problem: the slot index and the Linux verifier's message for it. */
export interface ValidationIssue {
  insn: number;
  message: string;
}

const PUBLIC_OPCODES = buildOpcodeTable();

/**
 * True for every opcode Linux accepts in a program before looking at the other fields (its
 * public instruction table: the UAPI opcodes, legacy packet loads and `may_goto`).
 */
export function isKnownOpcode(code: number): boolean {
  return PUBLIC_OPCODES[code & 0xff] === 1;
}

/**
 * Reports invalid encodings with the Linux verifier's message texts (spec 4.16), in the order
 * Linux checks them: a whole-program pass over opcodes and `lddw` pairs, the subprogram jump-range
 * pass, the ldimm64 jump-target check, then the per-instruction reserved-field checks. Linux stops
 * at its first error; this reports every instruction's first problem, so `issues[0]` is what a
 * load would print when the program is otherwise acceptable. Semantic errors (types, bounds,
 * reachability) belong to the verifier and are not reported.
 */
export function validate(insns: readonly Instruction[]): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const slots = slotIndices(insns);
  const total =
    insns.length === 0 ? 0 : (slots[insns.length - 1] as number) + slotLen(insns[insns.length - 1]);

  // Pass 1 (resolve_pseudo_ldimm64): LDX modes, lddw pairs and the opcode table.
  for (let i = 0; i < insns.length; i++) {
    const insn = insns[i] as Instruction;
    const at = slots[i] as number;
    const message = pseudoPass(insn, at, total);
    if (message) issues.push({ insn: at, message });
  }
  if (issues.length > 0) return issues;

  // Pass 2 (check_subprogs): jumps stay in their subprogram; each subprogram ends in exit/jmp.
  const starts = new Set<number>([0]);
  for (let i = 0; i < insns.length; i++) {
    const insn = insns[i] as Instruction;
    const at = slots[i] as number;
    const isPseudoCall = insn.code === (BPF_JMP | BPF_CALL) && insn.src === BPF_PSEUDO_CALL;
    const isFuncAddr = insn.code === BPF_LD_IMM64 && insn.src === BPF_PSEUDO_FUNC;
    if (!isPseudoCall && !isFuncAddr) continue;
    const start = at + insn.imm + 1;
    if (start < 0 || start >= total) return [{ insn: at, message: "call to invalid destination" }];
    starts.add(start);
  }
  const bounds = [...starts].sort((a, b) => a - b);
  let sub = 0;
  for (let i = 0; i < insns.length; i++) {
    const insn = insns[i] as Instruction;
    const at = slots[i] as number;
    while (sub + 1 < bounds.length && at >= (bounds[sub + 1] as number)) sub++;
    const start = bounds[sub] as number;
    const end = sub + 1 < bounds.length ? (bounds[sub + 1] as number) : total;
    const cls = insnClass(insn.code);
    const op = insnOp(insn.code);
    if ((cls === BPF_JMP || cls === BPF_JMP32) && op !== BPF_EXIT && op !== BPF_CALL) {
      const target = at + (insn.code === (BPF_JMP32 | BPF_JA) ? insn.imm : insn.off) + 1;
      if (target < start || target >= end) {
        issues.push({ insn: at, message: `jump out of range from insn ${at} to ${target}` });
        return issues;
      }
    }
    if (at + slotLen(insn) === end) {
      const c = insn.code;
      if (c !== (BPF_JMP | BPF_EXIT) && c !== (BPF_JMP32 | BPF_JA) && c !== (BPF_JMP | BPF_JA)) {
        issues.push({ insn: at, message: "last insn is not an exit or jmp" });
        return issues;
      }
    }
  }

  // Pass 3 (check_cfg): every slot is reachable and no jump lands on the second slot of an lddw.
  const cfg = checkCfg(insns, slots, total, bounds);
  if (cfg) return [cfg];

  // Pass 4 (do_check): reserved fields of each instruction.
  for (let i = 0; i < insns.length; i++) {
    const insn = insns[i] as Instruction;
    const message = checkFields(insn);
    if (message) issues.push({ insn: slots[i] as number, message });
  }
  return issues;
}

/**
 * The first problem Linux reports for one instruction on its own (opcode table, lddw pairing,
 * reserved fields), ignoring everything that depends on the rest of the program.
 */
export function validateInstruction(insn: Instruction): string | undefined {
  return pseudoPass(insn, 0, 2) ?? checkFields(insn);
}

function checkCfg(
  insns: readonly Instruction[],
  slots: number[],
  total: number,
  roots: number[],
): ValidationIssue | undefined {
  const bySlot = new Map<number, Instruction>();
  for (let i = 0; i < insns.length; i++) bySlot.set(slots[i] as number, insns[i] as Instruction);
  const seen = new Uint8Array(total + 1);
  const stack = [...roots];
  while (stack.length > 0) {
    const at = stack.pop() as number;
    if (at < 0 || at >= total || seen[at]) continue;
    seen[at] = 1;
    const insn = bySlot.get(at);
    // A jump into the middle of an lddw marks that slot as explored without walking on.
    if (!insn) continue;
    const cls = insnClass(insn.code);
    const op = insnOp(insn.code);
    if (insn.code === BPF_LD_IMM64) {
      stack.push(at + 2);
      continue;
    }
    if (cls !== BPF_JMP && cls !== BPF_JMP32) {
      stack.push(at + 1);
      continue;
    }
    if (op === BPF_EXIT) continue;
    if (op === BPF_CALL) {
      stack.push(at + 1);
      continue;
    }
    const target = at + (insn.code === (BPF_JMP32 | BPF_JA) ? insn.imm : insn.off) + 1;
    stack.push(target);
    if (op !== BPF_JA) stack.push(at + 1);
  }
  for (let i = 0; i < insns.length; i++) {
    const at = slots[i] as number;
    if (!seen[at]) return { insn: at, message: `unreachable insn ${at}` };
    if ((insns[i] as Instruction).code === BPF_LD_IMM64 && seen[at + 1])
      return { insn: at, message: `jump into the middle of ldimm64 insn ${at}` };
  }
  return undefined;
}

function slotLen(insn: Instruction | undefined): number {
  return insn?.code === BPF_LD_IMM64 ? 2 : 1;
}

function pseudoPass(insn: Instruction, at: number, total: number): string | undefined {
  const { code } = insn;
  if (
    insnClass(code) === BPF_LDX &&
    ((insnMode(code) !== BPF_MEM && insnMode(code) !== BPF_MEMSX) || insn.imm !== 0)
  )
    return "BPF_LDX uses reserved fields";
  if (code === BPF_LD_IMM64) {
    if (at === total - 1 || insn.nextImm === undefined || insn.nextReserved)
      return "invalid bpf_ld_imm64 insn";
    switch (insn.src) {
      case 0:
      case 3: // BPF_PSEUDO_BTF_ID: checked against BTF by the verifier
      case BPF_PSEUDO_FUNC:
      case BPF_PSEUDO_MAP_VALUE:
      case BPF_PSEUDO_MAP_IDX_VALUE:
        return undefined;
      case BPF_PSEUDO_MAP_FD:
      case BPF_PSEUDO_MAP_IDX:
        return insn.nextImm === 0 ? undefined : "unrecognized bpf_ld_imm64 insn";
      default:
        return "unrecognized bpf_ld_imm64 insn";
    }
  }
  if (!isKnownOpcode(code)) return `unknown opcode ${hex2(code)}`;
  return undefined;
}

function checkFields(insn: Instruction): string | undefined {
  const { code, dst, src, off, imm } = insn;
  const cls = insnClass(code);
  const op = insnOp(code);
  const regCheck = (...regs: number[]) => {
    for (const r of regs) if (r >= 11) return `R${r} is invalid`;
    return undefined;
  };
  switch (cls) {
    case BPF_ALU:
    case BPF_ALU64: {
      const x = insnSource(code) === BPF_X;
      if (op === BPF_NEG) {
        if (x || src !== 0 || off !== 0 || imm !== 0) return "BPF_NEG uses reserved fields";
        return regCheck(dst);
      }
      if (op === BPF_END) {
        if (
          src !== 0 ||
          off !== 0 ||
          (imm !== 16 && imm !== 32 && imm !== 64) ||
          (cls === BPF_ALU64 && insnSource(code) !== BPF_TO_LE)
        )
          return "BPF_END uses reserved fields";
        return regCheck(dst);
      }
      if (op === BPF_MOV) {
        if (x) {
          if (cls === BPF_ALU) {
            if ((off !== 0 && off !== 8 && off !== 16) || imm !== 0) return "BPF_MOV uses reserved fields";
          } else if (off === BPF_ADDR_SPACE_CAST) {
            if (imm !== 1 && imm !== 1 << 16)
              return "addr_space_cast insn can only convert between address space 1 and 0";
          } else if ((off !== 0 && off !== 8 && off !== 16 && off !== 32) || imm !== 0) {
            return "BPF_MOV uses reserved fields";
          }
          return regCheck(src, dst);
        }
        if (src !== 0 || off !== 0) return "BPF_MOV uses reserved fields";
        return regCheck(dst);
      }
      if (op > BPF_END) return `invalid BPF_ALU opcode ${op.toString(16)}`;
      const badOff = (off !== 0 && off !== 1) || (off === 1 && op !== BPF_MOD && op !== BPF_DIV);
      if (x) {
        if (imm !== 0 || badOff) return "BPF_ALU uses reserved fields";
        const r = regCheck(src, dst);
        if (r) return r;
      } else {
        if (src !== 0 || badOff) return "BPF_ALU uses reserved fields";
        const r = regCheck(dst);
        if (r) return r;
        if ((op === BPF_MOD || op === BPF_DIV) && imm === 0) return "div by zero";
        if (
          (op === BPF_LSH || op === BPF_RSH || op === BPF_ARSH) &&
          (imm < 0 || imm >= (cls === BPF_ALU64 ? 64 : 32))
        )
          return `invalid shift ${imm}`;
      }
      return undefined;
    }
    case BPF_LDX:
      return regCheck(src, dst);
    case BPF_STX: {
      if (insnMode(code) === BPF_ATOMIC) {
        if (imm === BPF_LOAD_ACQ || imm === BPF_STORE_REL) return regCheck(src, dst);
        const base = imm & ~BPF_FETCH;
        const ok =
          imm === BPF_XCHG ||
          imm === BPF_CMPXCHG ||
          base === 0x00 ||
          base === 0x40 ||
          base === 0x50 ||
          base === 0xa0;
        if (!ok) return `BPF_ATOMIC uses invalid atomic opcode ${hex2(imm)}`;
        if (insnSize(code) !== BPF_W && insnSize(code) !== BPF_DW) return "invalid atomic operand size";
        return regCheck(src, dst);
      }
      if (insnMode(code) !== BPF_MEM || imm !== 0) return "BPF_STX uses reserved fields";
      return regCheck(src, dst);
    }
    case BPF_ST:
      if (insnMode(code) !== BPF_MEM || src !== 0) return "BPF_ST uses reserved fields";
      return regCheck(dst);
    case BPF_JMP:
    case BPF_JMP32: {
      const k = insnSource(code) === BPF_K;
      if (op === BPF_CALL) {
        const bad =
          !k ||
          (src !== BPF_PSEUDO_KFUNC_CALL && off !== 0) ||
          (src !== 0 && src !== BPF_PSEUDO_CALL && src !== BPF_PSEUDO_KFUNC_CALL) ||
          dst !== 0 ||
          cls === BPF_JMP32;
        return bad ? "BPF_CALL uses reserved fields" : undefined;
      }
      if (op === BPF_JA) {
        const bad =
          !k || src !== 0 || dst !== 0 || (cls === BPF_JMP && imm !== 0) || (cls === BPF_JMP32 && off !== 0);
        return bad ? "BPF_JA uses reserved fields" : undefined;
      }
      if (op === BPF_EXIT) {
        const bad = !k || imm !== 0 || src !== 0 || dst !== 0 || cls === BPF_JMP32;
        return bad ? "BPF_EXIT uses reserved fields" : undefined;
      }
      if (op > BPF_JCOND) return `invalid BPF_JMP/JMP32 opcode ${op.toString(16)}`;
      if (op === BPF_JCOND) {
        // Linux 6.18 prints only imm (6.12: `invalid may_goto off %d imm %d`, and it rejected off 0).
        if (code !== (BPF_JMP | BPF_JCOND) || src !== BPF_MAY_GOTO || dst !== 0 || imm !== 0)
          return `invalid may_goto imm ${imm}`;
        return undefined;
      }
      const r = regCheck(dst);
      if (r) return r;
      if (!k) return imm !== 0 ? "BPF_JMP/JMP32 uses reserved fields" : regCheck(src);
      return src !== 0 ? "BPF_JMP/JMP32 uses reserved fields" : undefined;
    }
    default: {
      const mode = insnMode(code);
      if (mode === BPF_ABS || mode === BPF_IND) {
        if (dst !== 0 || off !== 0 || insnSize(code) === BPF_DW || (mode === BPF_ABS && src !== 0))
          return "BPF_LD_[ABS|IND] uses reserved fields";
        return mode === BPF_IND ? regCheck(src) : undefined;
      }
      if (mode === BPF_IMM) {
        if (insnSize(code) !== BPF_DW) return "invalid BPF_LD_IMM insn";
        if (off !== 0) return "BPF_LD_IMM64 uses reserved fields";
        return regCheck(dst);
      }
      return "invalid BPF_LD mode";
    }
  }
}

function hex2(n: number): string {
  return (n >>> 0).toString(16).padStart(2, "0");
}

function buildOpcodeTable(): Uint8Array {
  const t = new Uint8Array(256);
  const aluOps = [0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x90, 0xa0, 0xb0, 0xc0];
  for (const cls of [BPF_ALU, BPF_ALU64]) {
    for (const op of aluOps) {
      t[cls | op | BPF_K] = 1;
      t[cls | op | BPF_X] = 1;
    }
    t[cls | BPF_NEG] = 1;
    t[cls | BPF_END | BPF_TO_LE] = 1;
  }
  t[BPF_ALU | BPF_END | 0x08] = 1;
  const jmpOps = [0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0];
  for (const cls of [BPF_JMP, BPF_JMP32]) {
    for (const op of jmpOps) {
      t[cls | op | BPF_K] = 1;
      t[cls | op | BPF_X] = 1;
    }
    t[cls | BPF_JA] = 1;
  }
  t[BPF_JMP | BPF_CALL] = 1;
  t[BPF_JMP | BPF_EXIT] = 1;
  t[BPF_JMP | BPF_JCOND] = 1;
  for (const size of [0x00, 0x08, 0x10, 0x18]) {
    t[BPF_STX | BPF_MEM | size] = 1;
    t[BPF_ST | BPF_MEM | size] = 1;
    t[BPF_LDX | BPF_MEM | size] = 1;
    if (size !== 0x18) {
      t[BPF_LDX | BPF_MEMSX | size] = 1;
      t[BPF_LD | BPF_ABS | size] = 1;
      t[BPF_LD | BPF_IND | size] = 1;
    }
  }
  // Linux 6.15 added B and H atomics for load-acquire/store-release.
  for (const size of [0x00, 0x08, 0x10, 0x18]) t[BPF_STX | BPF_ATOMIC | size] = 1;
  t[BPF_LD_IMM64] = 1;
  return t;
}
