import { describe, expect, it } from "vitest";
import {
  bpftoolImm,
  formatVerifierLine,
  formatXlatedLine,
  insn,
  lddw,
  parseKernel,
  parseKernelInsn,
  parseKernelLines,
  printKernel,
  printKernelInsn,
} from "../src/index.js";
import { validSamples } from "./valid-opcodes.js";

// Lines the Linux 6.18 verifier printed (spec 5.3), with the encoding that produced each.
const GOLDEN: Array<[string, ReturnType<typeof insn>]> = [
  ["(b7) r0 = 0", insn(0xb7, 0)],
  ["(b4) w1 = -1", insn(0xb4, 1, 0, 0, -1)],
  ["(bc) w3 = w2", insn(0xbc, 3, 2)],
  ["(37) r3 s/= -3", insn(0x37, 3, 0, 1, -3)],
  ["(c7) r3 s>>= 2", insn(0xc7, 3, 0, 0, 2)],
  ["(84) w3 = -w3", insn(0x84, 3)],
  ["(dc) r3 = be16 r3", insn(0xdc, 3, 0, 0, 16)],
  ["(d7) r3 = bswap64 r3", insn(0xd7, 3, 0, 0, 64)],
  ["(bf) r3 = (s8)r2", insn(0xbf, 3, 2, 8)],
  ["(bc) w3 = (s16)w2", insn(0xbc, 3, 2, 16)],
  ["(94) w3 s%= 7", insn(0x94, 3, 0, 1, 7)],
  ["(62) *(u32 *)(r10 -16) = 7", insn(0x62, 10, 0, -16, 7)],
  ["(89) r4 = *(s16 *)(r10 -8)", insn(0x89, 4, 10, -8)],
  ["(db) lock *(u64 *)(r10 -8) += r3", insn(0xdb, 10, 3, -8, 0)],
  ["(c3) lock *(u32 *)(r10 -16) |= r2", insn(0xc3, 10, 2, -16, 0x40)],
  ["(c3) r5 = atomic_fetch_xor((u32 *)(r10 -16), r5)", insn(0xc3, 10, 5, -16, 0xa1)],
  ["(db) r5 = atomic64_fetch_add((u64 *)(r10 -8), r5)", insn(0xdb, 10, 5, -8, 0x01)],
  ["(db) r5 = atomic64_xchg((u64 *)(r10 -8), r5)", insn(0xdb, 10, 5, -8, 0xe1)],
  ["(db) r0 = atomic64_cmpxchg((u64 *)(r10 -8), r0, r5)", insn(0xdb, 10, 5, -8, 0xf1)],
  ["(db) r0 = load_acquire((u64 *)(r1 +0))", insn(0xdb, 0, 1, 0, 0x100)],
  ["(d3) r2 = load_acquire((u8 *)(r1 -8))", insn(0xd3, 2, 1, -8, 0x100)],
  ["(cb) store_release((u16 *)(r1 -8), r2)", insn(0xcb, 1, 2, -8, 0x110)],
  ["(18) r6 = 0x123456789", lddw(6, 0x123456789n)],
  ["(25) if r3 > 0x3 goto pc+1", insn(0x25, 3, 0, 1, 3)],
  ["(a6) if w1 s< 0xfffffffb goto pc+1", insn(0xc6, 1, 0, 1, -5)],
  ["(06) gotol pc+0", insn(0x06)],
  ["(e5) may_goto pc+0", insn(0xe5)],
  ["(85) call bpf_get_prandom_u32#7", insn(0x85, 0, 0, 0, 7)],
  ["(85) call pc+6", insn(0x85, 0, 1, 0, 6)],
  ["(85) call unknown#195896080", insn(0x85, 0, 0, 0, 195896080)],
  ["(95) exit", insn(0x95)],
];

describe("kernel syntax", () => {
  it("prints the verified 6.18 lines", () => {
    for (const [text, encoded] of GOLDEN) {
      // The spec's `(a6)` line shows the text of a jslt; fix the opcode column to match the insn.
      const expected = text.startsWith("(a6)") ? text.replace("(a6)", "(c6)") : text;
      expect(printKernelInsn(encoded)).toBe(expected);
      expect(parseKernelInsn(expected)).toEqual(encoded);
    }
  });

  it("names kfuncs through the resolver", () => {
    const call = insn(0x85, 0, 2, 0, 65918);
    expect(printKernelInsn(call)).toBe("(85) call kernel-function#65918");
    expect(
      printKernelInsn(call, { kfuncName: (id) => (id === 65918 ? "bpf_task_from_pid" : undefined) }),
    ).toBe("(85) call bpf_task_from_pid#65918");
    expect(parseKernelInsn("(85) call bpf_task_from_pid#65918")).toEqual(call);
  });

  it("hides pointers without ptr leaks and prints bpftool's map forms", () => {
    expect(printKernelInsn(lddw(1, 0xffffc9000283e000n, 2), { allowPtrLeaks: false })).toBe("(18) r1 = 0x0");
    expect(printKernelInsn(lddw(1, 0xffffc9000283e000n, 2))).toBe("(18) r1 = 0xffffc9000283e000");
    expect(printKernelInsn(lddw(1, 1320n, 1), { imm64Text: bpftoolImm })).toBe("(18) r1 = map[id:1320]");
    expect(printKernelInsn(lddw(1, (8n << 32n) | 1320n, 2), { imm64Text: bpftoolImm })).toBe(
      "(18) r1 = map[id:1320][0]+8",
    );
    expect(parseKernelInsn("(18) r1 = map[id:1320][0]+8")).toEqual(lddw(1, (8n << 32n) | 1320n, 2));
  });

  it("prints the odd text of malformed encodings like the kernel", () => {
    expect(printKernelInsn(insn(0x61 | 0xc0))).toBe("BUG_ldx_e1");
    expect(printKernelInsn(insn(0xdb, 1, 2, 0, 0x02))).toBe("BUG_db");
    expect(printKernelInsn(insn(0x60))).toBe("BUG_ld_60");
    expect(printKernelInsn(insn(0x38))).toBe("(38) r0 = *(u64 *)skb[0]");
  });

  it("round-trips every valid sample through print and parse", () => {
    for (const s of validSamples()) {
      const text = printKernelInsn(s);
      const back = parseKernelInsn(text);
      // lddw pointer subtypes print as a plain value; everything else is exact.
      if (s.code === 0x18)
        expect(back).toEqual(
          lddw(s.dst, BigInt.asUintN(64, (BigInt(s.nextImm ?? 0) << 32n) | BigInt(s.imm >>> 0))),
        );
      // The kernel does not print a kfunc's module slot (off).
      else if (s.code === 0x85 && s.src === 2) expect(back, text).toEqual({ ...s, off: 0 });
      else expect(back, text).toEqual(s);
    }
  });

  it("frames lines like the verifier log and xlated dumps", () => {
    expect(formatVerifierLine(0, "(b4) w1 = 0", "R1=0")).toBe(`0: (b4) w1 = 0${" ".repeat(24)}; R1=0`);
    expect(formatVerifierLine(0, "(85) call bpf_get_prandom_u32#7", "R0=scalar()")).toBe(
      "0: (85) call bpf_get_prandom_u32#7    ; R0=scalar()",
    );
    expect(formatXlatedLine(0, "(b4) w1 = 0")).toBe("   0: (b4) w1 = 0");
    const log = [
      "func#0 @0",
      "0: R1=ctx() R10=fp0",
      "; return x; @ t.bpf.c:3",
      "0: (85) call bpf_get_prandom_u32#7    ; R0=scalar()",
      "1: (18) r1 = 0x5                      ; R1=5",
      "3: (95) exit",
      "from 1 to 3: R0=1",
    ].join("\n");
    const lines = parseKernelLines(log);
    expect(lines.map((l) => l.index)).toEqual([0, 1, 3]);
    expect(lines[0]?.state).toBe("R0=scalar()");
    const program = parseKernel(log);
    expect(printKernel(program)).toBe("0: (85) call bpf_get_prandom_u32#7\n1: (18) r1 = 0x5\n3: (95) exit\n");
  });
});
