/**
 * Opcode field constants of the BPF instruction set (spec bpf-isa.md 2.3). An opcode byte is a
 * class in bits 2..0 plus either op/source (ALU, JMP) or mode/size (loads and stores).
 */

/** Instruction classes, the low three bits of the opcode. */
export const BPF_LD = 0x00;
export const BPF_LDX = 0x01;
export const BPF_ST = 0x02;
export const BPF_STX = 0x03;
export const BPF_ALU = 0x04;
export const BPF_JMP = 0x05;
export const BPF_JMP32 = 0x06;
export const BPF_ALU64 = 0x07;

/** Access sizes of loads and stores (bits 4..3). */
export const BPF_W = 0x00;
export const BPF_H = 0x08;
export const BPF_B = 0x10;
export const BPF_DW = 0x18;

/** Addressing modes of loads and stores (bits 7..5); `BPF_ATOMIC` was once called XADD. */
export const BPF_IMM = 0x00;
export const BPF_ABS = 0x20;
export const BPF_IND = 0x40;
export const BPF_MEM = 0x60;
export const BPF_MEMSX = 0x80;
export const BPF_ATOMIC = 0xc0;

/** Operand source bit of ALU and JMP opcodes: immediate (K) or register (X). */
export const BPF_K = 0x00;
export const BPF_X = 0x08;

/** Byte-order selector of `BPF_END` (class ALU), carried in the source bit. */
export const BPF_TO_LE = 0x00;
export const BPF_TO_BE = 0x08;

/** ALU operations (bits 7..4). SDIV/SMOD and MOVSX reuse DIV/MOD/MOV with a non-zero `off`. */
export const BPF_ADD = 0x00;
export const BPF_SUB = 0x10;
export const BPF_MUL = 0x20;
export const BPF_DIV = 0x30;
export const BPF_OR = 0x40;
export const BPF_AND = 0x50;
export const BPF_LSH = 0x60;
export const BPF_RSH = 0x70;
export const BPF_NEG = 0x80;
export const BPF_MOD = 0x90;
export const BPF_XOR = 0xa0;
export const BPF_MOV = 0xb0;
export const BPF_ARSH = 0xc0;
export const BPF_END = 0xd0;

/** Jump operations (bits 7..4) of classes JMP and JMP32. */
export const BPF_JA = 0x00;
export const BPF_JEQ = 0x10;
export const BPF_JGT = 0x20;
export const BPF_JGE = 0x30;
export const BPF_JSET = 0x40;
export const BPF_JNE = 0x50;
export const BPF_JSGT = 0x60;
export const BPF_JSGE = 0x70;
export const BPF_CALL = 0x80;
export const BPF_EXIT = 0x90;
export const BPF_JLT = 0xa0;
export const BPF_JLE = 0xb0;
export const BPF_JSLT = 0xc0;
export const BPF_JSLE = 0xd0;
export const BPF_JCOND = 0xe0;

/** `src_reg` of a `BPF_JCOND` jump: the only defined condition, the loop-budget escape. */
export const BPF_MAY_GOTO = 0;

/**
 * `imm` of an atomic (`STX | ATOMIC`) instruction. The low bit `BPF_FETCH` returns the old value in
 * the source register; acquire/release are the Linux 6.15 ordered loads and stores.
 */
export const BPF_FETCH = 0x01;
export const BPF_XCHG = 0xe0 | BPF_FETCH;
export const BPF_CMPXCHG = 0xf0 | BPF_FETCH;
export const BPF_LOAD_ACQ = 0x100;
export const BPF_STORE_REL = 0x110;

/** `off` of an ALU64 MOV X that casts between arena and kernel address spaces. */
export const BPF_ADDR_SPACE_CAST = 1;

/** `src_reg` subtypes of the wide `lddw` (spec 4.11): what the 64-bit immediate refers to. */
export const BPF_PSEUDO_MAP_FD = 1;
export const BPF_PSEUDO_MAP_VALUE = 2;
export const BPF_PSEUDO_BTF_ID = 3;
export const BPF_PSEUDO_FUNC = 4;
export const BPF_PSEUDO_MAP_IDX = 5;
export const BPF_PSEUDO_MAP_IDX_VALUE = 6;

/** `src_reg` subtypes of `call`: helper id (0), pc-relative subprogram, kfunc BTF id. */
export const BPF_PSEUDO_CALL = 1;
export const BPF_PSEUDO_KFUNC_CALL = 2;

/** The largest program an unprivileged loader may submit. */
export const BPF_MAXINSNS = 4096;

/** Opcode of the wide 64-bit immediate load, the only two-slot instruction. */
export const BPF_LD_IMM64 = BPF_LD | BPF_IMM | BPF_DW;

/** Size in bytes of one instruction slot. */
export const INSN_SIZE = 8;

export const insnClass = (code: number): number => code & 0x07;
export const insnOp = (code: number): number => code & 0xf0;
export const insnSource = (code: number): number => code & 0x08;
export const insnSize = (code: number): number => code & 0x18;
export const insnMode = (code: number): number => code & 0xe0;

/** Bytes accessed by each size field value. */
export function sizeBytes(size: number): 1 | 2 | 4 | 8 {
  switch (size & 0x18) {
    case BPF_B:
      return 1;
    case BPF_H:
      return 2;
    case BPF_W:
      return 4;
    default:
      return 8;
  }
}
