import { describe, expect, it } from "vitest";
import type { Instruction } from "../src/index.js";
import {
  BpfIsaError,
  classify,
  decode,
  encode,
  helperId,
  helperName,
  imm64,
  insn,
  isKnownOpcode,
  lddw,
  slotIndices,
  validate,
  validateInstruction,
} from "../src/index.js";
import { validSamples } from "./valid-opcodes.js";

/** Deterministic xorshift32 so failures reproduce. */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

describe("encode/decode", () => {
  it("encodes the spec's example slot", () => {
    expect([...encode([insn(0x07, 1, 0, 0, 0x11223344)])]).toEqual([
      0x07, 0x01, 0, 0, 0x44, 0x33, 0x22, 0x11,
    ]);
    const raw = encode([lddw(0, 0x5566778800000000n | 0n)]);
    expect(raw.length).toBe(16);
    expect([...raw.subarray(8, 16)]).toEqual([0, 0, 0, 0, 0x88, 0x77, 0x66, 0x55]);
  });

  it("swaps register nibbles and fields for big-endian", () => {
    const bytes = encode([insn(0x79, 1, 2, -8, 0)], { endian: "big" });
    expect([...bytes]).toEqual([0x79, 0x12, 0xff, 0xf8, 0, 0, 0, 0]);
    expect(decode(bytes, { endian: "big" })).toEqual([insn(0x79, 1, 2, -8, 0)]);
    expect(decode(bytes)).toEqual([insn(0x79, 2, 1, -1793, 0)]);
  });

  it("round-trips every valid opcode in both byte orders", () => {
    const samples = validSamples();
    const codes = new Set(samples.map((i) => i.code));
    for (let c = 0; c < 256; c++)
      if (isKnownOpcode(c)) expect(codes.has(c), `opcode ${c.toString(16)} sampled`).toBe(true);
    for (const endian of ["little", "big"] as const) {
      expect(decode(encode(samples, { endian }), { endian })).toEqual(samples);
      for (const s of samples) expect(decode(encode([s], { endian }), { endian })).toEqual([s]);
    }
    for (const s of samples) {
      expect(validateInstruction(s), JSON.stringify(s)).toBeUndefined();
      expect(classify(s).kind, JSON.stringify(s)).not.toBe("unknown");
    }
  });

  it("round-trips random slots (seeded property test)", () => {
    const next = rng(0x5eed);
    for (let round = 0; round < 2000; round++) {
      const n = 1 + (next() % 12);
      const bytes = new Uint8Array(n * 8);
      for (let i = 0; i < bytes.length; i++) bytes[i] = next() & 0xff;
      // An lddw in the last slot has no second half; make the program decodable.
      if (bytes[(n - 1) * 8] === 0x18) bytes[(n - 1) * 8] = 0x95;
      for (const endian of ["little", "big"] as const) {
        let insns: Instruction[];
        try {
          insns = decode(bytes, { endian });
        } catch (e) {
          // Only a trailing lddw without its second slot may fail.
          expect(e).toBeInstanceOf(BpfIsaError);
          continue;
        }
        expect(encode(insns, { endian })).toEqual(bytes);
      }
    }
  });

  it("rejects truncated input naming the byte offset", () => {
    expect(() => decode(new Uint8Array(12))).toThrowError(/byte offset 8/);
    const half = encode([insn(0x95), lddw(1, 5n)]).subarray(0, 16);
    try {
      decode(half);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(BpfIsaError);
      expect((e as BpfIsaError).offset).toBe(8);
      expect((e as BpfIsaError).isInputError).toBe(true);
      expect((e as Error).message).toMatch(/lddw at byte offset 8/);
    }
  });

  it("computes lddw values and slot indices", () => {
    const l = lddw(1, -1n);
    expect(l.imm).toBe(-1);
    expect(l.nextImm).toBe(-1);
    expect(imm64(l)).toBe(0xffffffffffffffffn);
    expect(imm64(lddw(1, 0x123456789n))).toBe(0x123456789n);
    expect(slotIndices([insn(0xb7), l, insn(0x95)])).toEqual([0, 1, 3]);
  });
});

describe("classify", () => {
  it("describes the v4 and internal forms", () => {
    expect(classify(insn(0xbf, 3, 2, 8))).toEqual({ kind: "movsx", width: 64, dst: 3, src: 2, bits: 8 });
    expect(classify(insn(0x3f, 1, 2, 1)).kind).toBe("alu");
    expect(classify(insn(0x37, 3, 0, 1, -3))).toMatchObject({
      op: "sdiv",
      operand: { kind: "imm", imm: -3 },
    });
    expect(classify(insn(0xd7, 3, 0, 0, 64))).toEqual({ kind: "bswap", bits: 64, dst: 3 });
    expect(classify(insn(0xdc, 3, 0, 0, 16))).toEqual({ kind: "end", order: "be", bits: 16, dst: 3 });
    expect(classify(insn(0xbf, 1, 2, 1, 1))).toEqual({
      kind: "addr_space_cast",
      dst: 1,
      src: 2,
      dstAs: 0,
      srcAs: 1,
    });
    expect(classify(insn(0xbf, 1, 2, -1))).toEqual({ kind: "percpu_mov", dst: 1, src: 2 });
    expect(classify(insn(0x06, 0, 0, 0, 5))).toEqual({ kind: "gotol", imm: 5 });
    expect(classify(insn(0x0d, 1))).toEqual({ kind: "gotox", dst: 1 });
    expect(classify(insn(0xe5, 0, 0, 3))).toEqual({ kind: "may_goto", off: 3 });
    expect(classify(insn(0x85, 0, 2, 1, 99))).toEqual({ kind: "call_kfunc", btfId: 99, module: 1 });
    expect(classify(insn(0x85, 0, 1, 0, 6))).toEqual({ kind: "call_subprog", imm: 6 });
    expect(classify(insn(0x8d, 1))).toEqual({ kind: "callx", reg: 1 });
    expect(classify(insn(0xc2))).toEqual({ kind: "nospec" });
    expect(classify(insn(0xdb, 1, 5, -8, 0xa1))).toMatchObject({
      kind: "atomic",
      op: "xor",
      fetch: true,
      size: 8,
    });
    expect(classify(insn(0xdb, 0, 1, 0, 0x100))).toMatchObject({
      kind: "load_acquire",
      size: 8,
      dst: 0,
      src: 1,
    });
    expect(classify(insn(0xcb, 1, 2, -8, 0x110))).toMatchObject({ kind: "store_release", size: 2 });
    expect(classify(lddw(1, 7n, 1))).toEqual({ kind: "lddw", subtype: 1, dst: 1, value: 7n });
    expect(classify(insn(0x89, 4, 10, -8))).toMatchObject({ kind: "ldx", signed: true, size: 2 });
    expect(classify(insn(0x8f)).kind).toBe("unknown");
    expect(classify(insn(0xdf)).kind).toBe("unknown");
  });
});

describe("validate", () => {
  const exit = insn(0x95);
  const first = (insns: Instruction[]) => validate(insns)[0];
  it("reports the kernel's messages with the instruction index", () => {
    expect(first([insn(0xb7), insn(0x8f), exit])).toEqual({ insn: 1, message: "unknown opcode 8f" });
    expect(first([insn(0x07, 1, 2), exit])?.message).toBe("BPF_ALU uses reserved fields");
    expect(first([insn(0xb7, 1, 0, 1), exit])?.message).toBe("BPF_MOV uses reserved fields");
    expect(first([insn(0xbc, 1, 2, 32), exit])?.message).toBe("BPF_MOV uses reserved fields");
    expect(first([insn(0x87, 1, 0, 0, 1), exit])?.message).toBe("BPF_NEG uses reserved fields");
    expect(first([insn(0xd4, 1, 0, 0, 8), exit])?.message).toBe("BPF_END uses reserved fields");
    expect(first([insn(0x79, 1, 2, 0, 1), exit])?.message).toBe("BPF_LDX uses reserved fields");
    expect(first([insn(0x7a, 1, 2), exit])?.message).toBe("BPF_ST uses reserved fields");
    expect(first([insn(0x7b, 1, 2, 0, 3), exit])?.message).toBe("BPF_STX uses reserved fields");
    expect(first([{ ...lddw(1, 0n), off: 1 }, exit])?.message).toBe("BPF_LD_IMM64 uses reserved fields");
    expect(first([insn(0x30, 1), exit])?.message).toBe("BPF_LD_[ABS|IND] uses reserved fields");
    expect(first([insn(0x05, 0, 0, 0, 1), exit])?.message).toBe("BPF_JA uses reserved fields");
    expect(first([insn(0x85, 1, 0, 0, 1), exit])?.message).toBe("BPF_CALL uses reserved fields");
    expect(first([insn(0x95, 0, 0, 0, 1)])?.message).toBe("BPF_EXIT uses reserved fields");
    expect(first([insn(0x1d, 1, 2, 0, 1), exit])?.message).toBe("BPF_JMP/JMP32 uses reserved fields");
    expect(first([insn(0xe5, 1, 0, 0), exit])?.message).toBe("invalid may_goto imm 0");
    expect(first([{ ...lddw(1, 0n), nextReserved: { code: 1, dst: 0, src: 0, off: 0 } }, exit])).toEqual({
      insn: 0,
      message: "invalid bpf_ld_imm64 insn",
    });
    expect(first([insn(0x15, 1, 0, 1), lddw(1, 0n), exit])?.message).toBe(
      "jump into the middle of ldimm64 insn 1",
    );
    expect(first([insn(0x05, 0, 0, 1), lddw(1, 0n), exit])?.message).toBe("unreachable insn 1");
    expect(first([insn(0x05, 0, 0, 5), exit])?.message).toBe("jump out of range from insn 0 to 6");
    expect(first([insn(0xb7)])?.message).toBe("last insn is not an exit or jmp");
    expect(first([insn(0x37, 1, 0, 0, 0), exit])?.message).toBe("div by zero");
    expect(first([insn(0x67, 1, 0, 0, 64), exit])?.message).toBe("invalid shift 64");
    expect(first([insn(0x64, 1, 0, 0, 32), exit])?.message).toBe("invalid shift 32");
    expect(first([insn(0xd3, 1, 2, 0, 0), exit])?.message).toBe("invalid atomic operand size");
    expect(first([insn(0xdb, 1, 2, 0, 0x02), exit])?.message).toBe(
      "BPF_ATOMIC uses invalid atomic opcode 02",
    );
    expect(first([insn(0xb7), insn(0x85, 0, 1, 0, 7), exit])).toEqual({
      insn: 1,
      message: "call to invalid destination",
    });
    // A subprogram must end in exit or a jump of its own, and jumps stay inside it.
    expect(first([insn(0x85, 0, 1, 0, 1), exit, insn(0xb7)])?.message).toBe(
      "last insn is not an exit or jmp",
    );
    expect(first([insn(0x85, 0, 1, 0, 2), insn(0x05, 0, 0, 1), exit, exit])?.message).toBe(
      "jump out of range from insn 1 to 3",
    );
    expect(first([insn(0xb7, 0, 0, 0, 0), exit])).toBeUndefined();
  });
});

describe("helpers", () => {
  it("names helper ids as the kernel prints them", () => {
    expect(helperName(1)).toBe("bpf_map_lookup_elem");
    expect(helperName(7)).toBe("bpf_get_prandom_u32");
    expect(helperName(211)).toBe("bpf_cgrp_storage_delete");
    expect(helperName(212)).toBeUndefined();
    expect(helperId("bpf_ktime_get_ns")).toBe(5);
  });
});
