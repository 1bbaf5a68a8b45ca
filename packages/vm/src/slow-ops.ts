import { VmError } from "./error.js";
import { type Memory, REGION_HI_BASE, type Region } from "./memory.js";

// Operations too rare or too long to inline in the interpreter loop. They read the same
// register file (lo word of rN at 2N, hi word at 2N+1) and pre-decoded code words.

const HB = REGION_HI_BASE | 0;
const TWO32 = 0x100000000;
/** Below 2^21 in the high word, a 64-bit value is an exact double. */
const SAFE_HI = 0x200000;

/** DIV64 (op 3), SDIV64 (4), MOD64 (9), SMOD64 (10) of register `d` by the value (bl, bh). */
export function divmod64(R: Int32Array, d: number, bl: number, bh: number, op: number): void {
  const mod = op >= 9;
  if (bl === 0 && bh === 0) {
    // Division by zero gives 0; modulo by zero leaves the dividend unchanged.
    if (!mod) {
      R[d] = 0;
      R[d + 1] = 0;
    }
    return;
  }
  const al = R[d] as number;
  const ah = R[d + 1] as number;
  if (ah >= 0 && ah < SAFE_HI && bh >= 0 && bh < SAFE_HI) {
    // Both non-negative and exact as doubles, where signed and unsigned agree and floor(a/b) is
    // exact (a rounding error cannot reach the next integer below 2^53).
    const a = ah * TWO32 + (al >>> 0);
    const b = bh * TWO32 + (bl >>> 0);
    const q = mod ? a % b : Math.floor(a / b);
    R[d] = q | 0;
    R[d + 1] = Math.floor(q / TWO32) | 0;
    return;
  }
  const signed = op === 4 || op === 10;
  const ua = (BigInt(ah >>> 0) << 32n) | BigInt(al >>> 0);
  const ub = (BigInt(bh >>> 0) << 32n) | BigInt(bl >>> 0);
  const a = signed ? BigInt.asIntN(64, ua) : ua;
  const b = signed ? BigInt.asIntN(64, ub) : ub;
  // bigint division truncates toward zero like BPF's sdiv; INT64_MIN / -1 wraps back to INT64_MIN.
  const r = BigInt.asUintN(64, mod ? a % b : a / b);
  R[d] = Number(r & 0xffffffffn) | 0;
  R[d + 1] = Number(r >> 32n) | 0;
}

/**
 * Every `STX | ATOMIC` form. Single-threaded, so read-modify-write is plain; what matters is the
 * value written back into the source register or r0, and that the access is aligned, in bounds and
 * permitted (read and write for everything but load-acquire). Returns the fault, if any.
 */
export function atomic(
  R: Int32Array,
  mem: Memory,
  C: Int32Array,
  i: number,
  pc: number,
): VmError | undefined {
  const w = C[i] as number;
  const d = (w >>> 8) & 0xff;
  const s = w >>> 16;
  const off = C[i + 1] as number;
  const imm = C[i + 2] as number;
  const size = C[i + 3] as number;
  const acquire = imm === 0x100;
  const release = imm === 0x110;
  const base = acquire ? s : d;
  const hi = R[base + 1] as number;
  const a = ((R[base] as number) >>> 0) + off;
  const ri = (hi - HB) >>> 0;
  const readable = a >= 0 && a + size <= (mem.readLimit[ri] ?? 0);
  const writable = a >= 0 && a + size <= (mem.writeLimit[ri] ?? 0);
  if ((!release && !readable) || (!acquire && !writable))
    return mem.fault(hi, a, size, release || readable, pc);
  if (a % size !== 0) {
    const address = BigInt.asUintN(64, (BigInt(hi >>> 0) << 32n) + BigInt(a));
    return new VmError(
      `misaligned atomic access of ${size} bytes at 0x${address.toString(16)} at insn ${pc}`,
      {
        kind: "misaligned",
        insn: pc,
        address,
        size,
        region: mem.regionAt(ri)?.name,
        access: acquire ? "read" : "write",
      },
    );
  }
  const view = mem.views[ri] as DataView;
  if (acquire) {
    R[d] = size === 1 ? view.getUint8(a) : size === 2 ? view.getUint16(a, true) : view.getInt32(a, true);
    R[d + 1] = size === 8 ? view.getInt32(a + 4, true) : 0;
    return undefined;
  }
  if (release) {
    if (size === 1) view.setUint8(a, (R[s] as number) & 0xff);
    else if (size === 2) view.setUint16(a, (R[s] as number) & 0xffff, true);
    else view.setInt32(a, R[s] as number, true);
    if (size === 8) view.setInt32(a + 4, R[s + 1] as number, true);
    return undefined;
  }
  const oldLo = view.getInt32(a, true);
  const oldHi = size === 8 ? view.getInt32(a + 4, true) : 0;
  const vLo = R[s] as number;
  const vHi = size === 8 ? (R[s + 1] as number) : 0;
  let newLo = vLo;
  let newHi = vHi;
  let store = true;
  switch (imm & ~1) {
    case 0x00: {
      const lo = (oldLo >>> 0) + (vLo >>> 0);
      newLo = lo | 0;
      newHi = (oldHi + vHi + (lo > 0xffffffff ? 1 : 0)) | 0;
      break;
    }
    case 0x40:
      newLo = oldLo | vLo;
      newHi = oldHi | vHi;
      break;
    case 0x50:
      newLo = oldLo & vLo;
      newHi = oldHi & vHi;
      break;
    case 0xa0:
      newLo = oldLo ^ vLo;
      newHi = oldHi ^ vHi;
      break;
    case 0xe0: // XCHG stores the source as is
      break;
    case 0xf0: // CMPXCHG stores only when the old value equals r0 (its low word for W)
      store = oldLo === R[0] && (size === 4 || oldHi === R[1]);
      break;
  }
  if (store) {
    view.setInt32(a, newLo, true);
    if (size === 8) view.setInt32(a + 4, newHi, true);
  }
  if (imm === 0xf1) {
    R[0] = oldLo;
    R[1] = oldHi;
  } else if ((imm & 1) !== 0) {
    R[s] = oldLo;
    R[s + 1] = oldHi;
  }
  return undefined;
}

/**
 * Legacy `LD_ABS`/`LD_IND`: r0 = the big-endian value at `imm` (+ src) in the packet. Returns false
 * when the load is out of bounds, which ends the program with r0 = 0 as on Linux.
 */
export function ldPacket(
  R: Int32Array,
  packet: Region | undefined,
  C: Int32Array,
  i: number,
  indirect: boolean,
  pc: number,
): boolean {
  if (packet === undefined)
    throw new VmError(`legacy packet load without a packet (RunOptions.packet) at insn ${pc}`, {
      kind: "access",
      insn: pc,
    });
  const w = C[i] as number;
  const size = C[i + 1] as number;
  const off = ((C[i + 2] as number) + (indirect ? (R[w >>> 16] as number) : 0)) | 0;
  if (off < 0 || off + size > packet.bytes.length) return false;
  const v = packet.view;
  R[0] = size === 1 ? v.getUint8(off) : size === 2 ? v.getUint16(off, false) : v.getInt32(off, false);
  R[1] = 0;
  return true;
}
