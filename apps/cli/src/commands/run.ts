import { existsSync, readFileSync } from "node:fs";
import { basename } from "node:path";
import { type Btf, parseBtf } from "@bpfkit/btf";
import { loadVmlinux618 } from "@bpfkit/btf/vmlinux-6.18";
import { loadObject, openObject } from "@bpfkit/object";
import {
  createRuntime,
  dumpJson,
  imageFromObject,
  instantiate,
  type ObjectImage,
  parseHex,
  type RunReport,
  RuntimeError,
  runReport,
} from "@bpfkit/runtime";
import { readProcSnapshot, readSnapshotFile } from "@bpfkit/runtime/proc";
import { ENGINES, type Engine } from "@bpfkit/vm";
import type { RegisterCommand } from "../context.js";
import { liveKfuncs } from "./vmas.js";

interface RunOptions {
  prog: string;
  pid?: string;
  ctxHex?: string;
  dataHex?: string;
  repeat: string;
  snapshot?: string;
  btf?: string;
  engine: string;
  design?: "original" | "snapshot" | "stack";
  json?: boolean;
  verify: boolean;
}

function bad(message: string): never {
  throw new RuntimeError(message, { kind: "program" });
}

/** Checks the options before anything is read, so a typo fails fast with the option's name. */
function parseOptions(options: RunOptions) {
  const ctx = options.ctxHex === undefined ? undefined : parseHex(options.ctxHex);
  if (options.ctxHex !== undefined && !ctx) bad(`--ctx-hex ${options.ctxHex}: expected hex bytes`);
  const data = options.dataHex === undefined ? undefined : parseHex(options.dataHex);
  if (options.dataHex !== undefined && !data) bad(`--data-hex ${options.dataHex}: expected hex bytes`);
  const repeat = Number(options.repeat);
  if (!Number.isInteger(repeat) || repeat < 1) bad(`--repeat ${options.repeat}: expected a positive integer`);
  if (!ENGINES.includes(options.engine as Engine))
    bad(`--engine ${options.engine}: expected ${ENGINES.join(" or ")}`);
  const pid = options.pid === undefined || options.pid === "self" ? undefined : Number(options.pid);
  if (pid !== undefined && (!Number.isInteger(pid) || pid <= 0))
    bad(`--pid ${options.pid}: expected a process id`);
  return { ctx, data, repeat, pid };
}

/** The target kernel's BTF: `--btf FILE`, else the running kernel's, else the bundled 6.18. */
function targetBtf(path: string | undefined): Btf {
  if (path !== undefined) return parseBtf(new Uint8Array(readFileSync(path)));
  if (existsSync("/sys/kernel/btf/vmlinux"))
    return parseBtf(new Uint8Array(readFileSync("/sys/kernel/btf/vmlinux")));
  return loadVmlinux618();
}

/** The object relocated by @bpfkit/object's loader (CO-RE against `btf`), as the runtime takes it. */
function loadImage(path: string, btf: Btf): ObjectImage {
  const bytes = new Uint8Array(readFileSync(path));
  return imageFromObject(loadObject(openObject(bytes, { fileName: basename(path) }), { kernelBtf: btf }));
}

function text(report: RunReport): string {
  const lines = [`retval ${report.retval}`];
  if (report.ctxOut !== undefined) lines.push(`ctx out  ${report.ctxOut}`);
  if (report.dataOut !== undefined) lines.push(`data out ${report.dataOut}`);
  for (const line of report.output ?? []) lines.push(`trace: ${line.replace(/\n$/, "")}`);
  for (const [name, dump] of Object.entries(report.maps)) lines.push(`map ${name}: ${dumpJson(dump)}`);
  lines.push(`${report.stats.insns} insns, ${report.stats.nsPerRun} ns per run`);
  return `${lines.join("\n")}\n`;
}

/**
 * `bpfkit run OBJ --prog NAME [--pid PID] [--ctx-hex HEX] [--data-hex HEX] [--repeat N] [--json]`:
 * executes one program of an object on a snapshot of the live system (or `--snapshot FILE`) and
 * prints {retval, ctxOut, dataOut, maps, stats}.
 */
export const registerRun: RegisterCommand = (program, context) => {
  program
    .command("run")
    .description("execute a program of an object like BPF_PROG_TEST_RUN on a snapshot of the live system")
    .argument("<obj>", "clang-built BPF object")
    .requiredOption("--prog <name>", "program to run")
    .option("--pid <pid>", "the current task (default: this process)")
    .option("--ctx-hex <hex>", "context bytes (syscall programs: the whole ctx, copied back out)")
    .option("--data-hex <hex>", "packet bytes (xdp, socket filter, tc)")
    .option("--repeat <n>", "runs, like BPF_PROG_TEST_RUN's repeat", "1")
    .option("--snapshot <file>", "a saved system snapshot (JSON) instead of live /proc")
    .option("--btf <file>", "target kernel BTF (default: /sys/kernel/btf/vmlinux, else the bundled 6.18)")
    .option(
      "--engine <e>",
      "execution engine: interpreter, or compiled (translated to JavaScript)",
      "interpreter",
    )
    .option("--no-verify", "run without verifying first (the only mode until the verifier lands)")
    .option(
      "--json",
      "JSON output: {retval, ctxOut, dataOut, maps: {name: bpftool dump}, stats: {insns, nsPerRun}}",
    )
    .option(
      "--design <design>",
      "bpf_iter_task_vma design: original, snapshot, stack (default: the kernel's)",
    )
    .action((obj: string, options: RunOptions) => {
      const { ctx, data, repeat, pid } = parseOptions(options);
      const snapshot = options.snapshot
        ? readSnapshotFile(options.snapshot)
        : readProcSnapshot({ current: pid });
      if (pid !== undefined) {
        if (!snapshot.tasks.some((t) => t.pid === pid))
          bad(`--pid ${pid}: no such task in ${snapshot.source ?? "the snapshot"}`);
        snapshot.current = pid;
      }
      // Until @bpfkit/verifier lands there is no verdict to honour: running is opt-in.
      if (options.verify)
        bad(
          `${obj}: bpfkit run verifies before it runs, and the verifier has not landed yet; pass --no-verify to run ${options.prog} unverified`,
        );
      const btf = targetBtf(options.btf);
      const image = loadImage(obj, btf);
      const runtime = createRuntime({
        snapshot,
        btf,
        kfuncs: liveKfuncs(btf, options.design),
        engine: options.engine as Engine,
      });
      const { programs } = instantiate(runtime, image);
      const prog = programs.get(options.prog);
      if (!prog) bad(`${obj}: no program named ${options.prog} (have: ${[...programs.keys()].join(", ")})`);
      if (prog.type === "iter") {
        // An iterator is read like its bpf_iter file: once per task, printing what it wrote.
        const output = runtime.runTaskIter(prog);
        context.io.out(options.json ? `${dumpJson({ output, maps: runtime.dumpMaps() })}\n` : output);
        return;
      }
      const report = runReport(runtime, runtime.run(prog, { ctx, data, repeat }));
      context.io.out(options.json ? `${dumpJson(report)}\n` : text(report));
    });
};
