import { readFileSync } from "node:fs";
import {
  createRuntime,
  dumpJson,
  instantiate,
  type ObjectImage,
  parseHex,
  type RunReport,
  RuntimeError,
  runReport,
} from "@bpfkit/runtime";
import { readProcSnapshot, readSnapshotFile } from "@bpfkit/runtime/proc";
import type { RegisterCommand } from "../context.js";

interface RunOptions {
  prog: string;
  pid?: string;
  ctxHex?: string;
  dataHex?: string;
  repeat: string;
  snapshot?: string;
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
  const pid = options.pid === undefined || options.pid === "self" ? undefined : Number(options.pid);
  if (pid !== undefined && (!Number.isInteger(pid) || pid <= 0))
    bad(`--pid ${options.pid}: expected a process id`);
  return { ctx, data, repeat, pid };
}

/**
 * The object as the runtime needs it. This is the one place that depends on @bpfkit/object's
 * loader (issue 5: programs, subprogram linking, maps, globals, CO-RE applied); until that loader
 * exists, objects cannot be run.
 */
function loadImage(path: string, bytes: Uint8Array): ObjectImage {
  bad(
    `${path} (${bytes.length} bytes): bpfkit run needs the object loader of @bpfkit/object (issue 5), which has not landed yet`,
  );
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
    .option("--no-verify", "run without verifying first (the only mode until the verifier lands)")
    .option(
      "--json",
      "JSON output: {retval, ctxOut, dataOut, maps: {name: bpftool dump}, stats: {insns, nsPerRun}}",
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
      const image = loadImage(obj, new Uint8Array(readFileSync(obj)));
      const runtime = createRuntime({ snapshot });
      const { programs } = instantiate(runtime, image);
      const prog = programs.get(options.prog);
      if (!prog) bad(`${obj}: no program named ${options.prog} (have: ${[...programs.keys()].join(", ")})`);
      const report = runReport(runtime, runtime.run(prog, { ctx, data, repeat }));
      context.io.out(options.json ? `${dumpJson(report)}\n` : text(report));
    });
};
