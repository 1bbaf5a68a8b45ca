import { readdirSync, readFileSync } from "node:fs";
import { availableParallelism, release } from "node:os";
import { RuntimeError } from "./error.js";
import { parseSnapshot, type SystemSnapshot, type TaskInfo } from "./tasks.js";

/** Parses `/proc/PID/task/TID/status` text into a task (undefined when a required field is missing). */
export function parseProcStatus(text: string): TaskInfo | undefined {
  const fields = new Map<string, string>();
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  const num = (k: string): number | undefined => {
    const v = fields.get(k)?.split(/\s+/)[0];
    return v === undefined ? undefined : Number(v);
  };
  const pid = num("Pid");
  const tgid = num("Tgid");
  const comm = fields.get("Name");
  if (pid === undefined || tgid === undefined || comm === undefined) return undefined;
  return {
    pid,
    tgid,
    ppid: num("PPid"),
    comm,
    uid: num("Uid"),
    gid: num("Gid"),
    // Kernel threads have no address space, so their status has no Vm* lines.
    hasMm: fields.has("VmSize"),
  };
}

/**
 * Snapshot of the live system from `/proc`: every thread of every process. Tasks that exit while
 * being read are skipped. `current` defaults to this process's main thread.
 */
export function readProcSnapshot(options: { proc?: string; current?: number } = {}): SystemSnapshot {
  const proc = options.proc ?? "/proc";
  const tasks: TaskInfo[] = [];
  let pids: string[];
  try {
    pids = readdirSync(proc).filter((d) => /^\d+$/.test(d));
  } catch (e) {
    throw new RuntimeError(`cannot read ${proc}: ${(e as Error).message}`, { kind: "snapshot" });
  }
  for (const pid of pids) {
    let tids: string[];
    try {
      tids = readdirSync(`${proc}/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        const t = parseProcStatus(readFileSync(`${proc}/${pid}/task/${tid}/status`, "utf8"));
        if (t) tasks.push(t);
      } catch {
        // The thread exited between readdir and read.
      }
    }
  }
  return {
    source: `live ${proc} at ${new Date().toISOString()}`,
    kernelRelease: release(),
    tasks,
    current: options.current ?? process.pid,
    cpus: possibleCpus() ?? availableParallelism(),
  };
}

/** Possible CPUs from /sys (the number of per-CPU map copies the kernel keeps). */
export function possibleCpus(): number | undefined {
  try {
    const text = readFileSync("/sys/devices/system/cpu/possible", "utf8").trim();
    let n = 0;
    for (const part of text.split(",")) {
      const [a, b] = part.split("-").map(Number);
      n += (b ?? (a as number)) - (a as number) + 1;
    }
    return n;
  } catch {
    return undefined;
  }
}

/** Reads a snapshot saved as JSON (e.g. by `JSON.stringify(readProcSnapshot())`). */
export function readSnapshotFile(path: string): SystemSnapshot {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new RuntimeError(`cannot read snapshot ${path}: ${(e as Error).message}`, { kind: "snapshot" });
  }
  return parseSnapshot(json, path);
}
