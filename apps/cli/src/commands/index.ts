import type { RegisterCommand } from "../context.js";

/** Every command, in the order `bpfkit --help` lists them. */
export const commands: RegisterCommand[] = [];
