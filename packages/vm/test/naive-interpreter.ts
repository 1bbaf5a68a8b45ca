import type { Instruction } from "@bpfkit/bpf-isa";
import { classify, slotIndices } from "@bpfkit/bpf-isa";

// A deliberately plain BPF interpreter: bigint registers, `classify` on every step, one flat
// memory map keyed by bigint base. It shares no code with src/ (only the bpf-isa decoder), so it
// serves as an independent model in randomized tests and as the baseline of the benchmarks.

const M64 = (1n << 64n) - 1n;
const u64 = (v: bigint) => v & M64;
const s64 = (v: bigint) => BigInt.asIntN(64, v);
const u32 = (v: bigint) => v & 0xffffffffn;
const s32 = (v: bigint) => BigInt.asIntN(32, v);

export interface NaiveMemory {
  base: bigint;
  bytes: Uint8Array;
}

export interface NaiveOptions {
  args?: bigint[];
  memory?: NaiveMemory[];
  maxSteps?: number;
}

export function naiveRun(
  insns: readonly Instruction[],
  options: NaiveOptions = {},
): { r0: bigint; regs: bigint[]; steps: number } {
  const slots = slotIndices(insns);
  const bySlot = new Map<number, number>();
  for (const [i, s] of slots.entries()) bySlot.set(s, i);
  const descs = insns.map((i) => classify(i));
  const stackBase = 0x7000_0000_0000n;
  const mems: NaiveMemory[] = [{ base: stackBase, bytes: new Uint8Array(512) }, ...(options.memory ?? [])];
  const regs: bigint[] = new Array(11).fill(0n);
  for (const [i, a] of (options.args ?? []).entries()) regs[i + 1] = u64(a);
  regs[10] = stackBase + 512n;
  const find = (addr: bigint, size: number) => {
    for (const m of mems)
      if (addr >= m.base && addr + BigInt(size) <= m.base + BigInt(m.bytes.length))
        return { view: new DataView(m.bytes.buffer, m.bytes.byteOffset), off: Number(addr - m.base) };
    throw new Error(`naive: bad access of ${size} at 0x${addr.toString(16)}`);
  };
  const load = (addr: bigint, size: number): bigint => {
    const { view, off } = find(u64(addr), size);
    if (size === 1) return BigInt(view.getUint8(off));
    if (size === 2) return BigInt(view.getUint16(off, true));
    if (size === 4) return BigInt(view.getUint32(off, true));
    return view.getBigUint64(off, true);
  };
  const store = (addr: bigint, size: number, v: bigint) => {
    const { view, off } = find(u64(addr), size);
    if (size === 1) view.setUint8(off, Number(v & 0xffn));
    else if (size === 2) view.setUint16(off, Number(v & 0xffffn), true);
    else if (size === 4) view.setUint32(off, Number(u32(v)), true);
    else view.setBigUint64(off, u64(v), true);
  };
  const alu = (op: string, width: number, a: bigint, b: bigint): bigint => {
    const sx = width === 32 ? s32 : s64;
    const ux = width === 32 ? u32 : u64;
    const mask = BigInt(width - 1);
    a = ux(a);
    b = ux(b);
    switch (op) {
      case "add":
        return ux(a + b);
      case "sub":
        return ux(a - b);
      case "mul":
        return ux(a * b);
      case "div":
        return b === 0n ? 0n : a / b;
      case "sdiv":
        return b === 0n ? 0n : ux(sx(a) / sx(b));
      case "mod":
        return b === 0n ? a : a % b;
      case "smod":
        return b === 0n ? a : ux(sx(a) % sx(b));
      case "or":
        return a | b;
      case "and":
        return a & b;
      case "xor":
        return a ^ b;
      case "mov":
        return b;
      case "lsh":
        return ux(a << (b & mask));
      case "rsh":
        return a >> (b & mask);
      case "arsh":
        return ux(sx(a) >> (b & mask));
    }
    throw new Error(`naive: alu ${op}`);
  };
  const cond = (op: string, width: number, a: bigint, b: bigint): boolean => {
    const ux = width === 32 ? u32 : u64;
    const sx = width === 32 ? s32 : s64;
    a = ux(a);
    b = ux(b);
    switch (op) {
      case "jeq":
        return a === b;
      case "jne":
        return a !== b;
      case "jgt":
        return a > b;
      case "jge":
        return a >= b;
      case "jlt":
        return a < b;
      case "jle":
        return a <= b;
      case "jset":
        return (a & b) !== 0n;
      case "jsgt":
        return sx(a) > sx(b);
      case "jsge":
        return sx(a) >= sx(b);
      case "jslt":
        return sx(a) < sx(b);
      case "jsle":
        return sx(a) <= sx(b);
    }
    throw new Error(`naive: jump ${op}`);
  };
  const swap = (v: bigint, bits: number) => {
    let out = 0n;
    for (let k = 0; k < bits / 8; k++) out = (out << 8n) | ((v >> BigInt(8 * k)) & 0xffn);
    return out;
  };
  let i = 0;
  let steps = 0;
  const max = options.maxSteps ?? 1e8;
  for (;;) {
    if (++steps > max) throw new Error("naive: step limit");
    const d = descs[i];
    if (d === undefined) throw new Error("naive: ran off the end");
    const jump = (delta: number) => {
      const target = bySlot.get((slots[i] as number) + 1 + delta);
      if (target === undefined) throw new Error("naive: bad jump");
      i = target;
    };
    switch (d.kind) {
      case "alu": {
        const b = d.operand.kind === "reg" ? (regs[d.operand.reg] as bigint) : u64(BigInt(d.operand.imm));
        regs[d.dst] = alu(d.op, d.width, regs[d.dst] as bigint, b);
        break;
      }
      case "neg":
        regs[d.dst] = d.width === 32 ? u32(-(regs[d.dst] as bigint)) : u64(-(regs[d.dst] as bigint));
        break;
      case "movsx": {
        const v = BigInt.asIntN(d.bits, regs[d.src] as bigint);
        regs[d.dst] = d.width === 32 ? u32(v) : u64(v);
        break;
      }
      case "end":
        regs[d.dst] =
          d.order === "le"
            ? (regs[d.dst] as bigint) & ((1n << BigInt(d.bits)) - 1n)
            : swap(regs[d.dst] as bigint, d.bits);
        break;
      case "bswap":
        regs[d.dst] = swap(regs[d.dst] as bigint, d.bits);
        break;
      case "lddw":
        regs[d.dst] = d.value;
        break;
      case "ja":
        jump(d.off);
        continue;
      case "gotol":
        jump(d.imm);
        continue;
      case "jcond": {
        const b = d.operand.kind === "reg" ? (regs[d.operand.reg] as bigint) : u64(BigInt(d.operand.imm));
        if (cond(d.op, d.width, regs[d.dst] as bigint, b)) {
          jump(d.off);
          continue;
        }
        break;
      }
      case "ldx": {
        const v = load((regs[d.src] as bigint) + BigInt(d.off), d.size);
        regs[d.dst] = d.signed ? u64(BigInt.asIntN(d.size * 8, v)) : v;
        break;
      }
      case "st":
        store((regs[d.dst] as bigint) + BigInt(d.off), d.size, u64(BigInt(d.imm)));
        break;
      case "stx":
        store((regs[d.dst] as bigint) + BigInt(d.off), d.size, regs[d.src] as bigint);
        break;
      case "exit":
        return { r0: regs[0] as bigint, regs, steps };
      default:
        throw new Error(`naive: unsupported ${d.kind}`);
    }
    i++;
  }
}
