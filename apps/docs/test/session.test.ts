import { describe, expect, it } from "vitest";
import { EXAMPLES } from "../playground/examples.js";
import { formatValue, parseHex } from "../playground/hex.js";
import { assemble, REGISTER_COUNT, run, session } from "../playground/session.js";
import { readShareHash, shareHash } from "../playground/share.js";

function example(id: string) {
  const found = EXAMPLES.find((e) => e.id === id);
  if (!found) throw new Error(`no example ${id}`);
  return found;
}

function bytesOf(hex: string): Uint8Array {
  const parsed = parseHex(hex);
  if ("error" in parsed) throw new Error(parsed.error);
  return parsed.bytes;
}

/** FNV-1a, 32 bits, computed here independently of the VM. */
function fnv1a(bytes: Uint8Array): bigint {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return BigInt(h);
}

describe("playground session", () => {
  it("runs every example to an r0 or a fault, never an input error", () => {
    for (const e of EXAMPLES) {
      const result = session(e.source, e.syntax, e.memory);
      expect(result.error, e.id).toBeUndefined();
      expect(result.run?.r0 !== undefined || result.run?.fault !== undefined, e.id).toBe(true);
    }
  });

  it("hashes the buffer with FNV-1a, for any buffer", () => {
    const e = example("fnv");
    for (const hex of [e.memory, "", "00", "ff fe fd fc fb fa f9 f8 f7 f6 f5 f4 f3 f2 f1 f0 ef"]) {
      const result = session(e.source, e.syntax, hex);
      expect(result.run?.fault).toBeUndefined();
      expect(result.run?.r0, hex).toBe(fnv1a(bytesOf(hex)));
    }
  });

  it("traces every instruction, and replaying the changes gives the final registers", () => {
    const result = session(example("loop").source, "ubpf", "");
    const out = result.run;
    if (!out) throw new Error(result.error);
    expect(out.r0).toBe(55n);
    expect(out.trace.length).toBe(out.stats?.insns);
    expect(out.trace.map((r) => r.step)).toEqual(out.trace.map((_, i) => i + 1));
    // r1 and r2 start as the buffer pointer and length; r10 as the frame pointer.
    const regs: bigint[] = [0n, out.memoryAddress, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n];
    regs.push(out.registers[10] as bigint);
    for (const row of out.trace)
      for (const c of row.changes) {
        expect(c.before).toBe(regs[c.reg]);
        regs[c.reg] = c.after;
      }
    expect(regs).toEqual(out.registers);
    expect(out.registers.length).toBe(REGISTER_COUNT);
    // The backward jump: slots 2..4 run ten times.
    expect(out.trace.filter((r) => r.slot === 2).length).toBe(10);
  });

  it("reports the out-of-bounds read with its instruction, address, size and region", () => {
    const e = example("oob");
    const out = session(e.source, e.syntax, e.memory).run;
    expect(out?.r0).toBeUndefined();
    expect(out?.fault).toMatchObject({ kind: "access", slot: 2, size: 8, region: "mem", access: "read" });
    expect(out?.fault?.address).toBe((out?.memoryAddress ?? 0n) + 4n);
    expect(out?.fault?.message).toContain('region "mem"');
    expect(out?.trace.at(-1)).toMatchObject({ slot: 2, faulted: true, changes: [] });
    expect(out?.stats?.insns).toBe(3);
    // With a 12-byte buffer the same read is in bounds and returns bytes 4..11.
    const ok = session(e.source, e.syntax, "00 00 00 00 01 02 03 04 05 06 07 08").run;
    expect(ok?.r0).toBe(0x0807060504030201n);
  });

  it("follows a bpf-to-bpf call into the callee and back", () => {
    const out = session(example("call").source, "ubpf", "").run;
    expect(out?.r0).toBe(21n);
    expect(out?.stats?.localCalls).toBe(1);
    expect(out?.stats?.maxFrames).toBe(2);
    const inside = out?.trace.filter((r) => r.depth === 1) ?? [];
    expect(inside.map((r) => r.slot)).toEqual([9, 10, 11, 12, 13, 14, 15]);
    expect(out?.registers[6]).toBe(6n);
  });

  it("runs LLVM syntax", () => {
    const e = example("llvm");
    expect(session(e.source, "llvm", e.memory).run?.r0).toBe(0x11n);
  });

  it("shows bytes, LLVM and kernel text per slot, and reads its own LLVM listing back", () => {
    const listing = assemble("lddw %r0, 0x1122334455667788\nmov %r1, -1\njne %r1, 0, +1\nexit\nexit", "ubpf");
    expect(listing.rows.map((r) => r.slot)).toEqual([0, 2, 3, 4, 5]);
    expect(listing.rows[0]?.hex).toBe("18 00 00 00 88 77 66 55 00 00 00 00 44 33 22 11");
    expect(listing.rows[0]?.llvm).toBe("r0 = 0x1122334455667788 ll");
    expect(listing.rows[1]?.kernel).toBe("(b7) r1 = -1");
    expect(listing.kernelText.split("\n")[2]).toBe("3: (55) if r1 != 0x0 goto pc+1");
    expect(listing.bytes.length).toBe(48);
    expect(assemble(listing.llvmText, "llvm").bytes).toEqual(listing.bytes);
    expect(listing.issues).toEqual([]);
  });

  it("says which line and syntax an assembler error is on", () => {
    expect(session("mov %r0, 1\nfrob %r0\nexit", "ubpf", "").error).toMatch(
      /^uBPF syntax \(line 2\): .*frob/,
    );
    expect(session("r0 = 1\nr0 = = 2\nexit", "llvm", "").error).toMatch(/^LLVM syntax \(line 2\)/);
    expect(session("", "ubpf", "").error).toMatch(/empty/);
    expect(session("exit", "ubpf", "zz").error).toMatch(/memory line 1: "zz"/);
  });

  it("refuses a program the VM cannot load and flags it like the kernel would", () => {
    const listing = assemble("ja +5\nexit", "ubpf");
    expect(listing.issues[0]?.slot).toBe(0);
    const out = run(listing, new Uint8Array());
    expect(out.fault).toMatchObject({ kind: "load", slot: 0 });
    expect(out.trace).toEqual([]);
  });

  it("stops an endless loop at the budget and keeps only the first rows of the trace", () => {
    const out = run(assemble("l:\nadd %r0, 1\nja l", "ubpf"), new Uint8Array(), {
      maxInsns: 1000,
      traceLimit: 100,
    });
    expect(out.fault?.kind).toBe("budget");
    expect(out.trace.length).toBe(100);
    expect(out.traceTruncated).toBe(true);
    expect(out.trace[99]?.changes).toEqual([]);
    expect(out.trace[98]?.changes).toEqual([{ reg: 0, before: 49n, after: 50n }]);
  });

  it("leaves the written buffer in memoryAfter and the input untouched", () => {
    const input = bytesOf("01 02 03 04");
    const out = run(assemble("stw [%r1+0], 0x0a0b0c0d\nmov %r0, %r2\nexit", "ubpf"), input);
    expect(out.r0).toBe(4n);
    expect([...out.memoryAfter]).toEqual([0x0d, 0x0c, 0x0b, 0x0a]);
    expect([...input]).toEqual([1, 2, 3, 4]);
  });
});

describe("hex input", () => {
  it("reads pairs, runs, 0x prefixes and comments", () => {
    expect([...bytesOf("0x01 02,03\n0405 # six\n06")]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(parseHex("abc")).toEqual({
      error: 'memory line 1: "abc" is not hex bytes (two hex digits per byte)',
    });
  });

  it("formats register values in hex with the decimal alongside", () => {
    expect(formatValue(5n)).toBe("0x5");
    expect(formatValue(55n)).toBe("0x37 (55)");
    expect(formatValue(0xffffffffffffffffn)).toBe("0xffffffffffffffff (-1)");
    expect(formatValue(0xffff000800000004n)).toBe("0xffff000800000004");
    expect(formatValue(0xffffffffn)).toBe("0xffffffff (4294967295)");
  });
});

describe("share links", () => {
  it("round-trips a program, any text included", () => {
    const program = { syntax: "llvm" as const, source: "r0 = 1 // é ✓ \u{1f600}\nexit\n", memory: "de ad" };
    const hash = shareHash(program);
    expect(hash).toMatch(/^#v1\.[A-Za-z0-9_-]+$/);
    expect(readShareHash(hash)).toEqual(program);
  });

  it("ignores fragments it did not make", () => {
    expect(readShareHash("")).toBeUndefined();
    expect(readShareHash("#trace")).toBeUndefined();
    expect(readShareHash("#v1.!!!")).toBeUndefined();
    expect(readShareHash(`#v1.${btoa(JSON.stringify({ y: "x86", s: "", m: "" }))}`)).toBeUndefined();
  });
});
