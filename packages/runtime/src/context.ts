import { classify, type Instruction, slotCount } from "@bpfkit/bpf-isa";
import type { Memory, Region } from "@bpfkit/vm";
import { Errno } from "./errno.js";
import { RuntimeError } from "./error.js";
import type { ProgType, RunInput } from "./runtime.js";

/** Bytes of the UAPI `struct __sk_buff` (what user space passes as ctx_in and gets back). */
export const SK_BUFF_SIZE = 192;
/** Bytes of an Ethernet header, which BPF_PROG_TEST_RUN pulls before a socket filter runs. */
const ETH_HLEN = 14;
/** Bytes of the UAPI `struct xdp_md`. */
export const XDP_MD_SIZE = 24;

/**
 * How a 4-byte context load at a UAPI offset reads the runtime's context object instead. The
 * kernel rewrites these loads (`convert_ctx_access`) because the UAPI fields are 32-bit while the
 * pointers behind them are 64-bit; the runtime does the same, so `data`/`data_end` are real guest
 * pointers. Entries: UAPI offset -> [offset, size] in the runtime's object.
 */
const XDP_FIELDS: ReadonlyMap<number, [number, 4 | 8]> = new Map([
  [0, [0, 8]], // data
  [4, [8, 8]], // data_end
  [8, [16, 8]], // data_meta
  [12, [24, 4]], // ingress_ifindex
  [16, [28, 4]], // rx_queue_index
  [20, [32, 4]], // egress_ifindex
]);
const XDP_OBJECT_SIZE = 40;

/** __sk_buff keeps its UAPI layout; only the three pointers move to 64-bit slots after it. */
const SKB_FIELDS: ReadonlyMap<number, [number, 4 | 8]> = new Map([
  [76, [SK_BUFF_SIZE, 8]], // data
  [80, [SK_BUFF_SIZE + 8, 8]], // data_end
  [140, [SK_BUFF_SIZE + 16, 8]], // data_meta
]);
const SKB_OBJECT_SIZE = SK_BUFF_SIZE + 24;

function fieldsFor(type: ProgType): ReadonlyMap<number, [number, 4 | 8]> | undefined {
  if (type === "xdp") return XDP_FIELDS;
  if (type === "socket_filter" || type === "sched_cls") return SKB_FIELDS;
  return undefined;
}

/** The context of one run: r1, the packet for legacy loads, and how to read the results back. */
export interface ContextSpec {
  r1: bigint;
  packet: Region | undefined;
  ctxOut(): Uint8Array | undefined;
  dataOut(): Uint8Array | undefined;
  release(): void;
}

/** Builds the context of a program type from BPF_PROG_TEST_RUN-style input. */
export function contextFor(type: ProgType, memory: Memory, input: RunInput): ContextSpec {
  const regions: Region[] = [];
  const map = (
    bytes: Uint8Array | number,
    name: string,
    kind: "context" | "packet",
    writable = true,
  ): Region => {
    const r = memory.map(bytes, { name, kind, writable });
    regions.push(r);
    return r;
  };
  const release = (): void => {
    for (const r of regions) memory.unmap(r);
  };
  switch (type) {
    case "syscall":
    case "tracing":
    case "raw_tracepoint":
    case "kprobe": {
      if (!input.ctx)
        return { r1: 0n, packet: undefined, ctxOut: () => undefined, dataOut: () => undefined, release };
      // Tracing contexts are the kernel's argument array: programs may read it, not write it.
      const ctx = map(input.ctx.slice(), "ctx", "context", type === "syscall");
      return {
        r1: ctx.base,
        packet: undefined,
        ctxOut: () => ctx.bytes.slice(),
        dataOut: () => undefined,
        release,
      };
    }
    case "xdp": {
      const data = input.data ?? new Uint8Array(0);
      if (data.length < ETH_HLEN)
        throw new RuntimeError(
          `xdp test run: data of ${data.length} bytes is shorter than an Ethernet header`,
          {
            kind: "context",
            name: type,
            errno: Errno.EINVAL,
          },
        );
      const pkt = map(data.slice(), "packet", "packet");
      const ctx = map(XDP_OBJECT_SIZE, "ctx", "context", false);
      const v = ctx.view;
      v.setBigUint64(0, pkt.base, true);
      v.setBigUint64(8, pkt.base + BigInt(data.length), true);
      v.setBigUint64(16, pkt.base, true);
      if (input.ctx) {
        const u = new DataView(input.ctx.buffer, input.ctx.byteOffset, input.ctx.byteLength);
        if (input.ctx.length >= 16) {
          v.setUint32(24, u.getUint32(12, true), true);
          v.setUint32(28, u.getUint32(16, true), true);
        }
      }
      return {
        r1: ctx.base,
        packet: pkt,
        ctxOut: () => (input.ctx ? xdpMd(v, pkt) : undefined),
        dataOut: () => pkt.bytes.slice(),
        release,
      };
    }
    case "socket_filter":
    case "sched_cls": {
      const frame = (input.data ?? new Uint8Array(0)).slice();
      // BPF_PROG_TEST_RUN runs eth_type_trans, which pulls the Ethernet header: socket filters see
      // the packet from the network header on; tc programs (L2) get the header pushed back.
      const hdr = type === "sched_cls" ? 0 : Math.min(ETH_HLEN, frame.length);
      const data = frame.subarray(hdr);
      const pkt = map(data, "packet", "packet");
      const ctx = map(SKB_OBJECT_SIZE, "ctx", "context");
      if (input.ctx) ctx.bytes.set(input.ctx.subarray(0, SK_BUFF_SIZE));
      const v = ctx.view;
      v.setUint32(0, data.length, true);
      // The test run's device is the loopback (ifindex 1); wire_len is the whole frame.
      v.setUint32(40, 1, true);
      v.setUint32(160, frame.length, true);
      // skb->protocol is the big-endian EtherType of the frame, as eth_type_trans leaves it.
      if (frame.length >= ETH_HLEN)
        v.setUint32(16, ((frame[12] as number) | ((frame[13] as number) << 8)) >>> 0, true);
      v.setBigUint64(SK_BUFF_SIZE, pkt.base, true);
      v.setBigUint64(SK_BUFF_SIZE + 8, pkt.base + BigInt(data.length), true);
      v.setBigUint64(SK_BUFF_SIZE + 16, pkt.base, true);
      return {
        r1: ctx.base,
        packet: pkt,
        ctxOut: () => (input.ctx ? skbOut(ctx) : undefined),
        // The live kernel hands back the pulled Ethernet header zeroed (observed on 6.18).
        dataOut: () => {
          const out = frame.slice();
          out.fill(0, 0, hdr);
          return out;
        },
        release,
      };
    }
    case "iter":
      throw new RuntimeError("iterator programs run with Runtime.runTaskIter, not run", {
        kind: "context",
        name: type,
      });
    default:
      throw new RuntimeError(`program type ${type as string} has no context model`, {
        kind: "context",
        name: type,
      });
  }
}

function xdpMd(v: DataView, pkt: Region): Uint8Array {
  const out = new Uint8Array(XDP_MD_SIZE);
  const o = new DataView(out.buffer);
  o.setUint32(0, Number(v.getBigUint64(0, true) - pkt.base), true);
  o.setUint32(4, Number(v.getBigUint64(8, true) - pkt.base), true);
  o.setUint32(8, Number(v.getBigUint64(16, true) - pkt.base), true);
  o.setUint32(12, v.getUint32(24, true), true);
  o.setUint32(16, v.getUint32(28, true), true);
  o.setUint32(20, v.getUint32(32, true), true);
  return out;
}

/**
 * Fields of `__sk_buff` that BPF_PROG_TEST_RUN copies back into ctx_out (offset, bytes): mark,
 * priority, ifindex, cb[5], tstamp, wire_len, gso_segs, gso_size, hwtstamp. The rest reads back 0.
 */
const SKB_OUT_FIELDS: readonly [number, number][] = [
  [8, 4],
  [32, 4],
  [40, 4],
  [48, 20],
  [152, 8],
  [160, 4],
  [164, 4],
  [176, 4],
  [184, 8],
];

function skbOut(ctx: Region): Uint8Array {
  const out = new Uint8Array(SK_BUFF_SIZE);
  for (const [off, size] of SKB_OUT_FIELDS) out.set(ctx.bytes.subarray(off, off + size), off);
  return out;
}

interface Facts {
  /** Bit r: register r holds the context pointer on every path. */
  regs: number;
  /** Stack offsets (from r10) holding a spilled context pointer on every path. */
  spills: Set<number>;
}

/**
 * Rewrites the 4-byte loads of pointer fields of `xdp_md` / `__sk_buff` into 8-byte loads of the
 * runtime's context object. Finds context loads with a forward "which registers and stack slots
 * surely hold r1 of entry" analysis over the main program (subprograms that receive the context
 * are not followed).
 */
export function rewriteContextAccess(type: ProgType, insns: readonly Instruction[]): readonly Instruction[] {
  const fields = fieldsFor(type);
  if (!fields) return insns;
  const slotOf: number[] = [];
  const indexOfSlot = new Map<number, number>();
  let slots = 0;
  for (const [i, insn] of insns.entries()) {
    slotOf.push(slots);
    indexOfSlot.set(slots, i);
    slots += slotCount(insn);
  }
  const facts: (Facts | undefined)[] = new Array(insns.length);
  facts[0] = { regs: 1 << 1, spills: new Set() };
  const work = [0];
  const merge = (to: number, f: Facts): void => {
    const old = facts[to];
    if (!old) {
      facts[to] = { regs: f.regs, spills: new Set(f.spills) };
      work.push(to);
      return;
    }
    const regs = old.regs & f.regs;
    const spills = new Set([...old.spills].filter((s) => f.spills.has(s)));
    if (regs !== old.regs || spills.size !== old.spills.size) {
      facts[to] = { regs, spills };
      work.push(to);
    }
  };
  while (work.length > 0) {
    const i = work.pop() as number;
    const insn = insns[i] as Instruction;
    const f = facts[i] as Facts;
    const out: Facts = { regs: f.regs, spills: new Set(f.spills) };
    const d = classify(insn);
    const clear = (r: number): void => {
      out.regs &= ~(1 << r);
    };
    const next = (delta: number): number | undefined => indexOfSlot.get((slotOf[i] as number) + 1 + delta);
    const succ: (number | undefined)[] = [];
    switch (d.kind) {
      case "alu":
        if (d.op === "mov" && d.width === 64 && d.operand.kind === "reg") {
          if (f.regs & (1 << d.operand.reg)) out.regs |= 1 << d.dst;
          else clear(d.dst);
        } else clear(d.dst);
        succ.push(i + 1);
        break;
      case "ldx":
        clear(d.dst);
        if (d.src === 10 && d.size === 8 && f.spills.has(d.off)) out.regs |= 1 << d.dst;
        succ.push(i + 1);
        break;
      case "stx":
      case "st":
        if (d.dst === 10) {
          for (const s of [...out.spills]) if (s < d.off + d.size && d.off < s + 8) out.spills.delete(s);
          if (d.kind === "stx" && d.size === 8 && f.regs & (1 << d.src)) out.spills.add(d.off);
        }
        succ.push(i + 1);
        break;
      case "call_helper":
      case "call_kfunc":
      case "call_subprog":
      case "callx":
        for (let r = 0; r <= 5; r++) clear(r);
        succ.push(i + 1);
        break;
      case "exit":
        break;
      case "ja":
        succ.push(next(d.off));
        break;
      case "gotol":
        succ.push(next(d.imm));
        break;
      case "jcond":
      case "may_goto":
        succ.push(i + 1, next(d.off));
        break;
      default:
        if ("dst" in d && typeof d.dst === "number") clear(d.dst);
        if (d.kind === "atomic" || d.kind === "xchg" || d.kind === "cmpxchg") clear(0);
        succ.push(i + 1);
    }
    for (const s of succ) if (s !== undefined && s < insns.length) merge(s, out);
  }
  let changed = false;
  const result = insns.map((insn, i) => {
    const f = facts[i];
    if (!f) return insn;
    const d = classify(insn);
    if (d.kind !== "ldx" || d.signed || d.size !== 4 || !(f.regs & (1 << d.src))) return insn;
    const field = fields.get(d.off);
    if (!field) return insn;
    changed = true;
    const [off, size] = field;
    // BPF_LDX | BPF_MEM | size: 0x61 for a word, 0x79 for a double word.
    return { ...insn, code: size === 8 ? 0x79 : 0x61, off };
  });
  return changed ? result : insns;
}
