import type { Program } from "../program.js";
import { divmod64 } from "../slow-ops.js";
import { compileToSource } from "./codegen.js";
import { type CompiledFn, DONE, ENTRY, type EngineHost } from "./host.js";

/** What the generated source reaches outside its own body. */
const lib = {
  divmod64,
  hex64: (hi: number, lo: number) => ((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0)).toString(16),
};

interface Compiled {
  fn: CompiledFn;
  /** Slots this compilation can be entered at, besides those it found itself. */
  entries: number[];
}

// Compiled code depends on the program only (the VM comes in as the host argument), so every VM
// shares one translation per program.
const cache = new WeakMap<Program, Compiled>();

/**
 * Translates `program` into a JavaScript function with `new Function`, or returns the cached one.
 * Pages whose Content-Security-Policy forbids `unsafe-eval` cannot do this: use the interpreter.
 */
export function compileProgram(program: Program, extraEntry?: number): Compiled {
  let c = cache.get(program);
  if (c !== undefined && extraEntry === undefined) return c;
  const entries = c === undefined ? [] : [...c.entries];
  if (extraEntry !== undefined) entries.push(extraEntry);
  const source = compileToSource(program, entries);
  const fn = new Function("lib", source)(lib) as CompiledFn;
  c = { fn, entries };
  cache.set(program, c);
  return c;
}

/**
 * Runs `program` from `startSlot` in frame `baseDepth` until that frame exits, like the
 * interpreter's loop: one compiled function per program, switching when a tail call or a return
 * into a caller moves execution into another program.
 */
export function runCompiled(host: EngineHost, program: Program, startSlot: number, baseDepth: number): void {
  let prog = program;
  let pc = startSlot;
  let depth = baseDepth;
  let compiled = compileProgram(prog);
  host.load();
  for (;;) {
    const status = compiled.fn(host, prog, pc, depth, baseDepth);
    if (status === DONE) {
      host.commit();
      return;
    }
    pc = host.pc;
    depth = host.depth;
    if (status === ENTRY) {
      if (compiled.entries.includes(pc))
        throw new Error(`compiled engine: slot ${pc} is no instruction start`);
      compiled = compileProgram(prog, pc);
      continue;
    }
    prog = host.next as Program;
    host.next = undefined;
    compiled = compileProgram(prog);
  }
}
