import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { encode, type Instruction } from "@bpfkit/bpf-isa";
import { type Btf, BtfBuilder, parseBtf } from "@bpfkit/btf";
import { describe, expect, it } from "vitest";
import { hasKernelOracle, skipReason } from "../../../scripts/test-env.js";
import { createRuntime, type MapSpec, MapType, type ProgType, type Runtime } from "../src/index.js";
import { asm } from "./asm.js";

/**
 * Programs assembled here run twice: in the live kernel (raw BPF_PROG_LOAD + BPF_PROG_TEST_RUN
 * through kernel/prog-run.py) and in the runtime; retval, ctx out, packet out and every map's
 * contents (as sets of key/value pairs) must agree.
 */
interface Case {
  name: string;
  type: ProgType;
  maps: (MapSpec & { init?: [number, bigint][]; freeze?: boolean; globalData?: Uint8Array })[];
  src: string;
  ctx?: Uint8Array;
  data?: Uint8Array;
}

const u32le = (...n: number[]): Uint8Array => new Uint8Array(new Uint32Array(n).buffer);
const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const le = (v: bigint, size: number): Uint8Array => {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = Number((v >> BigInt(8 * i)) & 0xffn);
  return out;
};

const CASES: Case[] = [
  {
    name: "hash and array maps, .data and .rodata globals",
    type: "syscall",
    maps: [
      { name: "h", type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 8 },
      { name: "counts", type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 4, init: [[2, 100n]] },
      {
        name: ".data",
        type: MapType.ARRAY,
        keySize: 4,
        valueSize: 8,
        maxEntries: 1,
        globalData: u32le(5, 6),
      },
      {
        name: ".rodata",
        type: MapType.ARRAY,
        keySize: 4,
        valueSize: 8,
        maxEntries: 1,
        flags: 1 << 7,
        globalData: u32le(1000, 3),
        freeze: true,
      },
    ],
    // for i in 0..3: h[i*7] = i + ctx[0]; counts[i] += rodata[0]; data[0] += i
    src: `
      r6 = r1
      r7 = 0
      r1 = r7
      r1 *= 7
      *(u32 *)(r10 - 4) = r1
      r1 = *(u32 *)(r6 + 0)
      r1 += r7
      *(u64 *)(r10 - 16) = r1
      r1 = map h
      r2 = r10
      r2 += -4
      r3 = r10
      r3 += -16
      r4 = 0
      call 2
      *(u32 *)(r10 - 4) = r7
      r1 = map counts
      r2 = r10
      r2 += -4
      call 1
      if r0 == 0 goto +13
      r1 = mapvalue .rodata+0
      r2 = *(u32 *)(r1 + 0)
      r3 = *(u64 *)(r0 + 0)
      r3 += r2
      *(u64 *)(r0 + 0) = r3
      r1 = mapvalue .data+0
      r2 = *(u32 *)(r1 + 0)
      r2 += r7
      *(u32 *)(r1 + 0) = r2
      r7 += 1
      if r7 < 4 goto -31
      r1 = mapvalue .data+0
      r0 = *(u32 *)(r1 + 0)
      exit`,
    ctx: u32le(40, 0),
  },
  {
    name: "hash update flags and delete errnos seen by the program",
    type: "syscall",
    maps: [{ name: "h", type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 2 }],
    // ctx[i] = result of op i
    src: `
      r6 = r1
      r1 = 1
      *(u32 *)(r10 - 4) = r1
      *(u32 *)(r10 - 8) = r1
      r1 = map h
      r2 = r10
      r2 += -4
      r3 = r10
      r3 += -8
      r4 = 1
      call 2
      *(u32 *)(r6 + 0) = r0
      r1 = map h
      r2 = r10
      r2 += -4
      r3 = r10
      r3 += -8
      r4 = 1
      call 2
      *(u32 *)(r6 + 4) = r0
      r1 = 2
      *(u32 *)(r10 - 4) = r1
      r1 = map h
      r2 = r10
      r2 += -4
      r3 = r10
      r3 += -8
      r4 = 2
      call 2
      *(u32 *)(r6 + 8) = r0
      r1 = map h
      r2 = r10
      r2 += -4
      call 3
      *(u32 *)(r6 + 12) = r0
      r1 = map h
      r2 = r10
      r2 += -4
      r3 = r10
      r3 += -8
      r4 = 5
      call 2
      *(u32 *)(r6 + 16) = r0
      r0 = 0
      exit`,
    ctx: new Uint8Array(20),
  },
  {
    name: "bpf_loop with a callback writing a map",
    type: "syscall",
    maps: [{ name: "sq", type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 16 }],
    // for i < ctx[0], stopping when the callback sees i == ctx[1]: sq[i] = i*i, sum += i (the
    // callback context must be on the stack, so ctx[1] and the sum travel through fp-8).
    src: `
      r6 = r1
      r2 = *(u32 *)(r6 + 4)
      *(u32 *)(r10 - 8) = r2
      r2 = 0
      *(u32 *)(r10 - 4) = r2
      r1 = *(u32 *)(r6 + 0)
      r2 = func +10
      r3 = r10
      r3 += -8
      r4 = 0
      call 181
      *(u32 *)(r6 + 12) = r0
      r1 = *(u32 *)(r10 - 4)
      *(u32 *)(r6 + 8) = r1
      r0 = 0
      exit
      r6 = r1
      r7 = r2
      r1 = *(u32 *)(r7 + 4)
      r1 += r6
      *(u32 *)(r7 + 4) = r1
      *(u32 *)(r10 - 4) = r6
      r1 = map sq
      r2 = r10
      r2 += -4
      call 1
      if r0 == 0 goto +3
      r1 = r6
      r1 *= r6
      *(u64 *)(r0 + 0) = r1
      r0 = 0
      r1 = *(u32 *)(r7 + 0)
      if r1 != r6 goto +1
      r0 = 1
      exit`,
    ctx: u32le(12, 9, 0, 0),
  },
  {
    name: "bpf_iter_num sums [ctx0, ctx1) and counts in a map",
    type: "syscall",
    maps: [{ name: "hits", type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 64 }],
    src: `
      r6 = r1
      r1 = r10
      r1 += -8
      r2 = *(u32 *)(r6 + 0)
      r3 = *(u32 *)(r6 + 4)
      kcall bpf_iter_num_new
      *(u32 *)(r6 + 12) = r0
      r7 = 0
      r1 = r10
      r1 += -8
      kcall bpf_iter_num_next
      if r0 == 0 goto +14
      r8 = *(u32 *)(r0 + 0)
      r7 += r8
      r8 &= 3
      *(u32 *)(r10 - 12) = r8
      *(u32 *)(r10 - 16) = r7
      r1 = map hits
      r2 = r10
      r2 += -12
      r3 = r10
      r3 += -16
      r4 = 0
      call 2
      goto -18
      r1 = r10
      r1 += -8
      kcall bpf_iter_num_destroy
      *(u32 *)(r6 + 8) = r7
      r0 = r7
      exit`,
    ctx: u32le(3, 20, 0, 0),
  },
  {
    name: "bpf_iter_bits over one word and over two words",
    type: "syscall",
    maps: [],
    src: `
      r6 = r1
      r1 = r10
      r1 += -16
      r2 = r6
      r3 = 1
      kcall bpf_iter_bits_new
      r7 = 0
      r8 = 0
      r1 = r10
      r1 += -16
      kcall bpf_iter_bits_next
      if r0 == 0 goto +4
      r1 = *(u32 *)(r0 + 0)
      r7 += r1
      r8 += 1
      goto -8
      r1 = r10
      r1 += -16
      kcall bpf_iter_bits_destroy
      r1 = r10
      r1 += -32
      r2 = r6
      r2 += 8
      r3 = 2
      kcall bpf_iter_bits_new
      r1 = r10
      r1 += -32
      kcall bpf_iter_bits_next
      if r0 == 0 goto +4
      r1 = *(u32 *)(r0 + 0)
      r7 += r1
      r8 += 1
      goto -8
      r1 = r10
      r1 += -32
      kcall bpf_iter_bits_destroy
      *(u32 *)(r6 + 24) = r8
      *(u32 *)(r6 + 28) = r7
      r0 = r8
      exit`,
    ctx: new Uint8Array(new BigUint64Array([0x8000000000000105n, 0x11n, 0x8000000000000001n, 0n]).buffer),
  },
  {
    name: "socket filter: legacy loads from the network header, skb->len and skb->protocol",
    type: "socket_filter",
    maps: [],
    src: `
      r6 = r1
      r0 = *(u8 *)skb[9]
      r0 <<= 16
      r1 = *(u32 *)(r6 + 0)
      r0 += r1
      r1 = *(u32 *)(r6 + 16)
      r1 <<= 8
      r0 ^= r1
      exit`,
    data: new Uint8Array([
      0,
      1,
      2,
      3,
      4,
      5,
      6,
      7,
      8,
      9,
      10,
      11,
      0x08,
      0x00,
      0x45,
      0,
      0,
      40,
      0,
      0,
      0,
      0,
      64,
      17,
      ...Array(30).fill(1),
    ]),
  },
  {
    name: "tc: direct packet access through __sk_buff data/data_end, skb->len",
    type: "sched_cls",
    maps: [],
    src: `
      r2 = *(u32 *)(r1 + 76)
      r3 = *(u32 *)(r1 + 80)
      r4 = r2
      r4 += 14
      if r4 > r3 goto +5
      r5 = *(u8 *)(r2 + 12)
      *(u8 *)(r2 + 0) = r5
      r0 = *(u32 *)(r1 + 0)
      r0 += r5
      exit
      r0 = 2
      exit`,
    data: new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x86, 0xdd, ...Array(50).fill(7)]),
  },
  {
    name: "tc: writes to mark, priority and cb come back in ctx_out; ifindex and wire_len",
    type: "sched_cls",
    maps: [],
    src: `
      r2 = *(u32 *)(r1 + 8)
      r2 += 0x55
      *(u32 *)(r1 + 8) = r2
      r2 = 3
      *(u32 *)(r1 + 32) = r2
      r2 = *(u32 *)(r1 + 48)
      r2 *= 7
      *(u32 *)(r1 + 64) = r2
      r0 = *(u32 *)(r1 + 40)
      r2 = *(u32 *)(r1 + 160)
      r0 <<= 8
      r0 += r2
      exit`,
    ctx: (() => {
      const c = new Uint8Array(192);
      c[8] = 1;
      c[48] = 6;
      return c;
    })(),
    data: new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00, ...Array(46).fill(9)]),
  },
  {
    name: "xdp with ctx_in: ingress_ifindex, packet length, xdp_md back in ctx_out",
    type: "xdp",
    maps: [],
    src: `
      r2 = *(u32 *)(r1 + 0)
      r3 = *(u32 *)(r1 + 4)
      r3 -= r2
      r0 = *(u32 *)(r1 + 12)
      r0 <<= 16
      r0 += r3
      exit`,
    ctx: u32le(0, 60, 0, 1, 0, 0),
    data: new Uint8Array(60).fill(3),
  },
  {
    name: "xdp: bounds check, rewrite the EtherType, XDP_TX",
    type: "xdp",
    maps: [],
    src: `
      r2 = *(u32 *)(r1 + 0)
      r3 = *(u32 *)(r1 + 4)
      r4 = r2
      r4 += 14
      if r4 > r3 goto +6
      r5 = *(u8 *)(r2 + 13)
      r5 += 1
      *(u8 *)(r2 + 13) = r5
      r0 = r3
      r0 -= r2
      exit
      r0 = 1
      exit`,
    data: new Uint8Array([...Array(64).keys()]),
  },
];

function prepare(rt: Runtime, c: Case): { insns: Instruction[]; kernelHex: string } {
  for (const m of c.maps) {
    if (m.globalData) {
      const g = rt.createGlobalData(m.name, m.globalData, { readonly: ((m.flags ?? 0) & (1 << 7)) !== 0 });
      if (!m.freeze && g.frozen) g.frozen = false;
    } else {
      const map = rt.createMap(m);
      for (const [k, v] of m.init ?? []) map.sysUpdate(u32le(k), le(v, m.valueSize), 0);
    }
  }
  const insns = asm(rt, c.src);
  // The kernel driver gets map indices instead of fds in the lddw immediates.
  const kernelInsns = insns.map((i) =>
    i.code === 0x18 && (i.src === 1 || i.src === 2)
      ? { ...i, imm: c.maps.findIndex((m) => rt.fd(rt.map(m.name)!) === i.imm) }
      : i,
  );
  return { insns, kernelHex: hex(encode(kernelInsns)) };
}

/**
 * The kernel wants BTF func_info once a program has callbacks: a FUNC for the main program and one
 * per callback target (`lddw` of a BPF_PSEUDO_FUNC).
 */
function funcInfo(insns: Instruction[]): { btf: string; funcInfo: [number, number][] } | undefined {
  const targets: number[] = [];
  let slot = 0;
  for (const i of insns) {
    if (i.code === 0x18 && i.src === 4) targets.push(slot + 1 + i.imm);
    slot += i.code === 0x18 ? 2 : 1;
  }
  if (targets.length === 0) return undefined;
  const b = new BtfBuilder();
  const int = b.add({
    kind: "int",
    name: "int",
    size: 4,
    encoding: 1,
    signed: true,
    char: false,
    bool: false,
    bitOffset: 0,
    bits: 32,
  });
  const long = b.add({
    kind: "int",
    name: "long",
    size: 8,
    encoding: 1,
    signed: true,
    char: false,
    bool: false,
    bitOffset: 0,
    bits: 64,
  });
  const ptr = b.add({ kind: "ptr", name: "", type: 0 });
  const mainProto = b.add({
    kind: "func_proto",
    name: "",
    returnType: int,
    params: [{ name: "ctx", type: ptr }],
  });
  const main = b.add({ kind: "func", name: "main", type: mainProto, linkage: 1 });
  const cbProto = b.add({
    kind: "func_proto",
    name: "",
    returnType: long,
    params: [
      { name: "i", type: long },
      { name: "ctx", type: ptr },
    ],
  });
  const info: [number, number][] = [[0, main]];
  for (const [n, t] of [...new Set(targets)].sort((x, y) => x - y).entries())
    info.push([t, b.add({ kind: "func", name: `cb${n}`, type: cbProto, linkage: 0 })]);
  return { btf: hex(b.build()), funcInfo: info };
}

function sortedEntries(rt: Runtime, name: string): [string, string][] {
  const m = rt.map(name)!;
  return m
    .entries()
    .map((e) => [hex(e.key), hex(e.value ?? new Uint8Array(0))] as [string, string])
    .sort();
}

describe.skipIf(
  skipReason("runtime vs kernel BPF_PROG_TEST_RUN parity", [
    [hasKernelOracle(), "needs root, bpf() and bpftool"],
  ]),
)("runtime vs the live kernel under BPF_PROG_TEST_RUN", () => {
  const btf: Btf | undefined = hasKernelOracle()
    ? parseBtf(new Uint8Array(readFileSync("/sys/kernel/btf/vmlinux")))
    : undefined;
  const prepared = CASES.map((c) => {
    const rt = createRuntime({ btf, cpus: 1 });
    return { c, rt, ...prepare(rt, c) };
  });
  const kernel = hasKernelOracle()
    ? (JSON.parse(
        execFileSync("python3", [join(import.meta.dirname, "kernel", "prog-run.py")], {
          input: JSON.stringify(
            prepared.map(({ c, insns, kernelHex }) => ({
              ...(() => {
                const f = funcInfo(insns);
                return f ? { btf: f.btf, func_info: f.funcInfo } : {};
              })(),
              type: c.type,
              insns: kernelHex,
              ctx: c.ctx ? hex(c.ctx) : null,
              data: c.data ? hex(c.data) : null,
              maps: c.maps.map((m) => ({
                name: m.name.replace(/^\./, "g"),
                type: m.type,
                key: m.keySize,
                value: m.valueSize,
                max: m.maxEntries,
                flags: m.flags ?? 0,
                freeze: m.freeze,
                init: [
                  ...(m.init ?? []).map(([k, v]) => [hex(u32le(k)), hex(le(v, m.valueSize))]),
                  ...(m.globalData ? [[hex(u32le(0)), hex(m.globalData)]] : []),
                ],
              })),
            })),
          ),
          encoding: "utf8",
        }),
      ) as {
        error?: string;
        retval: number;
        ctx_out: string | null;
        data_out: string | null;
        maps: Record<string, [string, string][]>;
      }[])
    : [];

  prepared.forEach(({ c, rt, insns }, i) => {
    it(c.name, () => {
      const live = kernel[i]!;
      expect(live.error).toBeUndefined();
      const prog = rt.load({ name: "p", type: c.type, insns });
      const out = rt.run(prog, { ctx: c.ctx, data: c.data });
      expect(out.retval).toBe(live.retval);
      expect(out.ctxOut ? hex(out.ctxOut) : null).toBe(live.ctx_out);
      expect(out.dataOut ? hex(out.dataOut) : null).toBe(live.data_out);
      for (const m of c.maps)
        expect(sortedEntries(rt, m.name)).toEqual([...(live.maps[m.name.replace(/^\./, "g")] ?? [])].sort());
    });
  });
});
