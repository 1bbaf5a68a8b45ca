import { helperName } from "../helpers.js";
import type { Instruction } from "../instruction.js";
import { imm64 } from "../instruction.js";
import {
  BPF_ABS,
  BPF_ADDR_SPACE_CAST,
  BPF_ALU,
  BPF_ALU64,
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
  BPF_LD,
  BPF_LDX,
  BPF_LOAD_ACQ,
  BPF_MAY_GOTO,
  BPF_MEM,
  BPF_MEMSX,
  BPF_MOD,
  BPF_MOV,
  BPF_NEG,
  BPF_PSEUDO_BTF_ID,
  BPF_PSEUDO_CALL,
  BPF_PSEUDO_KFUNC_CALL,
  BPF_PSEUDO_MAP_FD,
  BPF_PSEUDO_MAP_IDX,
  BPF_PSEUDO_MAP_IDX_VALUE,
  BPF_PSEUDO_MAP_VALUE,
  BPF_ST,
  BPF_STORE_REL,
  BPF_STX,
  BPF_TO_BE,
  BPF_X,
  BPF_XCHG,
  insnClass,
  insnMode,
  insnOp,
  insnSize,
  insnSource,
} from "../opcodes.js";

/** Operator text of each ALU op field as the kernel prints it (index = op >> 4). */
export const KERNEL_ALU_OPS: readonly (string | undefined)[] = [
  "+=",
  "-=",
  "*=",
  "/=",
  "|=",
  "&=",
  "<<=",
  ">>=",
  "neg",
  "%=",
  "^=",
  "=",
  "s>>=",
  "endian",
];

/** Comparison text of each JMP op field as the kernel prints it (index = op >> 4). */
export const KERNEL_JMP_OPS: readonly (string | undefined)[] = [
  "jmp",
  "==",
  ">",
  ">=",
  "&",
  "!=",
  "s>",
  "s>=",
  "call",
  "exit",
  "<",
  "<=",
  "s<",
  "s<=",
];

const LDST = ["u32", "u16", "u8", "u64"] as const;
const LDSX = ["s32", "s16", "s8", undefined] as const;
const ATOMIC_NAMES: Record<number, string> = { 0: "add", 64: "or", 80: "and", 160: "xor" };

export interface KernelPrintOptions {
  /**
   * Names a call the helper table does not (the kernel's `cb_call`): verifier logs name kfuncs,
   * bpftool names rewritten helper calls from kallsyms. For a subprogram call the result follows
   * `call pc` verbatim (bpftool: `+41#bpf_prog_<tag>_mix`); otherwise it is printed as `name#imm`.
   */
  callName?: (insn: Instruction) => string | undefined;
  /**
   * Names a kfunc by BTF id and module (`off`, the fd_array slot; 0 = vmlinux). Without it, or
   * when it returns undefined, kfuncs print as the kernel does without BTF: `kernel-function#id`.
   */
  kfuncName?: (btfId: number, module: number) => string | undefined;
  /** Replaces the `lddw` value text, as bpftool does with `map[id:N]` (see `bpftoolImm`). */
  imm64Text?: (insn: Instruction, value: bigint) => string | undefined;
  /**
   * Whether the reader may see kernel pointers (default true, as for root). When false, lddw of
   * map/BTF pointer subtypes print `0x0` like the verifier log of an unprivileged loader.
   */
  allowPtrLeaks?: boolean;
  /** Prefix the text with `(code) ` as the kernel does (default true). */
  withCode?: boolean;
}

/**
 * Prints one instruction exactly as Linux 6.18's verifier log and `bpftool prog dump xlated` do
 * (spec 5.2), including the `(xx) ` opcode prefix. Malformed encodings print the same odd text the
 * kernel's printer produces (`BUG_..`, `(null)` operators), so logs of rejected programs match.
 */
export function printKernelInsn(insn: Instruction, options: KernelPrintOptions = {}): string {
  const text = kernelText(insn, options);
  if (text.startsWith("BUG_")) return text;
  return options.withCode === false ? text : `(${hex2(insn.code)}) ${text}`;
}

function kernelText(insn: Instruction, options: KernelPrintOptions): string {
  const { code, dst, src, off, imm } = insn;
  const cls = insnClass(code);
  const op = insnOp(code);
  const size = insnSize(code);
  switch (cls) {
    case BPF_ALU:
    case BPF_ALU64: {
      const w = cls === BPF_ALU ? "w" : "r";
      if (op === BPF_END) {
        if (cls === BPF_ALU64) return `r${dst} = bswap${imm} r${dst}`;
        return `r${dst} = ${insnSource(code) === BPF_TO_BE ? "be" : "le"}${imm} r${dst}`;
      }
      if (op === BPF_NEG) return `${w}${dst} = -${w}${dst}`;
      if (code === (BPF_ALU64 | BPF_MOV | BPF_X) && off === BPF_ADDR_SPACE_CAST)
        return `r${dst} = addr_space_cast(r${src}, ${imm >>> 16}, ${imm & 0xffff})`;
      if (code === (BPF_ALU64 | BPF_MOV | BPF_X) && off === -1)
        return `r${dst} = &(void __percpu *)(r${src})`;
      const signed = (op === BPF_DIV || op === BPF_MOD) && off === 1;
      const opText = signed ? (op === BPF_DIV ? "s/=" : "s%=") : (KERNEL_ALU_OPS[op >> 4] ?? "(null)");
      if (insnSource(code) === BPF_X) {
        const movsx = op === BPF_MOV && (off === 8 || off === 16 || off === 32) ? `(s${off})` : "";
        return `${w}${dst} ${opText} ${movsx}${w}${src}`;
      }
      return `${w}${dst} ${opText} ${imm}`;
    }
    case BPF_STX: {
      const mode = insnMode(code);
      const ty = LDST[size >> 3];
      const mem = `(r${dst} ${signedOff(off)})`;
      if (mode === BPF_MEM) return `*(${ty} *)${mem} = r${src}`;
      if (mode === BPF_ATOMIC) {
        const bits = size === BPF_DW ? "64" : "";
        const base = ATOMIC_NAMES[imm & ~BPF_FETCH];
        if (base !== undefined && (imm & BPF_FETCH) === 0)
          return `lock *(${ty} *)${mem} ${KERNEL_ALU_OPS[imm >> 4]} r${src}`;
        if (base !== undefined) return `r${src} = atomic${bits}_fetch_${base}((${ty} *)${mem}, r${src})`;
        if (imm === BPF_CMPXCHG) return `r0 = atomic${bits}_cmpxchg((${ty} *)${mem}, r0, r${src})`;
        if (imm === BPF_XCHG) return `r${src} = atomic${bits}_xchg((${ty} *)${mem}, r${src})`;
        if (imm === BPF_LOAD_ACQ) return `r${dst} = load_acquire((${ty} *)(r${src} ${signedOff(off)}))`;
        if (imm === BPF_STORE_REL) return `store_release((${ty} *)${mem}, r${src})`;
      }
      return `BUG_${hex2(code)}`;
    }
    case BPF_ST: {
      const mode = insnMode(code);
      if (mode === BPF_MEM) return `*(${LDST[size >> 3]} *)(r${dst} ${signedOff(off)}) = ${imm}`;
      if (mode === BPF_ATOMIC) return "nospec";
      return `BUG_st_${hex2(code)}`;
    }
    case BPF_LDX: {
      const mode = insnMode(code);
      if (mode !== BPF_MEM && mode !== BPF_MEMSX) return `BUG_ldx_${hex2(code)}`;
      const ty = mode === BPF_MEM ? LDST[size >> 3] : (LDSX[size >> 3] ?? "(null)");
      return `r${dst} = *(${ty} *)(r${src} ${signedOff(off)})`;
    }
    case BPF_LD: {
      const mode = insnMode(code);
      const ty = LDST[size >> 3];
      if (mode === BPF_ABS) return `r0 = *(${ty} *)skb[${imm}]`;
      if (mode === BPF_IND) return `r0 = *(${ty} *)skb[r${src} + ${imm}]`;
      if (mode === BPF_IMM && size === BPF_DW) {
        let value = imm64(insn);
        const isPtr =
          src === BPF_PSEUDO_MAP_FD ||
          src === BPF_PSEUDO_MAP_VALUE ||
          src === BPF_PSEUDO_MAP_IDX ||
          src === BPF_PSEUDO_MAP_IDX_VALUE ||
          src === BPF_PSEUDO_BTF_ID;
        if (isPtr && options.allowPtrLeaks === false) value = 0n;
        const custom = options.imm64Text?.(insn, value);
        return `r${dst} = ${custom ?? `0x${value.toString(16)}`}`;
      }
      return `BUG_ld_${hex2(code)}`;
    }
    default: {
      // BPF_JMP and BPF_JMP32
      if (op === BPF_CALL) {
        // Same order as the kernel: helper table, then the callback, then the fallbacks.
        let name = src === 0 ? helperName(imm) : undefined;
        name ??= options.callName?.(insn);
        if (src === BPF_PSEUDO_CALL) return `call pc${name ?? signedOff(imm)}`;
        if (name === undefined && src === BPF_PSEUDO_KFUNC_CALL)
          name = options.kfuncName?.(imm, off) ?? "kernel-function";
        return `call ${name ?? "unknown"}#${imm}`;
      }
      if (code === (BPF_JMP | BPF_JA)) return `goto pc${signedOff(off)}`;
      if (code === (BPF_JMP | BPF_JCOND) && src === BPF_MAY_GOTO) return `may_goto pc${signedOff(off)}`;
      if (code === (BPF_JMP32 | BPF_JA)) return `gotol pc${signedOff(imm)}`;
      if (code === (BPF_JMP | BPF_JA | BPF_X)) return `gotox r${dst}`;
      if (code === (BPF_JMP | BPF_EXIT)) return "exit";
      const w = cls === BPF_JMP32 ? "w" : "r";
      const cmp = KERNEL_JMP_OPS[op >> 4] ?? "(null)";
      if (insnSource(code) === BPF_X) return `if ${w}${dst} ${cmp} ${w}${src} goto pc${signedOff(off)}`;
      return `if ${w}${dst} ${cmp} 0x${(imm >>> 0).toString(16)} goto pc${signedOff(off)}`;
    }
  }
}

/**
 * bpftool's `prog dump xlated` text for pseudo `lddw`s: `map[id:N]`, `map[id:N][0]+off`,
 * `map[idx:N]+off`, `subprog[+N]`; other values print as hex. Pass as `imm64Text`.
 */
export function bpftoolImm(insn: Instruction, value: bigint): string {
  const next = (insn.nextImm ?? 0) >>> 0;
  switch (insn.src) {
    case BPF_PSEUDO_MAP_FD:
      return `map[id:${insn.imm >>> 0}]`;
    case BPF_PSEUDO_MAP_VALUE:
      return `map[id:${insn.imm >>> 0}][0]+${next}`;
    case BPF_PSEUDO_MAP_IDX_VALUE:
      return `map[idx:${insn.imm >>> 0}]+${next}`;
    case 4:
      return `subprog[${signedOff(insn.imm)}]`;
    default:
      return `0x${value.toString(16)}`;
  }
}

/**
 * Frames an instruction line of a verifier log: `<idx>: <text>`, and when `state` is given, pads
 * so that `;` lands where the kernel puts it (column roundup(max(L + 5, 40), 8) - 2, spec 5.1).
 */
export function formatVerifierLine(index: number, text: string, state?: string): string {
  const line = `${index}: ${text}`;
  if (state === undefined) return line;
  const column = Math.ceil(Math.max(line.length + 5, 40) / 8) * 8 - 2;
  return `${line.padEnd(column)}; ${state}`;
}

/** Frames an instruction line of `bpftool prog dump xlated`: index right-aligned to width 4. */
export function formatXlatedLine(index: number, text: string): string {
  return `${String(index).padStart(4)}: ${text}`;
}

export interface KernelListingOptions extends KernelPrintOptions {
  /** `"verifier"` (`0: ...`, default) or `"xlated"` (`   0: ...`). */
  framing?: "verifier" | "xlated";
}

/** Prints a whole program, one framed line per instruction, numbered by slot. */
export function printKernel(insns: readonly Instruction[], options: KernelListingOptions = {}): string {
  const lines: string[] = [];
  let slot = 0;
  for (const insn of insns) {
    const text = printKernelInsn(insn, options);
    lines.push(options.framing === "xlated" ? formatXlatedLine(slot, text) : formatVerifierLine(slot, text));
    slot += insn.code === (BPF_LD | BPF_IMM | BPF_DW) ? 2 : 1;
  }
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}

function signedOff(n: number): string {
  return n < 0 ? `${n}` : `+${n}`;
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, "0");
}
