import type { Instruction } from "@bpfkit/bpf-isa";
import { assembleUbpf, insn, lddw } from "@bpfkit/bpf-isa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHUNK_SLOTS } from "../src/compile/codegen.js";
import { setChunkSlots } from "../src/compile/engine.js";
import {
  Vm as BaseVm,
  type Engine,
  loadProgram,
  MAX_TAIL_CALLS,
  MAY_GOTO_BUDGET,
  type Program,
  type RunOptions,
  VmError,
  type VmOptions,
} from "../src/index.js";

const asm = (text: string) => loadProgram(assembleUbpf(text));
const exit = insn(0x95);

function fault(f: () => unknown): VmError {
  try {
    f();
  } catch (error) {
    if (error instanceof VmError) return error;
    throw error;
  }
  throw new Error("expected a VmError");
}

const ENGINES: Array<[string, Engine, number]> = [
  ["interpreter", "interpreter", CHUNK_SLOTS],
  ["compiled", "compiled", CHUNK_SLOTS],
  // Chunks of 3 slots: every jump, call and return crosses from one compiled function to another.
  ["compiled, 3-slot chunks", "compiled", 3],
];

// Every test runs on both engines: they must be indistinguishable.
describe.each(ENGINES)("%s engine", (_, engine, chunk) => {
  beforeAll(() => setChunkSlots(chunk));
  afterAll(() => setChunkSlots(CHUNK_SLOTS));

  /** The VM under test, on this describe's engine. */
  class Vm extends BaseVm {
    constructor(options: VmOptions = {}) {
      super({ engine, ...options });
    }
  }

  function run(text: string | Instruction[], options: RunOptions = {}, vmOptions: VmOptions = {}) {
    const vm = new Vm(vmOptions);
    const prog = typeof text === "string" ? asm(text) : loadProgram(text);
    return { vm, ...vm.run(prog, options) };
  }

  describe("ALU semantics", () => {
    it("zero-extends every 32-bit result", () => {
      expect(run("lddw %r0, 0xffffffffffffffff\nadd32 %r0, 1\nexit").r0).toBe(0n);
      expect(run("lddw %r0, 0x1234567800000001\nneg32 %r0\nexit").r0).toBe(0xffffffffn);
      expect(run("mov %r0, -1\nmov32 %r0, %r0\nexit").r0).toBe(0xffffffffn);
    });

    it("divides and takes modulo by zero as 0 and dst, and wraps signed overflow", () => {
      expect(run("mov %r0, 7\nmov %r1, 0\ndiv %r0, %r1\nexit").r0).toBe(0n);
      expect(run("mov %r0, 7\nmov %r1, 0\nmod %r0, %r1\nexit").r0).toBe(7n);
      expect(run("lddw %r0, 0x1ffffffff\nmov %r1, 0\nmod32 %r0, %r1\nexit").r0).toBe(0xffffffffn);
      expect(run("lddw %r0, 0x8000000000000000\nmov %r1, -1\nsdiv %r0, %r1\nexit").r0).toBe(
        0x8000000000000000n,
      );
      expect(run("lddw %r0, 0x8000000000000000\nmov %r1, -1\nsmod %r0, %r1\nexit").r0).toBe(0n);
      expect(run("mov32 %r0, 0x80000000\nmov32 %r1, -1\nsdiv32 %r0, %r1\nexit").r0).toBe(0x80000000n);
      expect(run("mov %r0, -13\nsmod %r0, 3\nexit").r0).toBe(BigInt.asUintN(64, -1n));
      // Large unsigned 64-bit division goes through the exact slow path.
      expect(run("lddw %r0, 0xfedcba9876543210\nlddw %r1, 0x123456789\ndiv %r0, %r1\nexit").r0).toBe(
        0xfedcba9876543210n / 0x123456789n,
      );
    });

    it("masks shift counts and shifts across the word boundary", () => {
      expect(run("mov %r0, 1\nmov %r1, 65\nlsh %r0, %r1\nexit").r0).toBe(2n);
      expect(run("mov32 %r0, 1\nmov32 %r1, 33\nlsh32 %r0, %r1\nexit").r0).toBe(2n);
      expect(run("lddw %r0, 0x8000000000000000\narsh %r0, 36\nexit").r0).toBe(0xfffffffff8000000n);
      expect(run("lddw %r0, 0x0000000180000000\nrsh %r0, 4\nexit").r0).toBe(0x18000000n);
      expect(run("mov32 %r0, 0x80000000\narsh32 %r0, 4\nexit").r0).toBe(0xf8000000n);
    });

    it("multiplies the full 64 bits", () => {
      expect(run("lddw %r0, 0xffffffffffffffff\nlddw %r1, 0xffffffffffffffff\nmul %r0, %r1\nexit").r0).toBe(
        1n,
      );
      expect(run("lddw %r0, 0x123456789abcdef\nlddw %r1, 0xfedcba987654321\nmul %r0, %r1\nexit").r0).toBe(
        BigInt.asUintN(64, 0x123456789abcdefn * 0xfedcba987654321n),
      );
    });

    it("sign-extends moves and loads, swaps bytes", () => {
      expect(run("mov %r1, 0x80\nmovsx864 %r0, %r1\nexit").r0).toBe(0xffffffffffffff80n);
      expect(run("mov %r1, 0x8000\nmovsx1632 %r0, %r1\nexit").r0).toBe(0xffff8000n);
      expect(run("lddw %r0, 0x8877665544332211\nbe16 %r0\nexit").r0).toBe(0x1122n);
      expect(run("lddw %r0, 0x8877665544332211\nle16 %r0\nexit").r0).toBe(0x2211n);
      expect(run("lddw %r0, 0x8877665544332211\nbswap64 %r0\nexit").r0).toBe(0x1122334455667788n);
      expect(run("stw [%r10-4], -2\nldxsw %r0, [%r10-4]\nexit").r0).toBe(BigInt.asUintN(64, -2n));
      expect(run("stb [%r10-1], 0x80\nldxsb %r0, [%r10-1]\nexit").r0).toBe(BigInt.asUintN(64, -128n));
    });
  });

  describe("memory model", () => {
    it("reports a precise fault for an access past the stack", () => {
      const e = fault(() => run("mov %r0, 0\nldxdw %r0, [%r10]\nexit"));
      expect(e.kind).toBe("access");
      expect(e.insn).toBe(1);
      expect(e.size).toBe(8);
      expect(e.region).toBe("stack[0]");
      expect(e.access).toBe("read");
      expect(e.address).toBe(0xffff000000000200n);
      expect(e.message).toMatch(
        /read of 8 bytes at 0xffff000000000200 is out of bounds of region "stack\[0\]"/,
      );
      expect(e.stats?.insns).toBe(2);
    });

    it("faults below the start of a region with a negative offset", () => {
      const e = fault(() => run("stxdw [%r10-520], %r1\nexit"));
      expect(e.kind).toBe("access");
      expect(e.access).toBe("write");
      expect(e.message).toContain("offset -8");
    });

    it("faults on null and scalar pointers", () => {
      const e = fault(() => run("mov %r1, 0\nldxw %r0, [%r1+16]\nexit"));
      expect(e.kind).toBe("access");
      expect(e.address).toBe(16n);
      expect(e.region).toBeUndefined();
      expect(e.message).toContain("outside every region (null or scalar pointer) at insn 1");
    });

    it("enforces read-only regions and unmapping", () => {
      const vm = new Vm();
      const ro = vm.memory.map(new Uint8Array([1, 2, 3, 4]), { name: "rodata", writable: false });
      const prog = asm("ldxw %r0, [%r1]\nstw [%r1], 9\nexit");
      const e = fault(() => vm.run(prog, { args: [ro.base] }));
      expect(e.kind).toBe("permission");
      expect(e.insn).toBe(1);
      expect(e.region).toBe("rodata");
      expect([...ro.bytes]).toEqual([1, 2, 3, 4]);
      vm.memory.protect(ro, { writable: true });
      expect(vm.run(prog, { args: [ro.base] }).r0).toBe(0x04030201n);
      expect(ro.bytes[0]).toBe(9);
      vm.memory.unmap(ro);
      expect(fault(() => vm.run(prog, { args: [ro.base] })).message).toContain("unmapped");
    });

    it("gives helpers checked typed access", () => {
      const vm = new Vm();
      const data = vm.memory.map(16, { name: "data" });
      expect(vm.memory.resolve(data.address(3))).toEqual({ region: data, offset: 3 });
      vm.memory.store(data.address(8), 8, 0x1122334455667788n);
      expect(vm.memory.load(data.address(8), 4)).toBe(0x55667788n);
      expect(() => vm.memory.load(data.address(12), 8)).toThrow(VmError);
      vm.memory.write(data.base, new TextEncoder().encode("hi\0"));
      expect(vm.memory.readCString(data.base)).toBe("hi");
    });
  });

  describe("atomics", () => {
    it("fetches, exchanges and compares", () => {
      const text = `
        stdw [%r10-8], 10
        mov %r1, 5
        lock fetch add [%r10-8], %r1
        mov %r6, %r1
        mov %r2, 100
        lock xchg [%r10-8], %r2
        mov %r0, 100
        mov %r3, 7
        lock cmpxchg [%r10-8], %r3
        ldxdw %r4, [%r10-8]
        mov %r0, %r6
        lsh %r0, 8
        add %r0, %r2
        lsh %r0, 8
        add %r0, %r4
        exit`;
      // fetch add returned 10, xchg returned 15, cmpxchg matched 100 and stored 7.
      expect(run(text).r0).toBe((10n << 16n) | (15n << 8n) | 7n);
    });

    it("zero-extends 32-bit fetches and compares only the low word in cmpxchg32", () => {
      const text = `
        lddw %r0, 0xffffffff00000003
        stw [%r10-4], 3
        mov %r1, 9
        lock cmpxchg32 [%r10-4], %r1
        ldxw %r1, [%r10-4]
        lsh %r1, 32
        or %r0, %r1
        exit`;
      expect(run(text).r0).toBe((9n << 32n) | 3n);
    });

    it("faults on a misaligned atomic", () => {
      const e = fault(() => run("mov %r1, 1\nlock add [%r10-12], %r1\nexit"));
      expect(e.kind).toBe("misaligned");
      expect(e.insn).toBe(1);
    });

    it("runs load-acquire and store-release", () => {
      const prog: Instruction[] = [
        insn(0xb7, 2, 0, 0, 0x1234),
        insn(0xcb, 10, 2, -8, 0x110), // store_release((u16 *)(r10 - 8), r2)
        insn(0xdb, 0, 10, -8, 0x100), // r0 = load_acquire((u64 *)(r10 - 8))
        exit,
      ];
      expect(run(prog).r0).toBe(0x1234n);
    });
  });

  describe("control flow", () => {
    it("calls subprograms with their own frame, keeping r6-r9 and r10 for the caller", () => {
      const text = `
        mov %r6, 6
        stdw [%r10-8], 42
        mov %r1, 1
        call local f
        ldxdw %r1, [%r10-8]
        add %r0, %r1
        add %r0, %r6
        exit
        f:
        mov %r6, 100
        stdw [%r10-8], 1000
        mov %r0, %r1
        exit`;
      const { r0, stats } = run(text);
      expect(r0).toBe(1n + 42n + 6n);
      expect(stats.localCalls).toBe(1);
      expect(stats.maxFrames).toBe(2);
    });

    it("allows 8 frames and faults on the 9th", () => {
      const chain = (depth: number) =>
        `mov %r1, ${depth}\ncall local f\nexit\nf:\njeq %r1, 1, done\nsub %r1, 1\ncall local f\ndone:\nexit`;
      expect(run(chain(7)).stats.maxFrames).toBe(8);
      const e = fault(() => run(chain(8)));
      expect(e.kind).toBe("depth");
      expect(e.message).toContain("the call stack of 9 frames is too deep");
    });

    it("calls through a code address with callx", () => {
      const prog: Instruction[] = [
        lddw(2, 4n, 4), // r2 = &f (BPF_PSEUDO_FUNC, pc-relative)
        insn(0x8d, 2), // callx r2
        exit,
        insn(0x95),
        insn(0xb7, 0, 0, 0, 77), // f: r0 = 77
        exit,
      ];
      // slot 0-1 lddw, 2 callx, 3 exit, 4 exit (padding), 5 f, 6 exit: f = 0 + 1 + 4
      expect(run(prog).r0).toBe(77n);
    });

    it("takes may_goto once the frame's budget of 8M is spent", () => {
      // loop: may_goto +2; r0 += 1; goto loop; exit
      const prog: Instruction[] = [insn(0xe5, 0, 0, 2), insn(0x07, 0, 0, 0, 1), insn(0x05, 0, 0, -3), exit];
      const { r0, stats } = run(prog);
      expect(r0).toBe(BigInt(MAY_GOTO_BUDGET));
      expect(stats.insns).toBe(MAY_GOTO_BUDGET * 3 + 2);
    });

    it("takes a configurable may_goto budget", () => {
      const prog: Instruction[] = [insn(0xe5, 0, 0, 2), insn(0x07, 0, 0, 0, 1), insn(0x05, 0, 0, -3), exit];
      expect(run(prog, {}, { mayGotoBudget: 5 }).r0).toBe(5n);
    });

    it("gives each frame its own may_goto budget", () => {
      const prog: Instruction[] = [
        insn(0xe5, 0, 0, 2), // 0: may_goto +2 (to 3)
        insn(0x07, 6, 0, 0, 1), // 1: r6 += 1
        insn(0x05, 0, 0, -3), // 2: goto 0
        insn(0x85, 0, 1, 0, 2), // 3: call 6
        insn(0xbf, 0, 6), // 4: r0 = r6
        exit, // 5
        insn(0xe5, 0, 0, 2), // 6: may_goto +2 (to 9)
        insn(0x07, 7, 0, 0, 1), // 7: r7 += 1
        insn(0x05, 0, 0, -3), // 8: goto 6
        insn(0xbf, 0, 7), // 9: r0 = r7
        exit,
      ];
      expect(run(prog).r0).toBe(BigInt(MAY_GOTO_BUDGET));
    });

    it("faults when execution runs off the end", () => {
      expect(fault(() => run([insn(0xb7, 0, 0, 0, 1)])).message).toContain(
        "ran past the last instruction at insn 1",
      );
    });
  });

  describe("calls out", () => {
    it("dispatches helpers by id with typed arguments", () => {
      const vm = new Vm();
      const seen: unknown[] = [];
      vm.registerHelper(7, (c) => {
        seen.push(c.arg(1), c.argSigned(2), c.argU32(3), c.argNumber(4), c.insn, c.id);
        return -1;
      });
      const prog = asm("mov %r1, 1\nmov %r2, -2\nlddw %r3, 0x1ffffffff\nmov %r4, 4096\ncall 7\nexit");
      const { r0, stats } = vm.run(prog);
      expect(seen).toEqual([1n, -2n, 0xffffffff, 4096, 5, 7]);
      expect(r0).toBe(0xffffffffffffffffn);
      expect(stats.helperCalls).toBe(1);
    });

    it("dispatches kfuncs by BTF id", () => {
      const vm = new Vm();
      vm.registerKfunc(65918, (c) => c.arg(1) * 2n);
      const { r0, stats } = vm.run(asm("mov %r1, 21\ncall runtime 65918\nexit"));
      expect(r0).toBe(42n);
      expect(stats.kfuncCalls).toBe(1);
    });

    it("faults on an unknown helper and wraps helper errors with the instruction", () => {
      expect(fault(() => run("call 99\nexit")).message).toBe("call to unknown helper 99 at insn 0");
      const vm = new Vm();
      vm.registerHelper(1, (c) => c.memory.load(0n, 8), "map_lookup_elem");
      const e = fault(() => vm.run(asm("mov %r0, 0\ncall 1\nexit")));
      expect(e.kind).toBe("access");
      expect(e.insn).toBe(1);
      expect(e.message).toContain("in helper map_lookup_elem at insn 1");
    });

    it("invokes callbacks from a helper (bpf_loop style)", () => {
      const vm = new Vm();
      // helper 181 (loop): call the callback r1 times with (index, ctx); stop when it returns 1.
      vm.registerHelper(181, (c) => {
        const n = c.argNumber(1);
        let i = 0;
        for (; i < n; i++) if (c.invoke(c.arg(2), BigInt(i), c.arg(3)) === 1n) break;
        return i;
      });
      const prog: Instruction[] = [
        insn(0xb7, 6, 0, 0, 0), // 0: r6 = 0 (must survive the helper)
        insn(0xb7, 1, 0, 0, 10), // 1: r1 = 10
        lddw(2, 6n, 4), // 2-3: r2 = &cb (slot 2 + 1 + 6)
        insn(0xbf, 3, 10), // 4: r3 = r10 (ctx = caller's stack)
        insn(0x7a, 10, 0, -8, 0), // 5: *(u64 *)(r10 - 8) = 0
        insn(0x85, 0, 0, 0, 181), // 6: call bpf_loop
        insn(0x79, 0, 10, -8), // 7: r0 = *(u64 *)(r10 - 8)
        exit, // 8
        insn(0x79, 4, 2, -8), // 9: cb: r4 = *(u64 *)(ctx - 8)
        insn(0x0f, 4, 1), // 10: r4 += index
        insn(0x7b, 2, 4, -8), // 11: *(u64 *)(ctx - 8) = r4
        insn(0xb7, 6, 0, 0, 99), // 12: r6 = 99 (callee-local)
        insn(0xb7, 0, 0, 0, 0), // 13: r0 = 0
        exit, // 14
      ];
      const { r0, stats } = vm.run(loadProgram(prog));
      expect(r0).toBe(45n);
      expect(vm.register(6)).toBe(0n);
      expect(stats.localCalls).toBe(10);
    });

    it("stops the program when a helper asks", () => {
      const vm = new Vm();
      vm.registerHelper(5, (c) => c.stop(3n));
      expect(vm.run(asm("call 5\nmov %r0, 9\nexit")).r0).toBe(3n);
    });
  });

  describe("tail calls", () => {
    function chain(limitless: boolean) {
      // Each program adds 1 to a counter on the caller's stack... tail calls keep r1 (ctx); use ctx memory.
      const progs: Program[] = [];
      const vm = new Vm({ resolveTailCall: (map, index) => (map === 0xabcn ? progs[index] : undefined) });
      const ctx = vm.memory.map(8, { name: "ctx", kind: "context" });
      const body = (next: number) =>
        loadProgram(
          assembleUbpf(`
            ldxdw %r2, [%r1]
            add %r2, 1
            stxdw [%r1], %r2
            mov %r6, %r1
            lddw %r2, 0xabc
            mov %r3, ${next}
            call 12
            ldxdw %r0, [%r6]
            exit`),
        );
      for (let i = 0; i < 40; i++) progs.push(body(limitless ? 0 : i + 1));
      return { vm, ctx, progs };
    }

    it("chains through the prog array up to 33 times", () => {
      const { vm, ctx, progs } = chain(true);
      const { r0, stats } = vm.run(progs[0] as Program, { args: [ctx.base] });
      expect(stats.tailCalls).toBe(MAX_TAIL_CALLS);
      expect(r0).toBe(BigInt(MAX_TAIL_CALLS + 1));
    });

    it("moves into a program larger than any run before and back, registers intact", () => {
      // 400 slots of `add r0, 1` outgrow the VM's first code area; the helper must read r1 from the grown one.
      const big = loadProgram(assembleUbpf(`${"add %r0, 1\n".repeat(400)}mov %r1, %r6\ncall 7\nexit`));
      const small = loadProgram(
        assembleUbpf("mov %r6, 5\nmov %r0, 0\nlddw %r2, 0xabc\nmov %r3, 0\ncall 12\nexit"),
      );
      const seen: bigint[] = [];
      const vm = new Vm({ resolveTailCall: () => big }).registerHelper(7, (c) => {
        seen.push(c.arg(1));
        return c.arg(1) * 1000n;
      });
      const { r0, stats } = vm.run(small);
      expect(seen).toEqual([5n]);
      expect(r0).toBe(5000n);
      expect(stats.insns).toBe(5 + 403);
      // The same VM runs a small program correctly after the grow.
      expect(vm.run(loadProgram(assembleUbpf("mov %r0, 77\nexit"))).r0).toBe(77n);
    });

    it("falls through when the slot is empty", () => {
      const { vm, ctx, progs } = chain(false);
      progs.length = 5;
      const { r0, stats } = vm.run(progs[0] as Program, { args: [ctx.base] });
      expect(stats.tailCalls).toBe(4);
      expect(r0).toBe(5n);
    });
  });

  describe("budgets and statistics", () => {
    const forever = "mov %r0, 0\nloop:\nadd %r0, 1\nja loop\nexit";

    it("counts instructions exactly", () => {
      const { stats } = run("mov %r0, 0\nmov %r1, 10\nloop:\nadd %r0, 1\nsub %r1, 1\njne %r1, 0, loop\nexit");
      expect(stats.insns).toBe(2 + 30 + 1);
      expect(stats.wallNs).toBeGreaterThan(0);
    });

    it("stops a runaway program at the instruction budget", () => {
      const e = fault(() => run(forever, { maxInsns: 1000 }));
      expect(e.kind).toBe("budget");
      expect(e.stats?.insns).toBeGreaterThan(1000);
      expect(e.stats?.insns).toBeLessThan(1004);
    });

    it("stops a runaway program at the time limit", () => {
      const e = fault(() => run(forever, {}, { timeLimitMs: 20 }));
      expect(e.kind).toBe("time");
      expect(e.stats?.wallNs).toBeGreaterThanOrEqual(20e6);
    });
  });

  describe("legacy packet loads", () => {
    it("reads big-endian values and ends with 0 when out of bounds", () => {
      const vm = new Vm();
      const packet = vm.memory.map(new Uint8Array([0x12, 0x34, 0x56, 0x78, 0x9a]), {
        name: "skb",
        kind: "packet",
      });
      const abs = loadProgram([insn(0x28, 0, 0, 0, 1), exit]); // r0 = ntohs(*(u16 *)skb[1])
      expect(vm.run(abs, { packet }).r0).toBe(0x3456n);
      const ind = loadProgram([insn(0xb7, 1, 0, 0, 1), insn(0x48, 0, 1, 0, 1), exit]); // r0 = ntohs(skb[r1 + 1])
      expect(vm.run(ind, { packet }).r0).toBe(0x5678n);
      const oob = loadProgram([insn(0xb7, 0, 0, 0, 7), insn(0x20, 0, 0, 0, 4), insn(0xb7, 0, 0, 0, 9), exit]);
      expect(vm.run(oob, { packet }).r0).toBe(0n);
    });
  });

  describe("loading", () => {
    it("refuses what it cannot execute, naming the slot", () => {
      const cases: Array<[Instruction[], RegExp]> = [
        [[insn(0xff), exit], /insn 0 \(opcode 0xff\): unknown opcode/],
        [[insn(0x05, 0, 0, 5), exit], /jump out of range/],
        [[insn(0x05, 0, 0, 1), lddw(0, 1n), exit], /jump into the middle of the lddw at 1/],
        [[insn(0xb7, 10, 0, 0, 1), exit], /r10 \(the frame pointer\) is read only/],
        [[insn(0xbf, 0, 11), exit], /register r11 does not exist/],
        [[lddw(1, 3n, 1), exit], /lddw subtype 1 needs a resolver/],
      ];
      for (const [prog, message] of cases) {
        const e = fault(() => loadProgram(prog));
        expect(e.kind).toBe("load");
        expect(e.message).toMatch(message);
      }
    });

    it("resolves pseudo lddw values through the embedder", () => {
      const prog = loadProgram([lddw(0, 3n, 1), exit], {
        resolveLddw: (subtype, imm) => (subtype === 1 && imm === 3 ? 0xffff123400000000n : 0n),
      });
      expect(new Vm().run(prog).r0).toBe(0xffff123400000000n);
    });

    it("traces every instruction on request", () => {
      const slots: number[] = [];
      run("mov %r0, 1\nlddw %r1, 5\nja +0\nexit", { trace: (slot) => slots.push(slot) });
      expect(slots).toEqual([0, 1, 3, 4]);
    });
  });
});
