import { readFile, writeFile } from "node:fs/promises";
import type { Instruction } from "@bpfkit/bpf-isa";
import { assembleUbpf, encode, parseConformanceData, parseLlvm } from "@bpfkit/bpf-isa";
import { Option } from "commander";
import type { RegisterCommand } from "../context.js";
import { withFile } from "./disasm.js";

/** `bpfkit asm FILE -o OUT`: assembles uBPF or LLVM syntax into raw little-endian instruction slots. */
export const registerAsm: RegisterCommand = (program, context) => {
  program
    .command("asm")
    .description("assemble BPF assembly into raw little-endian instructions")
    .argument("<file>", "assembly text; a bpf_conformance .data file assembles its -- asm section")
    .addOption(new Option("--syntax <syntax>", "input syntax").choices(["ubpf", "llvm"]).default("ubpf"))
    .requiredOption("-o, --output <out>", "where to write the instruction bytes")
    .action(async (file: string, options: { syntax: "ubpf" | "llvm"; output: string }) => {
      const source = await readFile(file, "latin1");
      const insns: Instruction[] = withFile(file, () => {
        if (options.syntax === "llvm") return parseLlvm(source);
        if (/^--.*\basm\b/m.test(source)) {
          const data = parseConformanceData(source);
          return assembleUbpf(data.asm ?? "", { firstLine: data.asmLine });
        }
        return assembleUbpf(source);
      });
      const bytes = encode(insns);
      await writeFile(options.output, bytes);
      context.io.err(`${options.output}: ${bytes.length / 8} slots\n`);
    });
};
