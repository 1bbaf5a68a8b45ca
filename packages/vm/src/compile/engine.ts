import type { Program } from "../program.js";
import { divmod64 } from "../slow-ops.js";
import { CHUNK_SLOTS, chunkStarts, compileChunk, type ProgramScan, scanProgram } from "./codegen.js";
import { type CompiledFn, DONE, ENTRY, type EngineHost } from "./host.js";

/** What the generated source reaches outside its own body. */
const lib = {
  divmod64,
  hex64: (hi: number, lo: number) => ((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0)).toString(16),
};

/** A program's chunks, each compiled on first use. */
interface Compiled {
  size: number;
  scan: ProgramScan;
  starts: number[];
  /** Chunk index of every slot (and of the sentinel slot past the end). */
  chunkOf: Int32Array;
  fns: (CompiledFn | undefined)[];
  leaders: (Set<number> | undefined)[];
  /** Entries a chunk was asked for beyond those it found itself (callx into the middle of code). */
  extra: number[][];
}

// Compiled code depends on the program only (the VM comes in as the host argument), so every VM
// shares one translation per program.
const cache = new WeakMap<Program, Compiled>();
let chunkSlots = CHUNK_SLOTS;

/** @internal Tests set a tiny chunk size so that every path between chunks runs. */
export function setChunkSlots(size: number): void {
  chunkSlots = size;
}

/** Whether `program` has been translated (by any VM). */
export function isCompiled(program: Program): boolean {
  return cache.get(program)?.fns.some((fn) => fn !== undefined) ?? false;
}

function compiledOf(program: Program): Compiled {
  let c = cache.get(program);
  if (c !== undefined && c.size === chunkSlots) return c;
  const scan = scanProgram(program);
  const starts = chunkStarts(scan, chunkSlots);
  const chunkOf = new Int32Array(program.slots + 1);
  for (let k = 0; k < starts.length; k++) chunkOf.fill(k, starts[k] as number);
  c = { size: chunkSlots, scan, starts, chunkOf, fns: [], leaders: [], extra: starts.map(() => []) };
  cache.set(program, c);
  return c;
}

/** The function of the chunk holding `pc`, compiled (again, with `pc` as an entry) when needed. */
function chunkFor(c: Compiled, program: Program, pc: number): CompiledFn {
  const k = c.chunkOf[pc] as number;
  const fn = c.fns[k];
  if (fn !== undefined && (c.leaders[k] as Set<number>).has(pc)) return fn;
  const extra = c.extra[k] as number[];
  if (!extra.includes(pc)) extra.push(pc);
  const start = c.starts[k] as number;
  const chunk = compileChunk(program, start, c.starts[k + 1] ?? program.slots, extra, c.scan);
  if (!chunk.leaders.has(pc) && pc < program.slots)
    throw new Error(`compiled engine: slot ${pc} is no instruction start`);
  const compiled = new Function("lib", chunk.source)(lib) as CompiledFn;
  c.fns[k] = compiled;
  c.leaders[k] = chunk.leaders;
  return compiled;
}

/**
 * Translates every chunk of `program` into JavaScript with `new Function` (runs do this lazily,
 * chunk by chunk). Pages whose Content-Security-Policy forbids `unsafe-eval` cannot: use the
 * interpreter.
 */
export function compileProgram(program: Program): void {
  const c = compiledOf(program);
  for (const start of c.starts) chunkFor(c, program, start);
}

/**
 * Runs `program` from `startSlot` in frame `baseDepth` until that frame exits, like the
 * interpreter's loop: one compiled function per chunk of a program, switching when execution
 * leaves the chunk, or moves into another program by a tail call or a return into a caller.
 */
export function runCompiled(host: EngineHost, program: Program, startSlot: number, baseDepth: number): void {
  let prog = program;
  let pc = startSlot;
  let depth = baseDepth;
  let c = compiledOf(prog);
  host.load();
  for (;;) {
    const status = chunkFor(c, prog, pc)(host, prog, pc, depth, baseDepth);
    if (status === DONE) {
      host.commit();
      return;
    }
    pc = host.pc;
    depth = host.depth;
    if (status === ENTRY) continue;
    prog = host.next as Program;
    host.next = undefined;
    c = compiledOf(prog);
  }
}
