import type { RegisterCommand } from "../context.js";
import { registerAsm } from "./asm.js";
import { registerBtf } from "./btf.js";
import { registerDisasm } from "./disasm.js";
import { registerLab } from "./lab.js";
import { registerMm } from "./mm.js";
import { registerObject } from "./object.js";
import { registerPlugin } from "./plugin.js";
import { registerRun } from "./run.js";
import { registerVmas } from "./vmas.js";

/** Every command, in the order `bpfkit --help` lists them. */
export const commands: RegisterCommand[] = [
  registerDisasm,
  registerAsm,
  registerBtf,
  registerLab,
  registerMm,
  registerObject,
  registerPlugin,
  registerRun,
  registerVmas,
];
