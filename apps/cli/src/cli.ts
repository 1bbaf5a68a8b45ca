import { Command, CommanderError } from "commander";
import pc from "picocolors";
import { commands } from "./commands/index.js";
import type { CliContext, CliIo } from "./context.js";
import { ExitCode } from "./context.js";

const processIo: CliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

export function createProgram(context: CliContext): Command {
  const program = new Command("bpfkit")
    .description("Load, verify, run and study eBPF programs without root or a kernel.")
    .exitOverride()
    .configureOutput({ writeOut: context.io.out, writeErr: context.io.err });
  for (const register of commands) register(program, context);
  return program;
}

/** Runs the CLI and returns its exit code; bad input gives one line on stderr and 2, never a throw. */
export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  const context: CliContext = { io, exitCode: ExitCode.ok };
  try {
    await createProgram(context).parseAsync(argv, { from: "user" });
    return context.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.ok : ExitCode.badInput;
    if (isInputError(error)) {
      io.err(`${pc.red("error:")} ${(error as Error).message}\n`);
      return ExitCode.badInput;
    }
    throw error;
  }
}

/** Bad input rather than a bug: every package's error class carries `isInputError`, and so do file errors. */
function isInputError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if ((error as { isInputError?: boolean }).isInputError === true) return true;
  const code = (error as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "EACCES" || code === "EISDIR" || code === "ENOTDIR";
}

export type { CliContext, CliIo } from "./context.js";
export { ExitCode } from "./context.js";
