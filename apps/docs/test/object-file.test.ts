import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hasTool, repoRoot, skipReason } from "../../../scripts/test-env.js";
import { inspectObject } from "../playground/object-file.js";
import { session } from "../playground/session.js";

const fixture = (name: string) => join(repoRoot, "fixtures", "bpf", name);
const read = (name: string) => new Uint8Array(readFileSync(fixture(name)));

/** mix() of fixtures/bpf/isa-alu.bpf.c, in bigint arithmetic. */
function mix(a: bigint, b: bigint): bigint {
  const M = (1n << 64n) - 1n;
  let x = (a * 0x9e3779b97f4a7c15n) & M;
  x ^= x >> 29n;
  x = (x + (b << 7n)) & M;
  x = (x - b / 3n) & M;
  x |= b % 7n;
  x &= ~0xffn & M;
  return (x + (a >> 3n) - (BigInt.asIntN(64, a) >> 5n)) & M;
}

describe("a dropped .o", () => {
  it("lists functions with their type and relocations", () => {
    const summary = inspectObject(read("isa-alu.bpf.o"), "isa-alu.bpf.o");
    expect(summary.openError).toBeUndefined();
    const byName = new Map(summary.functions.map((f) => [f.name, f]));
    expect(byName.get("mix")).toMatchObject({ section: ".text", type: "subprogram", relocations: 0 });
    expect(byName.get("isa_alu")).toMatchObject({ section: "syscall", type: "syscall" });
    expect(byName.get("isa_alu")?.relocations).toBeGreaterThan(0);
    expect(byName.get("isa_alu")?.editorSource).toBeUndefined();
  });

  it("opens a stand-alone function in the editor, and it runs as the C says", () => {
    const mixFn = inspectObject(read("isa-alu.bpf.o"), "isa-alu.bpf.o").functions.find(
      (f) => f.name === "mix",
    );
    const source = mixFn?.editorSource;
    if (source === undefined) throw new Error("mix has no editor source");
    const result = session(source, "llvm", "01 02 03 04 05 06 07");
    expect(result.error).toBeUndefined();
    expect(result.run?.r0).toBe(mix(result.run?.memoryAddress ?? 0n, 7n));
  });

  it("still shows the listing of an object libbpf would refuse to open", () => {
    const summary = inspectObject(read("subprogs.bpf.o"), "subprogs.bpf.o");
    expect(summary.openError).toMatch(/static and not supported/);
    expect(summary.llvm).toContain("<global_add>:");
    expect(summary.kernel).toMatch(/\tcall pc[-+]\d+\n/);
  });

  describe.skipIf(
    skipReason("the objdump listing check", [[hasTool("llvm-objdump-19"), "llvm-objdump-19 not installed"]]),
  )("against llvm-objdump-19", () => {
    it("prints the listing llvm-objdump-19 -d -r prints", () => {
      const path = fixture("example.bpf.o");
      const expected = execFileSync("llvm-objdump-19", ["-d", "-r", path], { encoding: "latin1" });
      expect(inspectObject(read("example.bpf.o"), path).llvm).toBe(expected);
    });
  });
});
