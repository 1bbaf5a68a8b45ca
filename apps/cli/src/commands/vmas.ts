import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Btf, parseBtf } from "@bpfkit/btf";
import { loadVmlinux618 } from "@bpfkit/btf/vmlinux-6.18";
import { buildMm } from "@bpfkit/kernel-mm";
import { importLive } from "@bpfkit/kernel-mm/proc";
import {
  createTaskVma,
  DESIGN_NAMES,
  type DesignName,
  designForKernel,
  registerTaskVma,
} from "@bpfkit/kfuncs-task-vma";
import {
  type ArrayMap,
  defaultKfuncs,
  type KfuncRegistry,
  RuntimeError,
  type SystemSnapshot,
} from "@bpfkit/runtime";
import { parseProcStatus } from "@bpfkit/runtime/proc";
import { ENGINES, type Engine } from "@bpfkit/vm";
import { createKernel, type Kernel, type LoadedBpfObject } from "bpfkit";
import type { RegisterCommand } from "../context.js";

/** The built-in program: `fixtures/bpf/task-vmas.bpf.c`, compiled by `fixtures/bpf/build.sh`. */
const OBJECT = "fixtures/bpf/task-vmas.bpf.o";

// struct task_vmas_out / struct vma_rec of task-vmas.bpf.c.
const HEADER = 24;
const REC = 560;
const REC_PATH = 48;
const KIND = { anon: 0, file: 1, special: 2, heap: 3, stack: 4 } as const;

/**
 * The generic kfuncs plus the task_vma kfuncs of `design` (default: the running kernel's) over live
 * address spaces: each task's mm is imported from `/proc/TGID/smaps` when a program first needs it.
 * `bpfkit run` uses this so programs that walk VMAs run against the processes of the snapshot.
 */
export function liveKfuncs(btf: Btf, design?: DesignName, stackBytes?: number): KfuncRegistry {
  if (design !== undefined && !DESIGN_NAMES.includes(design))
    bad(`--design ${design}: expected one of ${DESIGN_NAMES.join(", ")}`);
  let release = "6.18";
  try {
    release = readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
  } catch {
    // Not Linux: the bundled profile's design.
  }
  const taskVma = createTaskVma({
    btf,
    design: design ?? designForKernel(release),
    stackBytes,
    mmOf: (task) => {
      try {
        return buildMm(importLive(task.info.tgid, { stable: true }));
      } catch (e) {
        return bad(
          `cannot read /proc/${task.info.tgid}/smaps for task ${task.pid} (${(e as Error).message})`,
        );
      }
    },
  });
  return registerTaskVma(defaultKfuncs(), taskVma);
}

/** One VMA as the program reported it. */
export interface VmaRecord {
  start: bigint;
  end: bigint;
  flags: bigint;
  pgoff: bigint;
  ino: bigint;
  dev: number;
  path: string;
}

interface VmasOptions {
  pid: string;
  from?: string;
  design?: string;
  stackBytes?: string;
  engine: string;
  json?: boolean;
}

function bad(message: string): never {
  throw new RuntimeError(message, { kind: "program" });
}

function findObject(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, OBJECT);
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  return bad(`the built-in program ${OBJECT} was not found above ${dirname(fileURLToPath(import.meta.url))}`);
}

/** The running kernel's BTF when readable, else the bundled 6.18 one. */
function targetBtf(): { btf: Btf; release: string } {
  try {
    const btf = parseBtf(new Uint8Array(readFileSync("/sys/kernel/btf/vmlinux")));
    return { btf, release: readFileSync("/proc/sys/kernel/osrelease", "utf8").trim() };
  } catch {
    return { btf: loadVmlinux618(), release: "6.18" };
  }
}

function readTask(pid: number): SystemSnapshot["tasks"][number] {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch (e) {
    return bad(`--pid ${pid}: cannot read /proc/${pid}/status (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  const t = parseProcStatus(text);
  if (!t) return bad(`--pid ${pid}: malformed /proc/${pid}/status`);
  return t;
}

function cString(bytes: Uint8Array, at: number, max: number): { text: string; next: number } {
  let end = at;
  while (end < at + max && bytes[end] !== 0) end++;
  return { text: new TextDecoder().decode(bytes.subarray(at, end)), next: end + 1 };
}

/** Decodes one run's `out` (.bss) into records; `next` is where to resume when the buffer filled. */
export function decodeOut(bytes: Uint8Array): { err: number; records: VmaRecord[]; next: bigint | null } {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const err = v.getInt32(0, true);
  const count = v.getUint32(4, true);
  const truncated = v.getUint32(8, true) !== 0;
  const records: VmaRecord[] = [];
  for (let i = 0; i < count; i++) {
    const at = HEADER + i * REC;
    const kind = v.getUint8(at + 44);
    const deleted = v.getUint8(at + 45) !== 0;
    const ncomp = v.getUint16(at + 46, true);
    let path = "";
    if (kind === KIND.file) {
      const parts: string[] = [];
      let off = at + REC_PATH;
      for (let c = 0; c < ncomp; c++) {
        const s = cString(bytes, off, at + REC - off);
        parts.push(s.text);
        off = s.next;
      }
      path = `/${parts.reverse().join("/")}${deleted ? " (deleted)" : ""}`;
    } else if (kind === KIND.special) path = ncomp > 0 ? cString(bytes, at + REC_PATH, 256).text : "";
    else if (kind === KIND.heap) path = "[heap]";
    else if (kind === KIND.stack) path = "[stack]";
    records.push({
      start: v.getBigUint64(at, true),
      end: v.getBigUint64(at + 8, true),
      flags: v.getBigUint64(at + 16, true),
      pgoff: v.getBigUint64(at + 24, true),
      ino: v.getBigUint64(at + 32, true),
      dev: v.getUint32(at + 40, true),
      path,
    });
  }
  return { err, records, next: truncated ? v.getBigUint64(16, true) : null };
}

const hex = (v: bigint, w: number) => v.toString(16).padStart(w, "0");

/** `r`/`w`/`x` from VM_READ/VM_WRITE/VM_EXEC, `s` for VM_MAYSHARE else `p` (show_map_vma). */
export function permsOf(flags: bigint): string {
  return `${flags & 1n ? "r" : "-"}${flags & 2n ? "w" : "-"}${flags & 4n ? "x" : "-"}${flags & 0x80n ? "s" : "p"}`;
}

/** One `/proc/PID/maps` line, padded as the kernel pads the name column. */
export function mapsLine(r: VmaRecord): string {
  const file = r.ino !== 0n || r.path.startsWith("/");
  const offset = file ? r.pgoff << 12n : 0n;
  const dev = `${hex(BigInt(r.dev >>> 20), 2)}:${hex(BigInt(r.dev & 0xfffff), 2)}`;
  const head = `${hex(r.start, 8)}-${hex(r.end, 8)} ${permsOf(r.flags)} ${hex(offset, 8)} ${dev} ${r.ino} `;
  return r.path ? `${head.padEnd(73, " ")}${r.path}` : head;
}

/**
 * Runs the built-in program over a task's VMAs, resuming at `next_addr` until the walk ends.
 * Returns the records and the `_new` result of the first run.
 */
export function walkVmas(
  kernel: Kernel,
  object: LoadedBpfObject,
  program: string,
  pid: number,
  from: bigint,
): { err: number; records: VmaRecord[] } {
  const prog = object.program(program);
  const bss = object.instance.maps.find((m) => m.name.endsWith(".bss")) as ArrayMap | undefined;
  if (!bss) return bad(`${OBJECT}: no .bss map`);
  const records: VmaRecord[] = [];
  let addr = from;
  let firstErr: number | undefined;
  for (;;) {
    const ctx = new Uint8Array(16);
    const v = new DataView(ctx.buffer);
    v.setUint32(0, pid, true);
    v.setBigUint64(8, addr, true);
    const out = prog.run(ctx);
    if (out.retval !== 0) bad(`${program} returned ${out.retval}`);
    const got = decodeOut(bss.element(0));
    firstErr ??= got.err;
    records.push(...got.records);
    if (got.next === null || got.err !== 0) break;
    addr = got.next;
  }
  void kernel;
  return { err: firstErr ?? 0, records };
}

/**
 * `bpfkit vmas [--pid PID|self] [--from ADDR] [--design D] [--json]`: the main job. Runs the
 * built-in task_vma program through the loader, the vm and the runtime with the chosen iterator
 * design over a live process's address space and prints `/proc/PID/maps`-style lines.
 */
export const registerVmas: RegisterCommand = (program, context) => {
  program
    .command("vmas")
    .description(
      "walk a live process's VMAs with the built-in bpf_iter_task_vma program and print /proc/PID/maps lines (runs without verification: there is no verifier yet)",
    )
    .option("--pid <pid>", "process id, or self", "self")
    .option("--from <addr>", "start address (hex with 0x, or decimal): the first VMA with vm_end > ADDR", "0")
    .option("--design <design>", `task_vma design: ${DESIGN_NAMES.join(", ")} (default: the kernel's)`)
    .option("--stack-bytes <n>", "size of the on-stack iterator for --design stack (the proposal: 88 or 96)")
    .option(
      "--engine <e>",
      "execution engine: interpreter, or compiled (translated to JavaScript)",
      "interpreter",
    )
    .option(
      "--json",
      "JSON: one object per VMA with start, end, perms, offset, dev, inode, path, vmFlags, pgoff",
    )
    .action((options: VmasOptions) => {
      const pid = options.pid === "self" ? process.pid : Number(options.pid);
      if (!Number.isInteger(pid) || pid <= 0) bad(`--pid ${options.pid}: expected a process id or self`);
      let from: bigint;
      try {
        from = BigInt(options.from ?? "0");
      } catch {
        return bad(`--from ${options.from}: expected an address (0x... or decimal)`);
      }
      if (options.design !== undefined && !DESIGN_NAMES.includes(options.design as DesignName))
        bad(`--design ${options.design}: expected one of ${DESIGN_NAMES.join(", ")}`);
      const stackBytes = options.stackBytes === undefined ? undefined : Number(options.stackBytes);
      if (stackBytes !== undefined && (!Number.isInteger(stackBytes) || stackBytes <= 0))
        bad(`--stack-bytes ${options.stackBytes}: expected a positive integer`);
      if (!ENGINES.includes(options.engine as Engine))
        bad(`--engine ${options.engine}: expected ${ENGINES.join(" or ")}`);
      const { btf, release } = targetBtf();
      const target = readTask(pid);
      const self = readTask(process.pid);
      const tasks = [self];
      if (target.pid !== self.pid) tasks.push(target);
      const design = (options.design as DesignName | undefined) ?? designForKernel(release);
      const kernel = createKernel({
        btf,
        profile: release,
        design,
        stackBytes,
        runtime: { engine: options.engine as Engine },
        snapshot: { tasks, current: process.pid, source: `live /proc (pid ${pid})` },
        taskVma: {
          mmOf: (task) => {
            try {
              return buildMm(importLive(task.info.tgid, { stable: true }));
            } catch (e) {
              return bad(`--pid ${pid}: cannot read /proc/${task.info.tgid}/smaps (${(e as Error).message})`);
            }
          },
        },
      });
      const path = findObject();
      const object = kernel.load(new Uint8Array(readFileSync(path)), { fileName: path });
      const { err, records } = walkVmas(
        kernel,
        object,
        design === "stack" ? "task_vmas_onstack" : "task_vmas",
        pid,
        from,
      );
      if (err !== 0) {
        context.io.err(`bpf_iter_task_vma_new returned ${err} for pid ${pid}\n`);
        context.exitCode = 1;
      }
      if (options.json) {
        const rows = records.map((r) => {
          const line = mapsLine(r).split(/\s+/);
          return {
            start: `0x${hex(r.start, 8)}`,
            end: `0x${hex(r.end, 8)}`,
            perms: permsOf(r.flags),
            offset: `0x${line[2]}`,
            dev: line[3],
            inode: r.ino.toString(),
            path: r.path,
            vmFlags: `0x${r.flags.toString(16)}`,
            pgoff: `0x${r.pgoff.toString(16)}`,
          };
        });
        context.io.out(`${JSON.stringify(rows, null, 2)}\n`);
      } else context.io.out(records.map((r) => `${mapsLine(r)}\n`).join(""));
    });
};
