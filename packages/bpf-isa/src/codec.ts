import { BpfIsaError } from "./error.js";
import type { Instruction } from "./instruction.js";
import { BPF_LD_IMM64, INSN_SIZE } from "./opcodes.js";

/** Byte order of the encoded slots. Big-endian hosts also swap the dst/src nibbles. */
export type Endian = "little" | "big";

export interface CodecOptions {
  /** Default `"little"`, the order of every bpfkit target and of clang's `-target bpf`. */
  endian?: Endian;
}

/**
 * Decodes instruction bytes. `lddw` becomes one instruction (two slots). Throws `BpfIsaError`
 * (kind `truncated`) when the length is not a multiple of 8 or an `lddw` lacks its second slot.
 */
export function decode(bytes: Uint8Array, options: CodecOptions = {}): Instruction[] {
  const big = options.endian === "big";
  if (bytes.length % INSN_SIZE !== 0) {
    const at = bytes.length - (bytes.length % INSN_SIZE);
    throw new BpfIsaError(
      `truncated instruction at byte offset ${at}: ${bytes.length} bytes is not a multiple of 8`,
      { kind: "truncated", offset: at },
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = !big;
  const out: Instruction[] = [];
  for (let p = 0; p < bytes.length; p += INSN_SIZE) {
    const code = bytes[p] as number;
    const regs = bytes[p + 1] as number;
    const dst = big ? regs >> 4 : regs & 0xf;
    const src = big ? regs & 0xf : regs >> 4;
    const off = view.getInt16(p + 2, le);
    const imm = view.getInt32(p + 4, le);
    if (code !== BPF_LD_IMM64) {
      out.push({ code, dst, src, off, imm });
      continue;
    }
    if (p + 2 * INSN_SIZE > bytes.length) {
      throw new BpfIsaError(`truncated lddw at byte offset ${p}: its second slot is missing`, {
        kind: "truncated",
        offset: p,
        insn: p / INSN_SIZE,
      });
    }
    const q = p + INSN_SIZE;
    const insn: Instruction = { code, dst, src, off, imm, nextImm: view.getInt32(q + 4, le) };
    const code2 = bytes[q] as number;
    const regs2 = bytes[q + 1] as number;
    const off2 = view.getInt16(q + 2, le);
    if (code2 !== 0 || regs2 !== 0 || off2 !== 0) {
      insn.nextReserved = {
        code: code2,
        dst: big ? regs2 >> 4 : regs2 & 0xf,
        src: big ? regs2 & 0xf : regs2 >> 4,
        off: off2,
      };
    }
    out.push(insn);
    p = q;
  }
  return out;
}

/** Encodes instructions into bytes (two slots for each `lddw`). */
export function encode(insns: readonly Instruction[], options: CodecOptions = {}): Uint8Array {
  const big = options.endian === "big";
  let slots = 0;
  for (const insn of insns) slots += insn.code === BPF_LD_IMM64 ? 2 : 1;
  const bytes = new Uint8Array(slots * INSN_SIZE);
  const view = new DataView(bytes.buffer);
  let p = 0;
  const put = (code: number, dst: number, src: number, off: number, imm: number) => {
    bytes[p] = code;
    bytes[p + 1] = big ? ((dst & 0xf) << 4) | (src & 0xf) : ((src & 0xf) << 4) | (dst & 0xf);
    view.setInt16(p + 2, off, !big);
    view.setInt32(p + 4, imm, !big);
    p += INSN_SIZE;
  };
  for (const insn of insns) {
    put(insn.code, insn.dst, insn.src, insn.off, insn.imm);
    if (insn.code === BPF_LD_IMM64) {
      const r = insn.nextReserved;
      put(r?.code ?? 0, r?.dst ?? 0, r?.src ?? 0, r?.off ?? 0, insn.nextImm ?? 0);
    }
  }
  return bytes;
}
