import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sharedFixtures, skipReason } from "../../../scripts/test-env.js";
import {
  assembleUbpf,
  BpfIsaError,
  decode,
  disassembleUbpf,
  disassembleUbpfInsn,
  encode,
  insn,
  lddw,
  parseConformanceData,
} from "../src/index.js";
import { validSamples } from "./valid-opcodes.js";

const suite = sharedFixtures("bpf_conformance");

describe("uBPF assembler", () => {
  it("assembles every operand form", () => {
    const program = assembleUbpf(
      [
        "mov %r0, 0 # comment",
        "lddw %r1, 0x1122334455667788",
        "mov32 %r2, -1",
        "add %r2, 0x80000000",
        "stxdw [%r10-8], %r1",
        "ldxw %r3, [%r10+0x4]",
        "ldxsh %r3, [%r1]",
        "stw [%r10-16], +7",
        "lock fetch add32 [%r10-16], %r3",
        "lock cmpxchg [%r10-8], %r1",
        "movsx1664 %r4, %r3",
        "smod32 %r4, -3",
        "swap16 %r4",
        "bswap64 %r4",
        "jne %r1, %r2, done",
        "ja32 done",
        "call local func",
        "call helper %r2",
        "call runtime 5",
        "call 7",
        "done:",
        "exit",
        "func:",
        "jeq32 %r0, 0, exit",
        "exit",
      ].join("\n"),
    );
    expect(program).toEqual([
      insn(0xb7, 0, 0, 0, 0),
      lddw(1, 0x1122334455667788n),
      insn(0xb4, 2, 0, 0, -1),
      insn(0x07, 2, 0, 0, -0x80000000),
      insn(0x7b, 10, 1, -8),
      insn(0x61, 3, 10, 4),
      insn(0x89, 3, 1, 0),
      insn(0x62, 10, 0, -16, 7),
      insn(0xc3, 10, 3, -16, 0x01),
      insn(0xdb, 10, 1, -8, 0xf1),
      insn(0xbf, 4, 3, 16),
      insn(0x94, 4, 0, 1, -3),
      insn(0xd7, 4, 0, 0, 16),
      insn(0xd7, 4, 0, 0, 64),
      insn(0x5d, 1, 2, 5),
      insn(0x06, 0, 0, 0, 4),
      insn(0x85, 0, 1, 0, 4),
      insn(0x8d, 2),
      insn(0x85, 0, 2, 0, 5),
      insn(0x85, 0, 0, 0, 7),
      insn(0x95),
      insn(0x16, 0, 0, -2, 0),
      insn(0x95),
    ]);
  });

  it("reports errors with line numbers", () => {
    expect(() => assembleUbpf("mov %r0, 1\nfrob %r1\nexit")).toThrowError(/line 2: unknown mnemonic "frob"/);
    expect(() => assembleUbpf("ja nowhere\nexit")).toThrowError(/line 1: unknown label "nowhere"/);
    expect(() => assembleUbpf("mov %r0\nexit", { firstLine: 10 })).toThrowError(
      /line 10: mov takes 2 operands/,
    );
    expect(() => assembleUbpf("mov %r16, 1")).toThrowError(BpfIsaError);
    expect(() => assembleUbpf("mov %r1, 0x1ffffffffffffffff")).toThrowError(/out of range/);
  });

  it("round-trips the canonical disassembly of every sample", () => {
    const samples = validSamples().filter((s) => {
      // The conformance syntax has no lddw subtypes, kfunc module slots, acquire/release, legacy
      // packet loads, may_goto or address-space casts.
      if (s.code === 0x18) return s.src === 0;
      if (s.code === 0x85) return s.off === 0;
      if ((s.code & 0xe7) === 0xc3) return s.imm < 0x100;
      if (s.code === 0xe5 || (s.code & 0x07) === 0x00) return false;
      return !(s.code === 0xbf && s.off === 1);
    });
    for (const s of samples) {
      const text = disassembleUbpfInsn(s);
      expect(assembleUbpf(text), text).toEqual([s]);
    }
  });
});

describe.skipIf(
  skipReason("bpf_conformance suite", [[suite !== undefined, "../shared/fixtures/bpf_conformance absent"]]),
)("bpf_conformance suite", () => {
  it("assembles, disassembles and reassembles all programs to the same bytes", () => {
    const files = readdirSync(suite as string).filter((f) => f.endsWith(".data"));
    let raw = 0;
    for (const file of files) {
      const data = parseConformanceData(new Uint8Array(readFileSync(join(suite as string, file))));
      expect(data.unsupported, file).toBeUndefined();
      expect(data.asm, file).toBeDefined();
      expect(data.result, file).toBeDefined();
      const bytes = encode(assembleUbpf(data.asm as string, { firstLine: data.asmLine }));
      const listing = disassembleUbpf(decode(bytes));
      const text = listing.replace(/^\s*\d+: /gm, "");
      expect(encode(assembleUbpf(text)), `${file}\n${listing}`).toEqual(bytes);
      if (data.raw) {
        raw++;
        expect(bytes, file).toEqual(data.raw);
      }
    }
    console.log(
      `bpf_conformance: ${files.length} programs round-tripped, ${raw} matched their -- raw section`,
    );
    expect(files.length).toBe(313);
    expect(raw).toBeGreaterThan(0);
  });

  it("reads mem, result and raw sections", () => {
    const lddw = parseConformanceData(readFileSync(join(suite as string, "lddw.data"), "latin1"));
    expect(lddw.result).toBe(0x1122334455667788n);
    expect(lddw.raw?.length).toBe(24);
    const files = readdirSync(suite as string).filter((f) => f.endsWith(".data"));
    const withMem = files.filter(
      (f) => parseConformanceData(readFileSync(join(suite as string, f))).mem.length > 0,
    );
    expect(withMem.length).toBe(40);
  });
});

describe("conformance .data reader", () => {
  it("parses sections like the reference runner", () => {
    const data = parseConformanceData(
      "# license\r\n-- asm\r\nmov %r0, 1 # one\r\nexit\r\n-- mem\r\n00 01\r\nFF\r\n-- result\r\n0x0\r\n0X1f\r\n",
    );
    expect(data.asm).toBe("mov %r0, 1 # one\nexit");
    expect(data.asmLine).toBe(3);
    expect([...data.mem]).toEqual([0, 1, 255]);
    expect(data.result).toBe(0x1fn);
    expect(parseConformanceData("-- asm\nexit\n-- weird\n").unsupported).toBe("-- weird");
    expect(
      parseConformanceData(new Uint8Array([0x2d, 0x2d, 0x20, 0x61, 0x73, 0x6d, 0x0a, 0x23, 0x7f, 0xe9])).asm,
    ).toBe("#\u007f\u00e9");
  });
});
