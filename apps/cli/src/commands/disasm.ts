import { readFile } from "node:fs/promises";
import type { Instruction } from "@bpfkit/bpf-isa";
import { BpfIsaError, decode, disassembleUbpf, encode, printKernel, printLlvm } from "@bpfkit/bpf-isa";
import { Option } from "commander";
import type { RegisterCommand } from "../context.js";

type Syntax = "kernel" | "llvm" | "ubpf";

/** `bpfkit disasm FILE`: raw instruction bytes in any of the three syntaxes; ELF objects go to @bpfkit/object. */
export const registerDisasm: RegisterCommand = (program, context) => {
  program
    .command("disasm")
    .description("disassemble raw BPF instructions (little-endian slots) or an ELF object")
    .argument("<file>", "raw instruction bytes (.bin or any non-ELF file) or a BPF ELF object")
    .addOption(
      new Option("--syntax <syntax>", "output syntax").choices(["kernel", "llvm", "ubpf"]).default("kernel"),
    )
    .action(async (file: string, options: { syntax: Syntax }) => {
      const bytes = new Uint8Array(await readFile(file));
      if (isElf(bytes)) {
        context.io.out(await disassembleElf(bytes, file, options.syntax));
        return;
      }
      const insns = withFile(file, () => decode(bytes));
      context.io.out(formatRaw(insns, options.syntax));
    });
};

function isElf(bytes: Uint8Array): boolean {
  return bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
}

type DisassembleObject = (
  bytes: Uint8Array,
  options: { syntax: Syntax; fileName?: string },
) => string | Promise<string>;

async function disassembleElf(bytes: Uint8Array, file: string, syntax: Syntax): Promise<string> {
  // The ELF path belongs to @bpfkit/object; look it up at run time so raw files work without it.
  let found: unknown;
  try {
    const mod = (await import("@bpfkit/object")) as Record<string, unknown>;
    found = mod.disassembleObject;
  } catch {
    found = undefined;
  }
  if (typeof found !== "function") {
    throw new BpfIsaError(
      `${file}: is an ELF object, and ELF disassembly (@bpfkit/object disassembleObject) is not available`,
      {
        kind: "invalid",
      },
    );
  }
  try {
    // With the file name the listing carries objdump's header too: `--syntax llvm` is then
    // byte-identical to `llvm-objdump-19 -d -r FILE`.
    return await (found as DisassembleObject)(bytes, { syntax, fileName: file });
  } catch (error) {
    // Keep the object reader's error class and fields, but say which file it was about.
    if (error instanceof Error && (error as { isInputError?: boolean }).isInputError === true)
      error.message = `${file}: ${error.message}`;
    throw error;
  }
}

function formatRaw(insns: Instruction[], syntax: Syntax): string {
  if (syntax === "kernel") return printKernel(insns);
  if (syntax === "ubpf") return disassembleUbpf(insns);
  // llvm-objdump's line: slot index right-aligned to 8, the slot bytes, the text.
  const bytes = encode(insns);
  let out = "";
  let slot = 0;
  for (const insn of insns) {
    const width = insn.code === 0x18 ? 2 : 1;
    const raw = [...bytes.subarray(slot * 8, (slot + width) * 8)].map((b) => b.toString(16).padStart(2, "0"));
    out += `${String(slot).padStart(8)}:\t${raw.join(" ")}\t${printLlvm(insn) ?? "<unknown>"}\n`;
    slot += width;
  }
  return out;
}

/** Re-raises bpf-isa errors with the file name in front, so the one-line error says where. */
export function withFile<T>(file: string, run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof BpfIsaError) {
      const fields: { kind: BpfIsaError["kind"]; offset?: number; line?: number; insn?: number } = {
        kind: error.kind,
      };
      if (error.offset !== undefined) fields.offset = error.offset;
      if (error.line !== undefined) fields.line = error.line;
      if (error.insn !== undefined) fields.insn = error.insn;
      throw new BpfIsaError(`${file}: ${error.message}`, fields);
    }
    throw error;
  }
}
