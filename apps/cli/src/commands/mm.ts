import { readFileSync } from "node:fs";
import { type AddressSpace, Errno, importSaved, KernelMmError } from "@bpfkit/kernel-mm";
import { importLive } from "@bpfkit/kernel-mm/proc";
import type { RegisterCommand } from "../context.js";

interface MmOptions {
  pid?: string;
  smaps?: string;
  json?: boolean;
}

function load(options: MmOptions): AddressSpace {
  if (options.smaps !== undefined) {
    return importSaved({ smaps: readFileSync(options.smaps, "utf8") });
  }
  const pid = options.pid ?? "self";
  if (pid !== "self" && !/^\d+$/.test(pid)) {
    throw new KernelMmError(`--pid ${pid}: expected a process id or "self"`, Errno.EINVAL, "--pid");
  }
  return importLive(pid === "self" ? "self" : Number(pid));
}

const hex = (v: bigint, width = 0) => v.toString(16).padStart(width, "0");

/** `bpfkit mm --pid PID [--json]`: the VMAs imported from /proc with the kernel's vm_flags and vm_pgoff. */
export const registerMm: RegisterCommand = (program, context) => {
  program
    .command("mm")
    .description("print a process's VMAs as the kernel holds them (imported from /proc/PID/smaps)")
    .option("--pid <pid>", "process id or self", "self")
    .option("--smaps <file>", "import a saved /proc/PID/smaps instead of a live process")
    .option("--json", "JSON output: {vmas: [{start, end, flags, pgoff, perms, path}]}")
    .action((options: MmOptions) => {
      const space = load(options);
      if (options.json) {
        const vmas = space.vmas.map((v) => ({
          start: Number(v.start),
          end: Number(v.end),
          flags: Number(v.flags),
          pgoff: Number(v.pgoff),
          perms: v.perms,
          path: v.path,
        }));
        context.io.out(`${JSON.stringify({ vmas })}\n`);
        return;
      }
      const lines = space.vmas.map(
        (v) =>
          `${hex(v.start, 12)}-${hex(v.end, 12)} ${v.perms} flags ${hex(v.flags, 8)} pgoff ${hex(v.pgoff, 9)}${v.path ? ` ${v.path}` : ""}`,
      );
      context.io.out(
        `${lines.join("\n")}\n${space.vmas.length} VMAs (map_count), VmFlags table ${space.table}\n`,
      );
    });
};
