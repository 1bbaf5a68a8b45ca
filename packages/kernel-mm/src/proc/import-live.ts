import { readFileSync } from "node:fs";
import { Errno, KernelMmError } from "../errors.js";
import { type AddressSpace, importSaved, type SavedProcess } from "./parse-maps.js";

function procPath(pid: number | "self", file: string): string {
  return `/proc/${pid}/${file}`;
}

/**
 * Reads a live process's `smaps` (one read: it carries the maps header lines too), `stat` and the
 * kernel release. Needs ptrace-read access to the target (EACCES otherwise).
 */
export function readProcess(pid: number | "self"): SavedProcess {
  return {
    smaps: readProcFile(pid, "smaps"),
    stat: readProcFile(pid, "stat"),
    release: readFileSync("/proc/sys/kernel/osrelease", "utf8").trim(),
  };
}

/** Reads one `/proc/PID` file, turning "no such process" into an input error that says so. */
function readProcFile(pid: number | "self", file: string): string {
  const path = procPath(pid, file);
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT")
      throw new KernelMmError(`no process with pid ${pid} (${path} is missing)`, Errno.ENOENT, path);
    throw new KernelMmError(`cannot read ${path} (${code ?? (e as Error).message})`, Errno.EINVAL, path);
  }
}

/**
 * Imports a live process. With `stable`, re-reads until two consecutive reads agree, since the
 * target may change between the chunks of one read (spec 6).
 */
export function importLive(
  pid: number | "self",
  options: { stable?: boolean; maxReads?: number } = {},
): AddressSpace {
  let saved = readProcess(pid);
  if (options.stable) {
    for (let i = 1; i < (options.maxReads ?? 5); i++) {
      const again = readProcess(pid);
      const same = headers(again.smaps ?? "") === headers(saved.smaps ?? "");
      saved = again;
      if (same) break;
    }
  }
  return importSaved(saved);
}

function headers(smaps: string): string {
  return smaps
    .split("\n")
    .filter((l) => /^[0-9a-f]+-[0-9a-f]+ /.test(l) || l.startsWith("VmFlags"))
    .join("\n");
}
