import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { hasTool, skipReason } from "../../../scripts/test-env.js";
import type { Instruction } from "../src/index.js";
import {
  BpfIsaError,
  decode,
  encode,
  insn,
  LLVM_UNKNOWN,
  lddw,
  llvmBranchTarget,
  parseLlvm,
  parseLlvmInsn,
  printLlvm,
} from "../src/index.js";

// Lines llvm-objdump-19 printed for clang-built objects (spec 6.2/6.3), with their encodings.
const GOLDEN: Array<[string, Instruction]> = [
  ["r2 = *(u64 *)(r1 + 0x0)", insn(0x79, 2, 1, 0)],
  ["r0 = *(u64 *)(r1 + 0x8)", insn(0x79, 0, 1, 8)],
  ["r0 -= r2", insn(0x1f, 0, 2)],
  ["exit", insn(0x95)],
  ["w1 = 0x0", insn(0xb4, 1)],
  ["*(u32 *)(r10 - 0xc) = r1", insn(0x63, 10, 1, -12)],
  ["r1 = 0x0 ll", lddw(1, 0n)],
  ["r1 = *(u32 *)(r1 + 0x0)", insn(0x61, 1, 1, 0)],
  ["call -0x1", insn(0x85, 0, 1, 0, -1)],
  ["w0 = -0x1", insn(0xb4, 0, 0, 0, -1)],
  ["if r6 == 0x0 goto +0x2d", insn(0x15, 6, 0, 0x2d)],
  ["call 0x1", insn(0x85, 0, 0, 0, 1)],
  ["if r0 >= r2 goto -0x1c", insn(0x3d, 0, 2, -0x1c)],
  ["r1 s/= -0x3", insn(0x37, 1, 0, 1, -3)],
  ["*(u64 *)(r10 - 0x8) = -0x4", insn(0x7a, 10, 0, -8, -4)],
  ["r1 = 0x1122334455667788 ll", lddw(1, 0x1122334455667788n)],
  ["r1 = -0x1 ll", lddw(1, -1n)],
  ["r2 = 0xffffffff ll", lddw(2, 0xffffffffn)],
  ["ld_pseudo\tr1, 0x1, 0x5", lddw(1, 5n, 1)],
  ["lock *(u64 *)(r10 - 0x8) += r1", insn(0xdb, 10, 1, -8, 0)],
  ["r1 = atomic_fetch_add((u64 *)(r10 - 0x8), r1)", insn(0xdb, 10, 1, -8, 1)],
  ["r1 = xchg_64(r10 - 0x8, r1)", insn(0xdb, 10, 1, -8, 0xe1)],
  ["r0 = cmpxchg_64(r10 - 0x8, r0, r1)", insn(0xdb, 10, 1, -8, 0xf1)],
  ["goto +0x1", insn(0x05, 0, 0, 1)],
  ["gotol +0x1", insn(0x06, 0, 0, 0, 1)],
  ["if r1 s<= -0x1 goto +0x1", insn(0xd5, 1, 0, 1, -1)],
  ["if w1 > -0x1 goto +0x0", insn(0x26, 1, 0, 0, -1)],
  ["may_goto +0x1", insn(0xe5, 0, 0, 1)],
  ["call 0x1017e", insn(0x85, 0, 2, 0, 0x1017e)],
  ["callx r1", insn(0x8d, 1)],
  ["r0 = *(u8 *)skb[0x4]", insn(0x30, 0, 0, 0, 4)],
  ["r0 = *(u16 *)skb[r1]", insn(0x48, 0, 1)],
  ["r1 = -r1", insn(0x87, 1)],
  ["r1 = be16 r1", insn(0xdc, 1, 0, 0, 16)],
  ["r1 = le64 r1", insn(0xd4, 1, 0, 0, 64)],
  ["r1 = bswap32 r1", insn(0xd7, 1, 0, 0, 32)],
  ["r1 = (s8)r2", insn(0xbf, 1, 2, 8)],
  ["w1 = (s16)w2", insn(0xbc, 1, 2, 16)],
  ["r0 = *(s32 *)(r1 + 0x4)", insn(0x81, 0, 1, 4)],
  ["r1 = addr_space_cast(r2, 0x0, 0x1)", insn(0xbf, 1, 2, 1, 1)],
];

// Decoding quirks of LLVM 19 without alu32 (spec 6.2): reproduced, not corrected.
const QUIRKS: Array<[string, string, Instruction]> = [
  ["load-acquire DW reads as an atomic add", "lock *(u64 *)(r0 + 0x0) += r1", insn(0xdb, 0, 1, 0, 0x100)],
  ["32-bit fetch-add reads as a plain add", "lock *(u32 *)(r3 + 0x0) += r2", insn(0xc3, 3, 2, 0, 1)],
  ["exit ignores dst and off", "exit", insn(0x95, 12, 3, 7)],
  ["callx takes dst", "callx r0", insn(0x8d, 0, 1, 0, 0)],
];

describe("printLlvm", () => {
  it.each(GOLDEN)("prints %s", (text, i) => {
    expect(printLlvm(i)).toBe(text);
  });

  it.each(QUIRKS)("%s", (_why, text, i) => {
    expect(printLlvm(i)).toBe(text);
  });

  it("rejects what LLVM's decoder rejects", () => {
    expect(printLlvm(insn(0x8c, 1, 2))).toBeUndefined(); // NEG with the X bit
    expect(printLlvm(insn(0xb7, 1, 0, 1, 1))).toBeUndefined(); // MOV K with a non-zero off
    expect(printLlvm(insn(0xbf, 1, 12))).toBeUndefined(); // r12 does not exist
    expect(printLlvm(insn(0xd3, 1, 2, 0, 0x100))).toBeUndefined(); // u8 load-acquire
    expect(printLlvm(insn(0x18, 1, 0, 0, 5))).toBeUndefined(); // lddw without its second slot
    expect(printLlvm({ ...lddw(1, 5n), off: 1 })).toBeUndefined();
    expect(LLVM_UNKNOWN).toBe("<unknown>");
  });

  it("uses w registers for narrow loads, stores and atomics only with alu32", () => {
    expect(printLlvm(insn(0x61, 0, 1, 0), { alu32: true })).toBe("w0 = *(u32 *)(r1 + 0x0)");
    expect(printLlvm(insn(0x6b, 10, 1, -2), { alu32: true })).toBe("*(u16 *)(r10 - 0x2) = w1");
    expect(printLlvm(insn(0xc3, 10, 1, -8, 0x51), { alu32: true })).toBe(
      "w1 = atomic_fetch_and((u32 *)(r10 - 0x8), w1)",
    );
    expect(printLlvm(insn(0xc3, 10, 1, -8, 0xe1), { alu32: true })).toBe("w1 = xchg32_32(r10 - 0x8, w1)");
    expect(printLlvm(insn(0xc3, 10, 1, -8, 0xf1), { alu32: true })).toBe(
      "w0 = cmpxchg32_32(r10 - 0x8, w0, w1)",
    );
    expect(printLlvm(insn(0xc3, 10, 1, -8, 0xf1))).toBeUndefined();
  });

  it("computes branch targets in slots, for branches only", () => {
    expect(llvmBranchTarget(insn(0x15, 6, 0, 0x2d), 8)).toBe(54);
    expect(llvmBranchTarget(insn(0x06, 0, 0, 0, -3), 10)).toBe(8);
    expect(llvmBranchTarget(insn(0xe5, 0, 0, 1), 0)).toBe(2);
    expect(llvmBranchTarget(insn(0x85, 0, 1, 0, 4), 0)).toBeUndefined();
    expect(llvmBranchTarget(insn(0x0d, 1), 0)).toBeUndefined();
  });
});

describe("parseLlvm", () => {
  it.each(GOLDEN.filter(([, i]) => !(i.code === 0x85 && i.src !== 0)))("reads back %s", (text, i) => {
    expect(parseLlvmInsn(text)).toEqual(i);
  });

  it("reads objdump listings, annotations and decimal numbers", () => {
    const listing = [
      "",
      "example.o:\tfile format elf64-bpf",
      "",
      "Disassembly of section .text:",
      "",
      "0000000000000000 <f>:",
      "       0:\tb7 00 00 00 01 00 00 00\tr0 = 0x1",
      "       1:\t15 01 01 00 00 00 00 00\tif r1 == 0x0 goto +0x1 <f+0x18>",
      "\t\t0000000000000008:  R_BPF_64_32\tsomething",
      "       2:\tb7 00 00 00 02 00 00 00\tr0 = 2 ; a comment",
      "       3:\t95 00 00 00 00 00 00 00\texit",
    ].join("\n");
    expect(parseLlvm(listing)).toEqual([
      insn(0xb7, 0, 0, 0, 1),
      insn(0x15, 1, 0, 1),
      insn(0xb7, 0, 0, 0, 2),
      insn(0x95),
    ]);
  });

  it("takes <unknown> slots from the bytes column and refuses what it cannot rebuild", () => {
    const listing =
      "       0:\t8c 01 00 00 00 00 00 00\t<unknown>\n       1:\t95 00 00 00 00 00 00 00\texit\n";
    expect(parseLlvm(listing)).toEqual([insn(0x8c, 1), insn(0x95)]);
    expect(parseLlvm("       0:\t01 8c 00 00 00 00 00 00\t<unknown>\n", { endian: "big" })).toEqual([
      insn(0x01, 8, 12),
    ]);
    expect(() => parseLlvm("       0:\t95\t<unknown>\n")).toThrowError(/line 1/);
    expect(() => parseLlvm("       0:\tb7 00 00 00 00 00 00 00\tr0 = 0x0\n\t\t...\n")).toThrowError(
      /zero bytes/,
    );
  });

  it("names the line of a syntax error", () => {
    expect(() => parseLlvm("r0 = 1\nr0 ?= 2\n")).toThrowError(/line 2/);
    expect(() => parseLlvmInsn("r0 = 0x100000000")).toThrowError(BpfIsaError);
    expect(() => parseLlvmInsn("r12 = 1")).toThrowError(/r12/);
    expect(() => parseLlvmInsn("if w1 == r2 goto +0x1")).toThrowError(/width/);
  });
});

/** Every opcode byte with field values chosen to hit reserved bits, r11+ and sign edges. */
function sweep(): Uint8Array[] {
  const regs = [0x21, 0xa0, 0xfb, 0x0c, 0xc1];
  const offs = [0, 1, -8, 16, 32, -0x8000];
  const imms = [0, 1, -1, 16, 32, 64, 0x100, 0xe1, 0xf1, 0x41, 0x51, 0xa1, 0x7fffffff, -0x80000000];
  const out: Uint8Array[] = [];
  for (let code = 0; code < 256; code++)
    for (const r of regs)
      for (const off of offs)
        for (const imm of imms) {
          const b = new Uint8Array(code === 0x18 ? 16 : 8);
          const v = new DataView(b.buffer);
          b[0] = code;
          b[1] = r;
          v.setInt16(2, off, true);
          v.setInt32(4, imm, true);
          if (code === 0x18) v.setInt32(12, imm === 1 ? -1 : 0x12345678, true);
          out.push(b);
        }
  return out;
}

describe("round trip print -> parse -> print", () => {
  it("is the identity on every LLVM-decodable encoding of the sweep", () => {
    let checked = 0;
    const diffs: string[] = [];
    for (const alu32 of [false, true]) {
      for (const bytes of sweep()) {
        const i = decode(bytes)[0] as Instruction;
        const text = printLlvm(i, { alu32 });
        if (text === undefined) continue;
        const back = printLlvm(parseLlvmInsn(text), { alu32 });
        if (back !== text && diffs.length < 5) diffs.push(`${text} -> ${back}`);
        checked++;
      }
    }
    expect(diffs).toEqual([]);
    expect(checked).toBeGreaterThan(30_000);
  });

  it("gives back the exact bytes of canonical encodings", () => {
    for (const [text, i] of GOLDEN) {
      if (i.code === 0x85 && i.src !== 0) continue; // the src of a call is not in the text
      expect(encode(parseLlvm(text))).toEqual(encode([i]));
    }
  });
});

// Differential test against LLVM itself: llvm-mc prints with the same instruction printer as
// llvm-objdump, one line per input line, and warns (with the line number) for what it rejects.
describe.skipIf(skipReason("llvm-mc differential", [[hasTool("llvm-mc-19"), "llvm-mc-19 not installed"]]))(
  "printLlvm against llvm-mc-19",
  () => {
    const cases = sweep();
    const input = cases
      .map((b) => Array.from(b, (x) => `0x${x.toString(16).padStart(2, "0")}`).join(" "))
      .join("\n");

    function llvmMc(triple: string, extra: string[]): Array<string | undefined> {
      const run = spawnSync(
        "llvm-mc-19",
        ["--disassemble", `-triple=${triple}`, "--print-imm-hex", ...extra],
        {
          input: `${input}\n`,
          encoding: "utf8",
          maxBuffer: 1 << 28,
        },
      );
      const rejected = new Set<number>();
      for (const m of run.stderr.matchAll(/^<stdin>:(\d+):1: warning: invalid instruction encoding/gm))
        rejected.add(Number(m[1]));
      const printed = run.stdout
        .split("\n")
        .filter((l) => l.startsWith("\t") && l !== "\t.text")
        .map((l) => l.slice(1));
      let k = 0;
      return cases.map((_, n) => (rejected.has(n + 1) ? undefined : printed[k++]));
    }

    for (const [name, alu32, triple, extra] of [
      ["default features (llvm-objdump -d)", false, "bpfel", []],
      ["alu32 (--mcpu=v3)", true, "bpfel", ["-mattr=+alu32"]],
      ["the bytes read big-endian (bpfeb)", false, "bpfeb", []],
    ] as const) {
      it(`agrees on all ${cases.length} encodings with ${name}`, () => {
        const want = llvmMc(triple, [...extra]);
        const endian = triple === "bpfeb" ? "big" : "little";
        const diffs: string[] = [];
        cases.forEach((bytes, n) => {
          const got = printLlvm(decode(bytes, { endian })[0] as Instruction, { alu32 });
          if (got !== want[n] && diffs.length < 5)
            diffs.push(`${Buffer.from(bytes).toString("hex")}: llvm ${want[n]} / ours ${got}`);
        });
        expect(diffs).toEqual([]);
      });
    }
  },
);

describe("README, LLVM section", () => {
  it("prints what the README says", async () => {
    const { readFileSync } = await import("node:fs");
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const section = readme.slice(readme.indexOf("## LLVM syntax"));
    const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1] as string;
    const expected = /```text\n([\s\S]*?)```/.exec(section)?.[1] as string;
    const imports = /^import \{([^}]*)\} from "@bpfkit\/bpf-isa";\n/m.exec(code);
    expect(imports).not.toBeNull();
    const names = (imports?.[1] as string).split(",").map((s) => s.trim());
    const lines: string[] = [];
    const log = (...args: unknown[]) => lines.push(args.map(String).join(" "));
    const isa = await import("../src/index.js");
    new Function("console", ...names, code.replace(imports?.[0] as string, ""))(
      { log },
      ...names.map((n) => (isa as Record<string, unknown>)[n]),
    );
    expect(`${lines.join("\n")}\n`).toBe(expected);
  });
});
