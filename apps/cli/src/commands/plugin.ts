import { disassembleUbpfInsn } from "@bpfkit/bpf-isa";
import type { CallContext, Engine, Program, Vm as VmType } from "@bpfkit/vm";
import { compileToSource, ENGINES, loadProgram, Vm, VmError } from "@bpfkit/vm";
import type { CliContext, RegisterCommand } from "../context.js";

/** Instruction budget of one plugin run: far above any conformance case, low enough to stop a runaway loop. */
const PLUGIN_MAX_INSNS = 100_000_000;

interface PluginOptions {
  program?: string;
  elf?: boolean;
  debug?: boolean;
  engine?: string;
}

/**
 * `bpfkit plugin [MEMORY_HEX] [--program HEX] [--elf] [--debug] [--engine E]`: the bpf_conformance plugin
 * protocol, as uBPF's and rbpf's plugins speak it. Program bytes come as hex on stdin (one line)
 * unless `--program` gives them; the memory bytes are mapped as a region that r1 points to, with
 * their length in r2; r0 is printed in lowercase hex without a prefix. Any failure prints its text
 * on stderr and exits 1. `--engine compiled` runs the compiled engine; with `--debug` it prints the
 * generated JavaScript on stderr instead of a trace (a traced run always interprets).
 */
export const registerPlugin: RegisterCommand = (program, context) => {
  program
    .command("plugin")
    .description(
      "bpf_conformance plugin: run program hex (stdin or --program) on memory hex, print r0 in hex",
    )
    .argument("[memory]", "memory bytes as hex; r1 points to them, r2 holds their length")
    .argument(
      "[options...]",
      'plugin options in one argument, as the runner passes them (e.g. "--elf --debug")',
    )
    .option("--program <hex>", "program bytes as hex (default: one line from stdin)")
    .option("--elf", "the program bytes are a BPF ELF object; run its first executable section")
    .option("--debug", "trace every instruction with the registers before it on stderr")
    .option("--engine <engine>", "interpreter (default) or compiled")
    .option("--interpret", "accepted for compatibility with uBPF's plugin (interpreting is the only mode)")
    .allowUnknownOption()
    .action(async (memory: string | undefined, extra: string[], options: PluginOptions) => {
      // The runner calls `plugin <memory hex> <plugin options>`, each as one argument, either may be "".
      let mem = memory ?? "";
      const words = extra.flatMap((e) => e.split(/\s+/)).filter((w) => w !== "");
      if (mem.trim().startsWith("--")) {
        words.unshift(...mem.trim().split(/\s+/));
        mem = "";
      }
      try {
        for (let k = 0; k < words.length; k++) {
          const word = words[k];
          if (word === "--elf") options.elf = true;
          else if (word === "--debug") options.debug = true;
          else if (word === "--interpret") continue;
          else if (word === "--program" && k + 1 < words.length) options.program = words[++k];
          else if (word === "--engine" && k + 1 < words.length) options.engine = words[++k];
          else throw new PluginError(`Invalid arguments: ${word}`);
        }
        const text = options.program ?? (await readStdinLine());
        context.io.out(`${runPlugin(text, mem, options, context).toString(16)}\n`);
      } catch (error) {
        if (!(error instanceof VmError) && !(error instanceof PluginError)) throw error;
        // stderr for people; stdout too, because the runner compares `-- error` texts with stdout.
        context.io.err(`${error.message}\n`);
        context.io.out(`${error.message}\n`);
        context.exitCode = 1;
      }
    });
};

class PluginError extends Error {
  readonly isInputError = true;
}

/** Runs one plugin invocation and returns r0. Exported for tests. */
export function runPlugin(
  programHex: string,
  memoryHex: string,
  options: PluginOptions,
  context?: CliContext,
): bigint {
  const engine = (options.engine ?? "interpreter") as Engine;
  if (!ENGINES.includes(engine))
    throw new PluginError(`unknown engine "${options.engine}" (expected ${ENGINES.join(" or ")})`);
  let bytes = parseHex(programHex, "program");
  if (options.elf) bytes = firstExecutableSection(bytes);
  const prog = loadProgram(bytes);
  const vm = new Vm({ maxInsns: PLUGIN_MAX_INSNS, engine });
  registerTestHelpers(vm);
  const mem = parseHex(memoryHex, "memory");
  // uBPF passes a null pointer and length 0 when there is no memory.
  const args: bigint[] = [0n, 0n];
  if (mem.length > 0) args[0] = vm.memory.map(mem, { name: "mem" }).base;
  args[1] = BigInt(mem.length);
  if (options.debug && context && engine === "compiled") {
    context.io.err(`${compileToSource(prog)}\n`);
    return vm.run(prog, { args }).r0;
  }
  const trace = options.debug && context ? tracer(vm, context) : undefined;
  return vm.run(prog, trace ? { args, trace } : { args }).r0;
}

function tracer(vm: VmType, context: CliContext): (slot: number, depth: number, prog: Program) => void {
  const bySlot = (prog: Program, slot: number) => prog.insns[prog.slotOf.indexOf(slot)];
  return (slot, depth, prog) => {
    const insn = bySlot(prog, slot);
    const regs = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
      .map((r) => `r${r}=${vm.register(r).toString(16)}`)
      .join(" ");
    const text = insn ? disassembleUbpfInsn(insn) : "?";
    context.io.err(`${String(slot).padStart(4)} [${depth}] ${text.padEnd(28)} ${regs}\n`);
  };
}

/** Accepts space-separated byte tokens (what the runner sends) or one run of hex digits. */
function parseHex(text: string, what: string): Uint8Array {
  const out: number[] = [];
  for (const token of text.trim().split(/\s+/)) {
    if (token === "") continue;
    const t = token.replace(/^0x/i, "");
    if (!/^[0-9a-fA-F]+$/.test(t) || (t.length > 2 && t.length % 2 !== 0))
      throw new PluginError(`invalid ${what} hex "${token}"`);
    if (t.length <= 2) out.push(Number.parseInt(t, 16));
    else for (let i = 0; i < t.length; i += 2) out.push(Number.parseInt(t.slice(i, i + 2), 16));
  }
  return new Uint8Array(out);
}

async function readStdinLine(): Promise<string> {
  let data = "";
  for await (const chunk of process.stdin) {
    data += chunk.toString();
    const nl = data.indexOf("\n");
    if (nl >= 0) return data.slice(0, nl);
  }
  return data;
}

/**
 * The bytes of the first non-empty executable section of a little-endian ELF64 object (`.text` or
 * a program section). Relocations are not applied: like uBPF's plugin, this runs self-contained code.
 */
function firstExecutableSection(elf: Uint8Array): Uint8Array {
  const view = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
  if (elf.length < 64 || view.getUint32(0, false) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1)
    throw new PluginError("--elf: not a little-endian ELF64 object");
  const shoff = Number(view.getBigUint64(0x28, true));
  const shentsize = view.getUint16(0x3a, true);
  const shnum = view.getUint16(0x3c, true);
  const SHF_EXECINSTR = 0x4n;
  const SHT_PROGBITS = 1;
  for (let i = 0; i < shnum; i++) {
    const at = shoff + i * shentsize;
    if (at + 64 > elf.length) break;
    const type = view.getUint32(at + 4, true);
    const flags = view.getBigUint64(at + 8, true);
    const offset = Number(view.getBigUint64(at + 0x18, true));
    const size = Number(view.getBigUint64(at + 0x20, true));
    if (type === SHT_PROGBITS && (flags & SHF_EXECINSTR) !== 0n && size > 0) {
      if (offset + size > elf.length)
        throw new PluginError(`--elf: section ${i} runs past the end of the file`);
      return elf.subarray(offset, offset + size);
    }
  }
  throw new PluginError("--elf: no executable section with instructions");
}

/**
 * The helpers uBPF's plugin offers the conformance suite, by id: 0 gather_bytes, 1 memfrob,
 * 2 no_op, 3 sqrti, 4 strcmp_ext, 5 unwind (returning 0 from it ends the program with r0 = 0).
 */
function registerTestHelpers(vm: VmType): void {
  vm.registerHelper(
    0,
    (c: CallContext) => {
      let v = 0n;
      for (let r = 1; r <= 5; r++) v = (v << 8n) | BigInt(c.argU32(r) & 0xff);
      return v;
    },
    "gather_bytes",
  );
  vm.registerHelper(
    1,
    (c: CallContext) => {
      const bytes = c.memory.read(c.arg(1), c.argNumber(2));
      for (let i = 0; i < bytes.length; i++) bytes[i] = (bytes[i] as number) ^ 42;
      return 0;
    },
    "memfrob",
  );
  vm.registerHelper(2, () => 0, "no_op");
  vm.registerHelper(3, (c: CallContext) => isqrt(c.arg(1)), "sqrti");
  vm.registerHelper(
    4,
    (c: CallContext) => {
      const a = c.memory.readCString(c.arg(1));
      const b = c.memory.readCString(c.arg(2));
      return a === b ? 0 : a < b ? -1 : 1;
    },
    "strcmp_ext",
  );
  vm.registerHelper(
    5,
    (c: CallContext) => {
      const a = c.arg(1);
      if (a === 0n) c.stop(0n);
      return a;
    },
    "unwind",
  );
}

function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = BigInt(Math.floor(Math.sqrt(Number(n))));
  while (x * x > n) x--;
  while ((x + 1n) * (x + 1n) <= n) x++;
  return x;
}
