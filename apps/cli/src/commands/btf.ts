import { readFile } from "node:fs/promises";
import type { Btf } from "@bpfkit/btf";
import { BtfError, dumpC, dumpRaw, findElfSection, isElf, parseBtf } from "@bpfkit/btf";
import type { CliContext, RegisterCommand } from "../context.js";
import { ExitCode } from "../context.js";

const USAGE = "usage: bpfkit btf dump file FILE [base BASE] [format raw|c] [root_id ID]... [--sort]";

interface DumpArgs {
  file: string;
  base: string | undefined;
  format: "raw" | "c";
  rootIds: number[];
}

/** Parses bpftool's keyword syntax: `file F [base B] [format raw|c] [root_id N]...`. */
function parseDumpArgs(words: string[]): DumpArgs | string {
  let file: string | undefined;
  let base: string | undefined;
  let format: "raw" | "c" = "raw";
  const rootIds: number[] = [];
  for (let i = 0; i < words.length; i += 2) {
    const key = words[i]!;
    const value = words[i + 1];
    if (value === undefined) return `missing value after '${key}'`;
    switch (key) {
      case "file":
        file = value;
        break;
      case "base":
        base = value;
        break;
      case "format":
        if (value !== "raw" && value !== "c") return `unknown format '${value}' (expected raw or c)`;
        format = value;
        break;
      case "root_id": {
        const id = Number(value);
        if (!Number.isInteger(id) || id <= 0) return `bad root_id '${value}'`;
        rootIds.push(id);
        break;
      }
      default:
        return `unexpected argument '${key}'`;
    }
  }
  if (file === undefined) return "missing 'file FILE'";
  if (rootIds.length > 0 && format !== "c") return "root_id needs format c";
  return { file, base, format, rootIds };
}

/** Reads BTF from a raw blob (e.g. /sys/kernel/btf/vmlinux) or the .BTF section of an ELF object. */
async function loadBtf(path: string, base?: Btf): Promise<Btf> {
  const bytes = new Uint8Array(await readFile(path));
  let blob: Uint8Array = bytes;
  if (isElf(bytes)) {
    const section = findElfSection(bytes, ".BTF");
    if (!section) throw new BtfError(`${path}: ELF file has no .BTF section`, -1, "elf");
    blob = section;
  }
  try {
    return parseBtf(blob, base ? { base } : {});
  } catch (error) {
    if (error instanceof BtfError) throw new BtfError(`${path}: ${error.reason}`, error.offset, error.kind);
    throw error;
  }
}

async function runDump(words: string[], sort: boolean, context: CliContext): Promise<void> {
  const args = parseDumpArgs(words);
  if (typeof args === "string") {
    context.io.err(`error: ${args}\n${USAGE}\n`);
    context.exitCode = ExitCode.badInput;
    return;
  }
  const base = args.base ? await loadBtf(args.base) : undefined;
  const btf = await loadBtf(args.file, base);
  for (const id of args.rootIds) {
    if (id >= btf.length)
      throw new BtfError(`${args.file}: root_id ${id} out of range (max ${btf.length - 1})`, -1, "type");
  }
  if (sort && args.format !== "c") {
    context.io.err(`error: --sort needs format c\n${USAGE}\n`);
    context.exitCode = ExitCode.badInput;
    return;
  }
  context.io.out(args.format === "c" ? dumpC(btf, { rootIds: args.rootIds, sort }) : dumpRaw(btf));
}

/** `bpfkit btf dump file F [base B] [format raw|c]`: byte-identical to bpftool's dumps. */
export const registerBtf: RegisterCommand = (program, context) => {
  const btf = program.command("btf").description("inspect BTF (bpftool-compatible dumps)");
  btf
    .command("dump")
    .description("dump BTF like `bpftool btf dump`: file FILE [base BASE] [format raw|c] [root_id ID]")
    .argument("<words...>", "bpftool-style keywords and values")
    .option("--sort", "upstream bpftool 7.6+ layout: sorted types, kfunc prototypes, enum mode attributes")
    .action(async (words: string[], options: { sort?: boolean }) =>
      runDump(words, options.sort ?? false, context),
    );
};
