import type { Instruction } from "@bpfkit/bpf-isa";
import { printKernelInsn } from "@bpfkit/bpf-isa";
import { CODE_HI } from "../memory.js";
import { Op } from "../ops.js";
import { type Program, SLOT_WORDS } from "../program.js";
import { DONE, ENTRY, SWITCH } from "./host.js";

// Translates a pre-decoded program into the body of a JavaScript function that does exactly what
// the interpreter loop in vm.ts does, instruction for instruction: registers live in locals
// (`r3l`/`r3h`, the int32 lo and hi words of r3), every slot that can be jumped to, returned to or
// entered is a `case` of a `switch (pc)` inside a loop, and straight-line code falls through from
// one case to the next. Anything that leaves the function or calls out first stores the locals back
// into the VM's register words, so helpers, frames and faults see the same machine state as under
// the interpreter.
//
// Instruction counting: the interpreter increments `n` before each instruction. Here each
// straight-line segment adds its length once at its start, and a fault in the middle of a segment
// reports `n` minus the instructions of the segment that did not run, so counts stay exact. `lim`
// is kept as an int32 (rounded up, which `n >= lim` cannot tell apart for an integer `n`), so the
// counter and the check stay in integer registers.

const HI_BIAS = 65536; // -(REGION_HI_BASE | 0): (hi + HI_BIAS) >>> 0 is the region index
const CODE_HI_I32 = CODE_HI | 0;

/** One decoded slot of the pre-decoded code. */
interface Slot {
  slot: number;
  op: number;
  /** Register numbers (not word indices). */
  d: number;
  s: number;
  w1: number;
  imm: number;
  immHi: number;
}

function slotAt(code: Int32Array, slot: number): Slot {
  const p = slot * SLOT_WORDS;
  const w = code[p] as number;
  return {
    slot,
    op: w & 0xff,
    d: ((w >>> 8) & 0xff) >> 1,
    s: (w >>> 16) >> 1,
    w1: code[p + 1] as number,
    imm: code[p + 2] as number,
    immHi: code[p + 3] as number,
  };
}

const isJump = (op: number) => op >= Op.JA && op <= Op.MAY_GOTO;
const isCall = (op: number) => op >= Op.CALL_HELPER && op <= Op.CALLX;
/** Instructions after which the instruction count must be exact: they can leave the function or jump. */
const endsSegment = (op: number) =>
  isJump(op) || isCall(op) || op === Op.EXIT || op === Op.LD_ABS || op === Op.LD_IND;

/** The instruction starts of a program, in order (an `lddw` covers two slots). */
function instructionSlots(program: Program): Slot[] {
  const out: Slot[] = [];
  for (let slot = 0; slot < program.slots; ) {
    const s = slotAt(program.code, slot);
    out.push(s);
    slot += s.op === Op.LDDW ? 2 : 1;
  }
  return out;
}

/** Registers an instruction names (the loader already mapped them into the pre-decoded words). */
function registersOf(s: Slot): number[] {
  const op = s.op;
  if (op === Op.NOP || op === Op.JA || op === Op.MAY_GOTO || op === Op.EXIT) return [];
  if (op === Op.CALL_HELPER || op === Op.CALL_LOCAL || op === Op.CALL_KFUNC || op === Op.LD_ABS) return [];
  if (op === Op.CALLX || op === Op.LD_IND) return [s.s];
  return [s.d, s.s];
}

/**
 * What every chunk of a program needs from the whole of it, computed once per program so that
 * compiling all chunks stays linear in the program's size.
 */
export interface ProgramScan {
  /** Instruction starts in slot order. */
  all: Slot[];
  /**
   * Slots that must be `case` labels, sorted: slot 0, jump and call targets, return slots, code
   * addresses loaded by `lddw` (callback and `callx` targets).
   */
  leaders: number[];
  /** The decoded instruction at each instruction start, for comments. */
  insnAt: Map<number, Instruction>;
}

export function scanProgram(program: Program): ProgramScan {
  const all = instructionSlots(program);
  const leaders = new Set<number>([0]);
  for (const s of all) {
    if (isJump(s.op) || s.op === Op.CALL_LOCAL) leaders.add(s.w1);
    if (s.op === Op.CALL_LOCAL || s.op === Op.CALLX) leaders.add(s.slot + 1);
    if (s.op === Op.LDDW && s.immHi === CODE_HI_I32 && s.imm >= 0 && s.imm < program.slots)
      leaders.add(s.imm);
  }
  const insnAt = new Map<number, Instruction>();
  program.insns.forEach((insn, i) => {
    insnAt.set(program.slotOf[i] as number, insn);
  });
  return { all, leaders: [...leaders].sort((x, y) => x - y), insnAt };
}

/** Index of the first element of the sorted `xs` (by `key`) that is >= `value`. */
function lowerBound<T>(xs: readonly T[], value: number, key: (x: T) => number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (key(xs[mid] as T) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const u32 = (x: number) => String(x >>> 0);
const i32 = (x: number) => String(x | 0);

/** Lo/hi expressions of the second operand of a K or X form. */
function operand(s: Slot, x: boolean): [string, string] {
  return x ? [`r${s.s}l`, `r${s.s}h`] : [i32(s.imm), i32(s.immHi)];
}

function comment(insn: Instruction | undefined, slot: number): string {
  let text = "";
  if (insn !== undefined) {
    try {
      text = printKernelInsn(insn);
    } catch {
      text = `opcode 0x${insn.code.toString(16)}`;
    }
  }
  // Only printable ASCII goes into the source: a line break (\n, \u2028, ...) would end the comment.
  return `// ${slot}: ${text.replace(/[^ -~]/g, " ")}`;
}

/** Condition of a conditional jump, from the operand lo/hi expressions. */
function condition(kind: number, wide: boolean, al: string, ah: string, bl: string, bh: string): string {
  const ul = (e: string) => (/^-?\d+$/.test(e) ? u32(Number(e)) : `(${e} >>> 0)`);
  // kind: 0 jeq, 1 jgt, 2 jge, 3 jset, 4 jne, 5 jsgt, 6 jsge, 7 jlt, 8 jle, 9 jslt, 10 jsle
  const cmp = [">", ">", ">=", "", "", ">", ">=", "<", "<=", "<", "<="][kind] as string;
  const strict = cmp.slice(0, 1);
  const signed = kind === 5 || kind === 6 || kind >= 9;
  if (!wide) {
    if (kind === 0) return `${al} === ${bl}`;
    if (kind === 4) return `${al} !== ${bl}`;
    if (kind === 3) return `(${al} & ${bl}) !== 0`;
    return signed ? `${al} ${cmp} ${bl}` : `${ul(al)} ${cmp} ${ul(bl)}`;
  }
  if (kind === 0) return `${al} === ${bl} && ${ah} === ${bh}`;
  if (kind === 4) return `${al} !== ${bl} || ${ah} !== ${bh}`;
  if (kind === 3) return `(${al} & ${bl}) !== 0 || (${ah} & ${bh}) !== 0`;
  const high = signed ? `${ah} ${strict} ${bh}` : `${ul(ah)} ${strict} ${ul(bh)}`;
  return `${high} || (${ah} === ${bh} && ${ul(al)} ${cmp} ${ul(bl)})`;
}

/** 64-bit multiply of (al, ah) by (bl, bh) into d, as the interpreter's MUL64. */
function mul64(d: number, bl: string, bh: string): string[] {
  return [
    `{`,
    `  const al = r${d}l, bl = ${bl}, a0 = al & 0xffff, a1 = al >>> 16, b0 = bl & 0xffff, b1 = bl >>> 16;`,
    `  const t = a1 * b0 + ((a0 * b0) >>> 16), u = a0 * b1 + (t & 0xffff);`,
    `  const mh = a1 * b1 + (t >>> 16) + (u >>> 16);`,
    `  r${d}h = (mh + Math.imul(al, ${bh}) + Math.imul(r${d}h, bl)) | 0;`,
    `  r${d}l = Math.imul(al, bl);`,
    `}`,
  ];
}

/** Shifts of a 64-bit register by a known count k (already masked to 0..63). */
function shift64Const(kind: "lsh" | "rsh" | "arsh", d: number, k: number): string[] {
  const l = `r${d}l`;
  const h = `r${d}h`;
  if (k === 0) return [];
  if (kind === "lsh")
    return k >= 32
      ? [`${h} = ${l} << ${k - 32};`, `${l} = 0;`]
      : [`${h} = (${h} << ${k}) | (${l} >>> ${32 - k});`, `${l} = ${l} << ${k};`];
  if (kind === "rsh")
    return k >= 32
      ? [`${l} = (${h} >>> ${k - 32}) | 0;`, `${h} = 0;`]
      : [`${l} = (${l} >>> ${k}) | (${h} << ${32 - k});`, `${h} = (${h} >>> ${k}) | 0;`];
  return k >= 32
    ? [`${l} = ${h} >> ${k - 32};`, `${h} = ${h} >> 31;`]
    : [`${l} = (${l} >>> ${k}) | (${h} << ${32 - k});`, `${h} = ${h} >> ${k};`];
}

/** Shifts of a 64-bit register by a register count, as the interpreter does at run time. */
function shift64Var(kind: "lsh" | "rsh" | "arsh", d: number, s: number): string[] {
  const l = `r${d}l`;
  const h = `r${d}h`;
  const big =
    kind === "lsh"
      ? `${h} = ${l} << (k - 32); ${l} = 0;`
      : kind === "rsh"
        ? `${l} = (${h} >>> (k - 32)) | 0; ${h} = 0;`
        : `${l} = ${h} >> (k - 32); ${h} = ${h} >> 31;`;
  const small =
    kind === "lsh"
      ? `${h} = (${h} << k) | (${l} >>> (32 - k)); ${l} = ${l} << k;`
      : kind === "rsh"
        ? `${l} = (${l} >>> k) | (${h} << (32 - k)); ${h} = (${h} >>> k) | 0;`
        : `${l} = (${l} >>> k) | (${h} << (32 - k)); ${h} = ${h} >> k;`;
  return [
    `{`,
    `  const k = r${s}l & 63;`,
    `  if (k >= 32) { ${big} }`,
    `  else if (k !== 0) { ${small} }`,
    `}`,
  ];
}

const swap32 = (v: string) =>
  `((${v} & 0xff) << 24) | ((${v} & 0xff00) << 8) | ((${v} >>> 8) & 0xff00) | (${v} >>> 24)`;

/**
 * Where the chunks of `program` start: every `size` slots or so, at instruction starts. V8 stops
 * optimizing functions of more than about 60 KB of bytecode, so a large program becomes several
 * functions; a jump between them goes through the driver.
 */
export function chunkStarts(scan: ProgramScan, size: number): number[] {
  const starts = [0];
  for (const s of scan.all) if (s.slot - (starts[starts.length - 1] as number) >= size) starts.push(s.slot);
  return starts;
}

/** Default chunk size in slots: a chunk's function stays well below V8's optimization limit. */
export const CHUNK_SLOTS = 192;

/**
 * The JavaScript source of `program` compiled for the `"compiled"` engine, for reading
 * (`bpfkit plugin --debug`, tests): the text of one function per chunk, each a function of `lib`
 * that returns the chunk's function. One BPF instruction becomes a few lines, after a comment with
 * its slot and kernel-style text.
 */
export function compileToSource(program: Program): string {
  const scan = scanProgram(program);
  const starts = chunkStarts(scan, CHUNK_SLOTS);
  return starts
    .map((start, k) => compileChunk(program, start, starts[k + 1] ?? program.slots, [], scan).source)
    .join("\n\n");
}

/** One compiled chunk: its source and the slots it can be entered at. */
export interface ChunkSource {
  source: string;
  leaders: Set<number>;
}

/**
 * The source of the function running slots [start, end) of `program`; `extraEntries` are further
 * slots it must be enterable at. Leaving the range (a jump, a return, falling off its end) hands
 * the slot to the driver, which runs the chunk holding it.
 */
export function compileChunk(
  program: Program,
  start: number,
  end: number,
  extraEntries: Iterable<number>,
  scan: ProgramScan = scanProgram(program),
): ChunkSource {
  const bySlot = (x: Slot) => x.slot;
  const slots = scan.all.slice(lowerBound(scan.all, start, bySlot), lowerBound(scan.all, end, bySlot));
  const leaders = new Set<number>([start]);
  for (let k = lowerBound(scan.leaders, start, Number); k < scan.leaders.length; k++) {
    const l = scan.leaders[k] as number;
    if (l >= end) break;
    leaders.add(l);
  }
  for (const e of extraEntries) if (e >= start && e < end) leaders.add(e);
  const insnAt = scan.insnAt;
  const used = new Set<number>();
  for (const s of slots) for (const r of registersOf(s)) used.add(r);
  const regs = [...used].sort((x, y) => x - y);
  const spill = regs.map((r) => `R[${2 * r}] = r${r}l; R[${2 * r + 1}] = r${r}h;`).join(" ");
  const reload = (which: number[]) =>
    which
      .filter((r) => used.has(r))
      .map((r) => `r${r}l = R[${2 * r}]; r${r}h = R[${2 * r + 1}];`)
      .join(" ");
  const reloadAll = reload(regs);

  // Segment lengths: a segment starts at a leader or after an instruction that ends one.
  const segLen = new Map<number, number>();
  {
    let start = -1;
    let count = 0;
    for (const s of slots) {
      if (start < 0 || leaders.has(s.slot)) {
        if (start >= 0) segLen.set(start, count);
        start = s.slot;
        count = 0;
      }
      count++;
      if (endsSegment(s.op)) {
        segLen.set(start, count);
        start = -1;
      }
    }
    if (start >= 0) segLen.set(start, count);
  }

  // Natural loops: a leader L whose last backward jump J leaves no other leader in (L, J] becomes a
  // JavaScript loop inside its case, so its back edges skip the switch.
  const loopEnd = new Map<number, number>();
  for (const s of slots)
    if (isJump(s.op) && s.w1 <= s.slot && s.w1 >= start)
      loopEnd.set(s.w1, Math.max(loopEnd.get(s.w1) ?? -1, s.slot));
  const leadersUpTo = new Int32Array(end - start); // leaders at slots start..start + i
  for (let i = 0, count = 0; i < end - start; i++) {
    if (leaders.has(start + i)) count++;
    leadersUpTo[i] = count;
  }
  for (const [head, last] of loopEnd)
    if ((leadersUpTo[last - start] as number) > (leadersUpTo[head - start] as number)) loopEnd.delete(head);

  const out: string[] = [];
  const emit = (indent: number, ...lines: string[]) => {
    for (const line of lines) out.push(" ".repeat(indent) + line);
  };
  const limit = (target: number) =>
    `if (n >= lim) { lim = h.checkLimits(n, ${target}) | 0; n = 0; if (lim < 0) { err = h.pending; break run; } }`;
  let loopHead = -1; // the loop being emitted, if any
  const jumpTo = (target: number) =>
    target === loopHead
      ? `${limit(target)} continue L${target};`
      : `pc = ${target}; ${limit(target)} continue run;`;

  // Per-instruction state read by the emit helpers below (defined once: they are hot at compile time).
  let slot = 0;
  let w1 = 0;
  let nAt = "";
  let dl = "";
  let dh = "";
  let sl = "";
  let sh = "";
  let body: string[] = [];
  const memFault = (hi: string, size: number, write: boolean) =>
    `{ err = h.memFault(${hi}, a, ${size}, ${write}, ${slot}, ${nAt}); break run; }`;
  const load = (size: number, read: string[]) => {
    // A non-negative offset cannot take the address below the region's start.
    const lowCheck = w1 < 0 ? "a < 0 || " : "";
    body.push(
      `a = (${sl} >>> 0) + ${w1}; ri = (${sh} + ${HI_BIAS}) >>> 0;`,
      `if (ri >= rl.length || ${lowCheck}a + ${size} > rl[ri]) ${memFault(sh, size, false)}`,
      ...read,
    );
  };
  const store = (size: number, write: string[]) => {
    const lowCheck = w1 < 0 ? "a < 0 || " : "";
    body.push(
      `a = (${dl} >>> 0) + ${w1}; ri = (${dh} + ${HI_BIAS}) >>> 0;`,
      `if (ri >= wl.length || ${lowCheck}a + ${size} > wl[ri]) ${memFault(dh, size, true)}`,
      ...write,
    );
  };
  const callOut = (call: string, allowSwitch: boolean) => {
    body.push(
      `${spill}`,
      `C[0] = n; C[1] = lim;`,
      `t = ${call};`,
      reloadAll,
      `n = C[0] | 0; lim = Math.ceil(C[1]) | 0;`,
    );
    if (allowSwitch)
      body.push(
        `if (t !== 0) { if (t === 2) { status = ${SWITCH}; h.next = h.prog; pc = 0; } else status = ${DONE}; break run; }`,
      );
    else body.push(`if (t !== 0) { status = ${DONE}; break run; }`);
  };
  let remaining = 0; // instructions of the current segment still to come, this one included
  for (const s of slots) {
    const { op, d, s: src, imm, immHi } = s;
    slot = s.slot;
    w1 = s.w1;
    if (leaders.has(slot)) emit(6, `case ${slot}:`);
    if (loopEnd.has(slot)) {
      emit(8, `L${slot}: for (;;) {`);
      loopHead = slot;
    }
    const I = loopHead >= 0 ? 10 : 8;
    const len = segLen.get(slot);
    if (len !== undefined) {
      emit(I, `n = (n + ${len}) | 0;`);
      remaining = len;
    }
    // n as the interpreter has it at this instruction.
    const behind = remaining - 1;
    nAt = behind === 0 ? "n" : `(n - ${behind}) | 0`;
    remaining--;
    emit(I, comment(insnAt.get(slot), slot));
    dl = `r${d}l`;
    dh = `r${d}h`;
    sl = `r${src}l`;
    sh = `r${src}h`;
    const x = (op >= Op.ADD64_X && op <= Op.ARSH64_X) || (op >= Op.ADD32_X && op <= Op.ARSH32_X);
    const [bl, bh] = operand(s, x);
    body = [];
    switch (op) {
      case Op.ADD64_K:
      case Op.ADD64_X:
        body.push(
          `{ const lo = (${dl} >>> 0) + (${x ? bl : u32(imm)}${x ? " >>> 0" : ""}); ${dh} = (${dh} + ${bh} + (lo > 0xffffffff ? 1 : 0)) | 0; ${dl} = lo | 0; }`,
        );
        break;
      case Op.SUB64_K:
      case Op.SUB64_X:
        body.push(
          `{ const lo = (${dl} >>> 0) - (${x ? bl : u32(imm)}${x ? " >>> 0" : ""}); ${dh} = (${dh} - ${bh} - (lo < 0 ? 1 : 0)) | 0; ${dl} = lo | 0; }`,
        );
        break;
      case Op.MUL64_K:
      case Op.MUL64_X:
        body.push(...mul64(d, bl, bh));
        break;
      case Op.DIV64_K:
      case Op.SDIV64_K:
      case Op.MOD64_K:
      case Op.SMOD64_K:
      case Op.DIV64_X:
      case Op.SDIV64_X:
      case Op.MOD64_X:
      case Op.SMOD64_X:
        body.push(
          `{ const bl = ${bl}, bh = ${bh}; R[${2 * d}] = ${dl}; R[${2 * d + 1}] = ${dh}; divmod64(R, ${2 * d}, bl, bh, ${x ? op - 14 : op}); ${dl} = R[${2 * d}]; ${dh} = R[${2 * d + 1}]; }`,
        );
        break;
      case Op.OR64_K:
      case Op.OR64_X:
        body.push(`${dl} = ${dl} | ${bl}; ${dh} = ${dh} | ${bh};`);
        break;
      case Op.AND64_K:
      case Op.AND64_X:
        body.push(`${dl} = ${dl} & ${bl}; ${dh} = ${dh} & ${bh};`);
        break;
      case Op.XOR64_K:
      case Op.XOR64_X:
        body.push(`${dl} = ${dl} ^ ${bl}; ${dh} = ${dh} ^ ${bh};`);
        break;
      case Op.MOV64_K:
      case Op.MOV64_X:
      case Op.LDDW:
        body.push(`${dl} = ${bl}; ${dh} = ${bh};`);
        break;
      case Op.LSH64_K:
        body.push(...shift64Const("lsh", d, imm & 63));
        break;
      case Op.RSH64_K:
        body.push(...shift64Const("rsh", d, imm & 63));
        break;
      case Op.ARSH64_K:
        body.push(...shift64Const("arsh", d, imm & 63));
        break;
      case Op.LSH64_X:
        body.push(...shift64Var("lsh", d, src));
        break;
      case Op.RSH64_X:
        body.push(...shift64Var("rsh", d, src));
        break;
      case Op.ARSH64_X:
        body.push(...shift64Var("arsh", d, src));
        break;
      case Op.NEG64:
        body.push(`{ const lo = ${dl}; ${dl} = -lo | 0; ${dh} = (~${dh} + (lo === 0 ? 1 : 0)) | 0; }`);
        break;
      case Op.MOVSX64:
        body.push(`{ const v = (${sl} << ${imm}) >> ${imm}; ${dl} = v; ${dh} = v >> 31; }`);
        break;
      case Op.BSWAP16:
        body.push(`${dl} = ((${dl} & 0xff) << 8) | ((${dl} >>> 8) & 0xff); ${dh} = 0;`);
        break;
      case Op.BSWAP32:
        body.push(`${dl} = ${swap32(dl)}; ${dh} = 0;`);
        break;
      case Op.BSWAP64:
        body.push(`{ const v = ${dl}, w = ${dh}; ${dl} = ${swap32("w")}; ${dh} = ${swap32("v")}; }`);
        break;
      case Op.ADD32_K:
      case Op.ADD32_X:
        body.push(`${dl} = (${dl} + ${bl}) | 0; ${dh} = 0;`);
        break;
      case Op.SUB32_K:
      case Op.SUB32_X:
        body.push(`${dl} = (${dl} - ${bl}) | 0; ${dh} = 0;`);
        break;
      case Op.MUL32_K:
      case Op.MUL32_X:
        body.push(`${dl} = Math.imul(${dl}, ${bl}); ${dh} = 0;`);
        break;
      case Op.DIV32_K:
      case Op.DIV32_X:
        body.push(
          `{ const b = ${x ? `${bl} >>> 0` : u32(imm)}; ${dl} = b === 0 ? 0 : ((${dl} >>> 0) / b) | 0; ${dh} = 0; }`,
        );
        break;
      case Op.SDIV32_K:
      case Op.SDIV32_X:
        body.push(`{ const b = ${bl}; ${dl} = b === 0 ? 0 : (${dl} / b) | 0; ${dh} = 0; }`);
        break;
      case Op.MOD32_K:
      case Op.MOD32_X:
        body.push(
          `{ const b = ${x ? `${bl} >>> 0` : u32(imm)}; if (b !== 0) ${dl} = ((${dl} >>> 0) % b) | 0; ${dh} = 0; }`,
        );
        break;
      case Op.SMOD32_K:
      case Op.SMOD32_X:
        body.push(`{ const b = ${bl}; if (b !== 0) ${dl} = (${dl} % b) | 0; ${dh} = 0; }`);
        break;
      case Op.OR32_K:
      case Op.OR32_X:
        body.push(`${dl} = ${dl} | ${bl}; ${dh} = 0;`);
        break;
      case Op.AND32_K:
      case Op.AND32_X:
        body.push(`${dl} = ${dl} & ${bl}; ${dh} = 0;`);
        break;
      case Op.XOR32_K:
      case Op.XOR32_X:
        body.push(`${dl} = ${dl} ^ ${bl}; ${dh} = 0;`);
        break;
      case Op.MOV32_K:
      case Op.MOV32_X:
        body.push(`${dl} = ${bl}; ${dh} = 0;`);
        break;
      case Op.LSH32_K:
        body.push(`${dl} = ${dl} << ${imm & 31}; ${dh} = 0;`);
        break;
      case Op.RSH32_K:
        body.push(`${dl} = (${dl} >>> ${imm & 31}) | 0; ${dh} = 0;`);
        break;
      case Op.ARSH32_K:
        body.push(`${dl} = ${dl} >> ${imm & 31}; ${dh} = 0;`);
        break;
      case Op.LSH32_X:
        body.push(`${dl} = ${dl} << (${sl} & 31); ${dh} = 0;`);
        break;
      case Op.RSH32_X:
        body.push(`${dl} = (${dl} >>> (${sl} & 31)) | 0; ${dh} = 0;`);
        break;
      case Op.ARSH32_X:
        body.push(`${dl} = ${dl} >> (${sl} & 31); ${dh} = 0;`);
        break;
      case Op.NEG32:
        body.push(`${dl} = -${dl} | 0; ${dh} = 0;`);
        break;
      case Op.MOVSX32:
        body.push(`${dl} = (${sl} << ${imm}) >> ${imm}; ${dh} = 0;`);
        break;
      case Op.LE16:
        body.push(`${dl} = ${dl} & 0xffff; ${dh} = 0;`);
        break;
      case Op.LE32:
        body.push(`${dh} = 0;`);
        break;
      case Op.NOP:
        break;
      case Op.JA:
        body.push(jumpTo(w1));
        break;
      case Op.MAY_GOTO:
        body.push(`t = mg[depth];`, `if (t === 0) { ${jumpTo(w1)} }`, `mg[depth] = t - 1;`);
        break;
      case Op.CALL_HELPER:
        callOut(`h.callHelper(${imm}, ${slot}, depth)`, true);
        break;
      case Op.CALL_KFUNC:
        callOut(`h.callKfunc(${imm}, ${slot}, depth)`, false);
        break;
      case Op.CALL_LOCAL:
        body.push(
          spill,
          `C[0] = n;`,
          `h.pushFrame(prog, ${slot + 1}, depth, ${slot});`,
          `depth = (depth + 1) | 0;`,
          reload([10]),
          jumpTo(w1),
        );
        break;
      case Op.CALLX: {
        body.push(`if (${sh} === 0) {`);
        const before = body.length;
        callOut(`h.callHelper(${sl}, ${slot}, depth)`, true);
        for (let k = before; k < body.length; k++) body[k] = `  ${body[k]}`;
        body.push(
          `} else {`,
          `  t = h.codeTarget(prog, ${sh}, ${sl});`,
          `  if (t < 0) { err = h.fault("call", "callx to 0x" + hex64(${sh}, ${sl}) + ", which is not a subprogram", ${slot}, n); break run; }`,
          `  ${spill}`,
          `  C[0] = n;`,
          `  h.pushFrame(prog, ${slot + 1}, depth, ${slot});`,
          `  depth = (depth + 1) | 0;`,
          `  ${reload([10])}`,
          `  pc = t; if (n >= lim) { lim = h.checkLimits(n, pc) | 0; n = 0; if (lim < 0) { err = h.pending; break run; } } continue run;`,
          `}`,
        );
        break;
      }
      case Op.EXIT:
        body.push(
          `if (depth === base) { status = ${DONE}; C[0] = n; C[1] = lim; break run; }`,
          `depth = (depth - 1) | 0;`,
          `pc = fr[depth];`,
          `{`,
          `  const caller = h.popFrame(depth);`,
          `  ${reload([6, 7, 8, 9, 10])}`,
          `  if (caller !== prog) { status = ${SWITCH}; h.next = caller; C[0] = n; C[1] = lim; break run; }`,
          `}`,
          `continue run;`,
        );
        break;
      case Op.LDXB:
        load(1, [`${dl} = bytes[ri][a]; ${dh} = 0;`]);
        break;
      case Op.LDXH:
        load(2, [`${dl} = views[ri].getUint16(a, true); ${dh} = 0;`]);
        break;
      case Op.LDXW:
        load(4, [`${dl} = views[ri].getInt32(a, true); ${dh} = 0;`]);
        break;
      case Op.LDXDW:
        load(8, [`{ const v = views[ri]; ${dl} = v.getInt32(a, true); ${dh} = v.getInt32(a + 4, true); }`]);
        break;
      case Op.LDXSB:
        load(1, [`${dl} = (bytes[ri][a] << 24) >> 24; ${dh} = ${dl} >> 31;`]);
        break;
      case Op.LDXSH:
        load(2, [`${dl} = views[ri].getInt16(a, true); ${dh} = ${dl} >> 31;`]);
        break;
      case Op.LDXSW:
        load(4, [`${dl} = views[ri].getInt32(a, true); ${dh} = ${dl} >> 31;`]);
        break;
      case Op.STB:
        store(1, [`bytes[ri][a] = ${imm & 0xff};`]);
        break;
      case Op.STH:
        store(2, [`views[ri].setInt16(a, ${imm}, true);`]);
        break;
      case Op.STW:
        store(4, [`views[ri].setInt32(a, ${imm}, true);`]);
        break;
      case Op.STDW:
        store(8, [
          `{ const v = views[ri]; v.setInt32(a, ${imm}, true); v.setInt32(a + 4, ${immHi}, true); }`,
        ]);
        break;
      case Op.STXB:
        store(1, [`bytes[ri][a] = ${sl};`]);
        break;
      case Op.STXH:
        store(2, [`views[ri].setInt16(a, ${sl}, true);`]);
        break;
      case Op.STXW:
        store(4, [`views[ri].setInt32(a, ${sl}, true);`]);
        break;
      case Op.STXDW:
        store(8, [`{ const v = views[ri]; v.setInt32(a, ${sl}, true); v.setInt32(a + 4, ${sh}, true); }`]);
        break;
      case Op.ATOMIC:
        body.push(
          spill,
          `err = h.atomic(code, ${slot * SLOT_WORDS}, ${slot}, ${nAt});`,
          `if (err !== undefined) break run;`,
          reload(regs),
        );
        break;
      case Op.LD_ABS:
      case Op.LD_IND:
        body.push(
          spill,
          `C[0] = n;`,
          `if (!h.ldPacket(code, ${slot * SLOT_WORDS}, ${op === Op.LD_IND}, ${slot})) {`,
          `  // Linux ends the program with r0 = 0 when a legacy packet load is out of bounds.`,
          `  R[0] = 0; R[1] = 0; ${reload([0])}`.trimEnd(),
          `  if (depth === base) { status = ${DONE}; break run; }`,
          `  err = h.fault("access", "legacy packet load out of bounds inside a subprogram", ${slot}, n); break run;`,
          `}`,
          reload([0]),
        );
        break;
      default: {
        if (op < Op.JEQ_K || op > Op.JSLE32_X)
          throw new Error(`compileToSource: op ${op} at slot ${slot} has no translation`);
        const rel = op - Op.JEQ_K;
        const group = Math.floor(rel / 11); // 0: 64 K, 1: 64 X, 2: 32 K, 3: 32 X
        const xs = group === 1 || group === 3;
        const [cl, ch] = xs ? [sl, sh] : [i32(imm), i32(immHi)];
        body.push(`if (${condition(rel % 11, group < 2, dl, dh, cl, ch)}) { ${jumpTo(w1)} }`);
      }
    }
    for (const line of body) if (line !== "") emit(I, line);
    if (loopHead >= 0 && loopEnd.get(loopHead) === slot) {
      emit(I, `break L${loopHead};`);
      emit(8, `}`);
      loopHead = -1;
    }
  }
  if (end >= program.slots) {
    // Past the last instruction: the interpreter's sentinel slot.
    emit(6, `case ${program.slots}:`);
    emit(
      8,
      `n = (n + 1) | 0;`,
      `err = h.fault("access", "execution ran past the last instruction", ${program.slots}, n); break run;`,
    );
  } else emit(8, `// The next chunk continues at slot ${end}.`, `pc = ${end}; continue run;`);
  emit(
    8,
    `default:`,
    `  // Not an entry of this compilation: the driver recompiles with this slot as one.`,
    `  status = ${ENTRY}; C[0] = n; C[1] = lim; break run;`,
  );

  const name = `bpf_${program.name.replace(/[^A-Za-z0-9_]/g, "_").slice(0, 48)}_${start}`;
  const decl = regs.map((r) => `r${r}l = R[${2 * r}], r${r}h = R[${2 * r + 1}]`);
  const source = [
    `"use strict";`,
    `// ${name}: slots ${start}..${end - 1} of ${program.slots}, compiled by @bpfkit/vm (engine "compiled").`,
    `const { divmod64, hex64 } = lib;`,
    `return function ${name}(h, prog, pc, depth, base) {`,
    `  const mem = h.memory, bytes = mem.bytes, views = mem.views, rl = mem.readLimit, wl = mem.writeLimit;`,
    `  const mg = h.mayGoto, fr = h.frameRet, code = prog.code, C = h.counters; // C: [n, lim]`,
    // The register words stay the same array for the whole run (only the interpreter replaces it).
    `  const R = h.regs;`,
    ...(decl.length > 0 ? [`  let ${decl.join(",\n    ")};`] : []),
    `  let n = C[0] | 0, lim = Math.ceil(C[1]) | 0, t = 0, a = 0, ri = 0, status = ${DONE}, err;`,
    `  run: for (;;) {`,
    `    switch (pc) {`,
    ...out,
    `    }`,
    `  }`,
    ...(spill !== "" ? [`  ${spill}`] : []),
    `  if (err !== undefined) throw err;`,
    `  h.pc = pc; h.depth = depth;`,
    `  return status;`,
    `};`,
  ].join("\n");
  return { source, leaders };
}
