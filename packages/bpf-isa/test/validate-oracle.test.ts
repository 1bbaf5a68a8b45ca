import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { hasKernelOracle, hasTool, skipReason } from "../../../scripts/test-env.js";
import type { Instruction } from "../src/index.js";
import { encode, insn, lddw, printKernelInsn, slotIndices, validate } from "../src/index.js";

// `validate` against the running kernel: each case is a program with one bad encoding, written
// raw into an ELF object with llvm-mc (`.quad` slots in a `syscall` section) and loaded with
// bpftool; the first message the verifier reports must be validate()'s first message, and a case
// validate() accepts must load. Registers are initialised first so that no semantic error
// (`R1 !read_ok`) comes before the encoding check.

const init = Array.from({ length: 10 }, (_, r) => insn(0xb7, r));
const exit = insn(0x95);
const around = (...bad: Instruction[]) => [...init, ...bad, exit];

const CASES: Array<[string, Instruction[]]> = [
  ["unknown opcode", around(insn(0x8f, 1))],
  ["LD ABS DW", around(insn(0x38))],
  ["ALU64 END X (bswap from BE)", around(insn(0xdf, 1, 0, 0, 16))],
  ["callx", around(insn(0x8d, 1))],
  ["gotox", around(insn(0x0d, 1))],
  ["nospec", around(insn(0xc2))],
  ["JMP32 exit", around(insn(0x96))],
  ["JMP32 call", around(insn(0x86, 0, 0, 0, 7))],
  ["LDX MEMSX DW", around(insn(0x99, 1, 10, -8))],
  ["atomic B add", around(insn(0xd3, 10, 1, -8, 0x00))],
  ["atomic H xchg", around(insn(0xcb, 10, 1, -8, 0xe1))],
  ["atomic bad imm", around(insn(0xdb, 10, 1, -8, 0x02))],
  ["atomic bad imm with fetch", around(insn(0xdb, 10, 1, -8, 0x81))],
  ["ALU X with imm", around(insn(0x0f, 1, 2, 0, 1))],
  ["ALU K with src", around(insn(0x07, 1, 2, 0, 1))],
  ["ALU off 1 on add", around(insn(0x07, 1, 0, 1, 1))],
  ["MOV K with off", around(insn(0xb7, 1, 0, 1, 1))],
  ["MOV32 X movsx 32", around(insn(0xbc, 1, 2, 32))],
  ["MOV X with imm", around(insn(0xbf, 1, 2, 0, 5))],
  ["addr_space_cast bad imm", around(insn(0xbf, 1, 2, 1, 2))],
  ["NEG with imm", around(insn(0x87, 1, 0, 0, 1))],
  ["NEG X", around(insn(0x8c, 1, 2))],
  ["END bad width", around(insn(0xd4, 1, 0, 0, 8))],
  ["END with src", around(insn(0xdc, 1, 2, 0, 16))],
  ["LDX with imm", around(insn(0x79, 1, 10, -8, 1))],
  ["ST with src", around(insn(0x7a, 10, 1, -8, 1))],
  ["STX with imm", around(insn(0x7b, 10, 1, -8, 3))],
  ["lddw with off", around({ ...lddw(1, 5n), off: 1 })],
  ["lddw bad second slot", around({ ...lddw(1, 5n), nextReserved: { code: 0x01, dst: 0, src: 0, off: 0 } })],
  ["lddw unknown subtype", around(lddw(1, 5n, 7))],
  ["JA with imm", around(insn(0x05, 0, 0, 0, 1))],
  ["gotol with off", around(insn(0x06, 0, 0, 1, 0))],
  ["EXIT with imm", [...init, insn(0x95, 0, 0, 0, 1)]],
  ["JMP X with imm", around(insn(0x1d, 1, 2, 0, 1))],
  ["JMP K with src", around(insn(0x15, 1, 2, 0, 1))],
  ["may_goto with dst", around(insn(0xe5, 1, 0, 0))],
  ["may_goto with src", around(insn(0xe5, 0, 1, 0))],
  ["CALL with dst", around(insn(0x85, 1, 0, 0, 7))],
  ["CALL src 3", around(insn(0x85, 0, 3, 0, 7))],
  ["CALL helper with off", around(insn(0x85, 0, 0, 1, 7))],
  ["jump out of range", around(insn(0x05, 0, 0, 100))],
  ["jump backwards out of range", around(insn(0x05, 0, 0, -100))],
  ["jump into lddw", [...init, insn(0x15, 1, 0, 1), lddw(1, 5n), exit]],
  ["unreachable", [...init, insn(0x05, 0, 0, 1), lddw(1, 5n), exit]],
  ["unreachable after exit", [...init, exit, insn(0xb7, 0), exit]],
  ["last insn not exit", [...init]],
  ["div by zero", around(insn(0x37, 1, 0, 0, 0))],
  ["mod32 by zero", around(insn(0x94, 1, 0, 0, 0))],
  ["shift 64", around(insn(0x67, 1, 0, 0, 64))],
  ["shift32 32", around(insn(0x64, 1, 0, 0, 32))],
  ["arsh -1", around(insn(0xc7, 1, 0, 0, -1))],
  ["register 11", around(insn(0xb7, 11, 0, 0, 1))],
  ["source register 12", around(insn(0xbf, 1, 12))],
  ["accepted: may_goto +0", around(insn(0xe5))],
  [
    "accepted: load-acquire and store-release",
    [...init, insn(0x7b, 10, 1, -8), insn(0xd3, 2, 10, -8, 0x100), insn(0xdb, 10, 2, -8, 0x110), exit],
  ],
  [
    "accepted: sdiv/smod/movsx/bswap/gotol",
    around(
      insn(0x37, 1, 0, 1, -3),
      insn(0x9c, 1, 2, 1),
      insn(0xbc, 3, 2, 8),
      insn(0xd7, 3, 0, 0, 32),
      insn(0x06),
    ),
  ],
];

let printedLines = 0;
const work = mkdtempSync(join(tmpdir(), "bpfkit-validate-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Verdict {
  /** The verifier's first error line, undefined when the program loaded. */
  error: string | undefined;
  /** Every `idx: (xx) text` line of the log, state stripped. */
  printed: Array<[number, string]>;
}

/** Loads raw instructions through llvm-mc + bpftool and returns what the verifier said. */
function kernelVerdict(name: string, insns: Instruction[], section = "syscall"): Verdict {
  const bytes = encode(insns);
  const view = new DataView(bytes.buffer);
  const quads: string[] = [];
  for (let p = 0; p < bytes.length; p += 8)
    quads.push(`\t.quad 0x${view.getBigUint64(p, true).toString(16)}`);
  const asm = [
    `\t.section ${section},"ax",@progbits`,
    "\t.globl prog",
    "\t.type prog,@function",
    "prog:",
    ...quads,
    `\t.size prog, ${bytes.length}`,
    '\t.section license,"aw",@progbits',
    '\t.asciz "GPL"',
    "",
  ].join("\n");
  const base = join(work, name.replace(/\W+/g, "_"));
  writeFileSync(`${base}.s`, asm);
  const mc = spawnSync("llvm-mc-19", ["-triple", "bpfel", "-filetype=obj", `${base}.s`, "-o", `${base}.o`], {
    encoding: "utf8",
  });
  if (mc.status !== 0) throw new Error(`llvm-mc failed for ${name}: ${mc.stderr}`);
  const pin = `/sys/fs/bpf/bpfkit-validate-${process.pid}`;
  rmSync(pin, { force: true });
  const load = spawnSync("bpftool", ["-d", "prog", "load", `${base}.o`, pin], { encoding: "utf8" });
  rmSync(pin, { force: true });
  const log = /-- BEGIN PROG LOAD LOG --\n([\s\S]*?)-- END PROG LOAD LOG --/.exec(load.stderr)?.[1];
  if (log === undefined) {
    if (load.status === 0) return { error: undefined, printed: [] };
    return { error: `no verifier log: ${load.stderr.split("\n").slice(-6).join(" | ")}`, printed: [] };
  }
  const printed: Array<[number, string]> = [];
  for (const m of log.matchAll(/^ *(\d+): (?:[.0-9]{10} )?(\([0-9a-f]{2}\) .*?)(?: {2,}; .*)?$/gm))
    printed.push([Number(m[1]), m[2] as string]);
  if (load.status === 0) return { error: undefined, printed };
  const message = log
    .split("\n")
    .find(
      (l) =>
        l !== "" &&
        !/^(func#|Live regs|verification time|stack depth|processed |from |mark_precise|; )/.test(l) &&
        !/^\s*\d+: /.test(l),
    );
  return { error: message ?? "rejected without a message", printed };
}

describe.skipIf(
  skipReason("validate() against the live kernel", [
    [hasKernelOracle(), "needs root, bpftool and /sys/kernel/btf/vmlinux"],
    [hasTool("llvm-mc-19"), "llvm-mc-19 not installed"],
  ]),
)("validate() against the live kernel", () => {
  it.each(CASES)("%s", (name, insns) => {
    const ours = validate(insns)[0];
    const kernel = kernelVerdict(name, insns);
    expect(ours?.message, `kernel said: ${kernel.error}`).toBe(kernel.error);
    // The verifier prints each instruction it reaches, malformed ones included: so must we.
    const bySlot = new Map(slotIndices(insns).map((slot, i) => [slot, insns[i] as Instruction]));
    for (const [slot, text] of kernel.printed)
      expect(printKernelInsn(bySlot.get(slot) as Instruction), `slot ${slot}`).toBe(text);
    printedLines += kernel.printed.length;
    // A field check in do_check follows the print of the offending instruction (slot 10 here);
    // the LDX check runs in an earlier whole-program pass, before anything is printed.
    const inDoCheck = kernel.error?.includes("uses reserved fields") && !kernel.error.startsWith("BPF_LDX");
    if (inDoCheck && insns.length > 11) expect(kernel.printed.map(([slot]) => slot)).toContain(10);
  });

  it("prints legacy packet loads like the kernel (socket filter)", () => {
    const program = [
      insn(0xbf, 6, 1),
      insn(0x30, 0, 0, 0, 12),
      insn(0x28, 0, 0, 0, 14),
      insn(0x20, 0, 0, 0, -2),
      insn(0xb7, 7, 0, 0, 2),
      insn(0x50, 0, 7, 0, 3),
      insn(0x48, 0, 7, 0, -1),
      insn(0x40, 0, 7, 0, 0x7fffffff),
      exit,
    ];
    const kernel = kernelVerdict("ld_abs", program, "socket");
    expect(validate(program)[0]?.message, `kernel said: ${kernel.error}`).toBe(kernel.error);
    expect(kernel.printed.length).toBeGreaterThanOrEqual(program.length);
    for (const [slot, text] of kernel.printed)
      expect(printKernelInsn(program[slot] as Instruction)).toBe(text);
  });

  it("compared the instruction lines of every log", () => {
    console.log(
      `validate oracle: ${CASES.length} programs, ${printedLines} kernel instruction lines reprinted`,
    );
    expect(printedLines).toBeGreaterThan(CASES.length * 10);
  });
});
