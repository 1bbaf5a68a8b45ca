import type { Instruction } from "@bpfkit/bpf-isa";
import { insn } from "@bpfkit/bpf-isa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHUNK_SLOTS } from "../src/compile/codegen.js";
import { isCompiled, setChunkSlots } from "../src/compile/engine.js";
import { compileToSource, type Engine, loadProgram, type Program, Vm, VmError } from "../src/index.js";
import { CTX_SIZE, POOL, prng, randomContext, randomProgram } from "./kernel/random-programs.js";

// The compiled engine against the interpreter on random programs, without the kernel: the same
// r0, registers, memory, statistics and, for programs that fault or run out of budget, the same
// fault down to its message. The programs are the kernel differential test's ALU/JMP programs with
// some instructions replaced (same slot count, so jump offsets stay valid) by loads and stores that
// may miss their region, atomics, helper and kfunc calls, bpf-to-bpf calls, may_goto and exits.

const SEED = Number(process.env.BPFKIT_DIFF_SEED ?? 20261125);

const pick = <T>(rand: () => number, items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
const size = (rand: () => number) => pick(rand, [0x10, 0x08, 0x00, 0x18]); // h, b, w, dw

/** One single-slot instruction that touches memory, calls out or changes control flow. */
function spice(rand: () => number, at: number, subprogs: number[]): Instruction {
  const dst = pick(rand, POOL);
  const src = pick(rand, POOL);
  const r = rand();
  // Offsets around the context (r6) and the stack (r10), so some accesses fall off either end.
  const ctxOff = Math.floor(rand() * (CTX_SIZE + 16)) - 8;
  const stackOff = -Math.floor(rand() * 530);
  if (r < 0.15) return insn(0x61 | size(rand), dst, 6, ctxOff); // ldx from ctx
  if (r < 0.25) return insn(0x63 | size(rand), 6, src, ctxOff); // stx into ctx
  if (r < 0.35) return insn(0x63 | size(rand), 10, src, stackOff); // stx onto the stack
  if (r < 0.42) return insn(0x62 | size(rand), 10, 0, stackOff, Math.floor(rand() * 2 ** 32) | 0); // st
  if (r < 0.5) return insn(0x61 | size(rand), dst, 10, stackOff); // ldx from the stack
  if (r < 0.55) return insn(0x61 | size(rand), dst, src, Math.floor(rand() * 16)); // scalar base: faults
  if (r < 0.63) {
    // Atomics on the stack, sometimes misaligned: add/or/and/xor (with fetch), xchg, cmpxchg.
    const imm = pick(rand, [0x00, 0x01, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, 0xe1, 0xf1]);
    const off = rand() < 0.8 ? -8 * (1 + Math.floor(rand() * 8)) : -1 - Math.floor(rand() * 20);
    return insn(rand() < 0.5 ? 0xdb : 0xc3, 10, src, off, imm);
  }
  if (r < 0.7) return insn(0x85, 0, 0, 0, rand() < 0.95 ? 1 : 99); // helper (99 is unknown)
  if (r < 0.74) return insn(0x85, 0, 2, 0, 7); // kfunc
  if (r < 0.82 && subprogs.length > 0) return insn(0x85, 0, 1, 0, pick(rand, subprogs) - at - 1); // call
  if (r < 0.88) return insn(0xe5, 0, 0, 0); // may_goto +0
  if (r < 0.9) return insn(0x95); // exit early
  return insn(0x07, dst, 0, 0, Math.floor(rand() * 2 ** 32) | 0);
}

/** A random program plus two subprograms (one plain, one recursing until the frames run out). */
function spicedProgram(rand: () => number): Instruction[] {
  const main = randomProgram(rand, { loops: rand() < 0.6, length: 10 + Math.floor(rand() * 40) });
  const plain = main.length;
  const body: Instruction[] = [
    insn(0xbf, 0, 1), // r0 = r1
    insn(0x27, 0, 0, 0, 3), // r0 *= 3
    insn(0x0f, 0, 2), // r0 += r2
    insn(0xb7, 6, 0, 0, 5), // r6 = 5 (callee-saved in the caller's view)
    insn(0x7b, 10, 0, -8), // *(u64 *)(r10 - 8) = r0
    insn(0x95),
  ];
  const recursive = plain + body.length;
  const subprogs = rand() < 0.1 ? [plain, recursive] : [plain];
  const out = [...main];
  // Replace some ALU instructions of the body (after the context loads, before the stores).
  for (let i = 10; i < main.length - 10; i++) {
    const { code, dst } = out[i] as Instruction;
    // r6 (the context) and r9 (the loop counter) keep their roles, so every loop still ends.
    const alu = ((code & 0x07) === 0x07 || (code & 0x07) === 0x04) && POOL.includes(dst);
    if (alu && rand() < 0.2) out[i] = spice(rand, i, subprogs);
  }
  out.push(...body, insn(0x85, 0, 1, 0, -1), insn(0x95)); // recursive: call itself
  return out;
}

interface Outcome {
  r0?: string;
  error?: Record<string, unknown>;
  stats: Record<string, number>;
  regs: string[];
  ctx: string;
  stack: string;
}

function outcome(engine: Engine, prog: Program, context: Uint8Array, maxInsns: number | undefined): Outcome {
  const vm = new Vm({ engine, mayGotoBudget: 3, maxInsns });
  vm.registerHelper(1, (c) => (c.arg(1) * 7n) ^ c.arg(2) ^ (c.arg(5) << 3n));
  vm.registerKfunc(7, (c) => {
    if (c.argU32(1) % 13 === 0) throw new Error("kfunc refuses");
    return c.argI32(2) - 1;
  });
  const ctx = vm.memory.map(context.slice(), { name: "ctx", kind: "context" });
  const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
  const out: Partial<Outcome> = {};
  let stats: Record<string, number>;
  try {
    const r = vm.run(prog, { args: [ctx.base, 0x1234n, 5n, 0n, 0xffffffffn] });
    out.r0 = r.r0.toString(16);
    stats = { ...r.stats };
  } catch (error) {
    if (!(error instanceof VmError)) throw error;
    const { message, kind, insn: at, address, size: bytes, region, access } = error;
    out.error = { message, kind, insn: at, address, size: bytes, region, access };
    stats = { ...error.stats } as Record<string, number>;
  }
  stats.wallNs = 0;
  return {
    ...out,
    stats,
    regs: Array.from({ length: 11 }, (_, k) => vm.register(k).toString(16)),
    ctx: hex(ctx.bytes),
    stack: vm.stacks.map((s) => hex(s.bytes)).join(":"),
  };
}

describe.each([
  ["functions of up to CHUNK_SLOTS slots", CHUNK_SLOTS],
  // Every jump, call and return between chunks goes through the driver.
  ["5-slot functions", 5],
])("compiled engine (%s) against the interpreter on random programs", (_, chunk) => {
  beforeAll(() => setChunkSlots(chunk as number));
  afterAll(() => setChunkSlots(CHUNK_SLOTS));

  it("agree on a program of 4,000 instructions", () => {
    const rand = prng(SEED + 9);
    const prog = loadProgram(randomProgram(rand, { loops: true, length: 3120 }));
    expect(prog.slots).toBeGreaterThan(3900);
    for (let c = 0; c < 3; c++) {
      const context = randomContext(rand);
      expect(outcome("compiled", prog, context, undefined)).toEqual(
        outcome("interpreter", prog, context, undefined),
      );
    }
  });

  it("agree on 1000 ALU/JMP programs with 3 inputs each (r0, registers, context, stats)", () => {
    const rand = prng(SEED + 7);
    for (let k = 0; k < 1000; k++) {
      const insns = randomProgram(rand, { loops: k % 2 === 1, length: 10 + Math.floor(rand() * 40) });
      const prog = loadProgram(insns);
      for (let c = 0; c < 3; c++) {
        const context = randomContext(rand);
        const want = outcome("interpreter", prog, context, undefined);
        expect({ k, c, ...outcome("compiled", prog, context, undefined) }).toEqual({ k, c, ...want });
      }
    }
  });

  it("agree on 1500 programs that access memory, call out and fault, with and without budgets", () => {
    const rand = prng(SEED + 8);
    const kinds = new Set<string>();
    let ok = 0;
    for (let k = 0; k < 1500; k++) {
      const prog = loadProgram(spicedProgram(rand));
      for (let c = 0; c < 2; c++) {
        const context = randomContext(rand);
        // Small budgets end runs at every kind of instruction, including inside calls and loops.
        const budget = rand() < 0.3 ? 1 + Math.floor(rand() * 120) : undefined;
        const want = outcome("interpreter", prog, context, budget);
        const got = outcome("compiled", prog, context, budget);
        expect({ k, c, ...got }).toEqual({ k, c, ...want });
        if (want.error) kinds.add(want.error.kind as string);
        else ok++;
      }
    }
    // The generator must reach every outcome it is meant to compare.
    expect([...kinds].sort()).toEqual(["access", "budget", "call", "depth", "misaligned"]);
    expect(ok).toBeGreaterThan(300);
  });

  it("compiles to readable source with one comment per instruction", () => {
    const prog = loadProgram([insn(0xb7, 0, 0, 0, 42), insn(0x95)]);
    const source = compileToSource(prog);
    expect(source).toContain("// 0: (b7) r0 = 42");
    expect(source).toContain("// 1: (95) exit");
    expect(source).toContain("r0l = 42; r0h = 0;");
  });
});

describe("generated source", () => {
  it("never lets a program's name out of its comment", () => {
    // Program names come from object files; a line break in one must not become JavaScript.
    const g = globalThis as { bpfkitInjected?: number };
    for (const brk of ["\n", "\r", "\u2028", "\u2029"]) {
      const name = `x${brk}globalThis.bpfkitInjected = 1; //`;
      const prog = loadProgram([insn(0xb7, 0, 0, 0, 7), insn(0x95)], { name });
      expect(new Vm({ engine: "compiled" }).run(prog).r0).toBe(7n);
      expect(compileToSource(prog)).not.toContain("globalThis.bpfkitInjected");
    }
    expect(g.bpfkitInjected).toBeUndefined();
  });
});

describe("compileAfter", () => {
  it("interprets a program until it has run that many instructions, then compiles it", () => {
    // r0 = 0; r1 = 10; loop: r0 += r1; r1 -= 1; if r1 != 0 goto loop; exit: 33 instructions a run.
    const prog = loadProgram([
      insn(0xb7, 0, 0, 0, 0),
      insn(0xb7, 1, 0, 0, 10),
      insn(0x0f, 0, 1),
      insn(0x17, 1, 0, 0, 1),
      insn(0x55, 1, 0, -3, 0),
      insn(0x95),
    ]);
    const vm = new Vm({ engine: "compiled", compileAfter: 60 });
    const seen: boolean[] = [];
    for (let k = 0; k < 4; k++) {
      const { r0, stats } = vm.run(prog);
      expect({ r0, insns: stats.insns }).toEqual({ r0: 55n, insns: 33 });
      seen.push(isCompiled(prog));
    }
    // Runs 1 and 2 interpret (33, then 66 >= 60 instructions), run 3 compiles.
    expect(seen).toEqual([false, false, true, true]);
    // Another VM finds the translation and uses it at once; the default compiles on the first run.
    const other = loadProgram([insn(0xb7, 0, 0, 0, 7), insn(0x95)]);
    expect(new Vm({ engine: "compiled" }).run(other).r0).toBe(7n);
    expect(isCompiled(other)).toBe(true);
  });
});
