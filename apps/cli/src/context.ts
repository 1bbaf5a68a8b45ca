import type { Command } from "commander";

/** Where a command writes; tests pass their own to capture output without a child process. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

/** Exit codes of the contract in the README: 0 success, 1 a negative verdict, 2 bad input. */
export const ExitCode = { ok: 0, negative: 1, badInput: 2 } as const;

export interface CliContext {
  io: CliIo;
  exitCode: number;
}

/** Each file in commands/ adds one command to the program. */
export type RegisterCommand = (program: Command, context: CliContext) => void;
