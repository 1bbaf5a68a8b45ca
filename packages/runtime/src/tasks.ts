import type { Btf } from "@bpfkit/btf";
import type { Memory, Region } from "@bpfkit/vm";
import { RuntimeError } from "./error.js";

/** One task (thread) of a system snapshot: what `/proc/PID/task/TID/{stat,status}` tell. */
export interface TaskInfo {
  /** Thread id (the kernel's `pid`). */
  pid: number;
  /** Thread group id (the process id). */
  tgid: number;
  /** Parent process id (0 for the roots). */
  ppid?: number;
  comm: string;
  uid?: number;
  gid?: number;
  /** False for kernel threads (no `mm`). Default true. */
  hasMm?: boolean;
  /** `task->flags` (PF_*). */
  flags?: number;
}

/** A saved system: its tasks and which of them is "current". JSON-serialisable. */
export interface SystemSnapshot {
  /** Where it came from, e.g. "live /proc on host at 2026-11-25T16:00:00Z". */
  source?: string;
  kernelRelease?: string;
  tasks: TaskInfo[];
  /** pid of the current task (default: the first task). */
  current?: number;
  /** Possible CPUs (default 1). */
  cpus?: number;
}

/** Checks a parsed snapshot file; throws `RuntimeError` naming the first bad field. */
export function parseSnapshot(json: unknown, where = "snapshot"): SystemSnapshot {
  const s = json as Partial<SystemSnapshot>;
  if (typeof s !== "object" || s === null || !Array.isArray(s.tasks))
    throw new RuntimeError(`${where}: expected an object with a "tasks" array`, { kind: "snapshot" });
  s.tasks.forEach((t, i) => {
    if (!Number.isInteger(t?.pid) || !Number.isInteger(t?.tgid) || typeof t?.comm !== "string")
      throw new RuntimeError(`${where}: tasks[${i}] needs integer pid and tgid and a string comm`, {
        kind: "snapshot",
      });
  });
  return s as SystemSnapshot;
}

/** Byte offsets of the task_struct fields the runtime fills, from the target BTF. */
export interface TaskLayout {
  size: number;
  pid: number;
  tgid: number;
  comm: number;
  flags: number;
  mm: number;
  realParent: number;
  parent: number;
  groupLeader: number;
  /** mm_struct size (the object `mm` points to). */
  mmSize: number;
}

/**
 * Without BTF, a small stand-in layout; programs built against vmlinux.h need the target BTF,
 * whose offsets `taskLayout` reads.
 */
export const FALLBACK_TASK_LAYOUT: TaskLayout = {
  size: 64,
  pid: 0,
  tgid: 4,
  comm: 8,
  flags: 24,
  mm: 32,
  realParent: 40,
  parent: 48,
  groupLeader: 56,
  mmSize: 64,
};

/** task_struct offsets from `btf` (bytes). */
export function taskLayout(btf: Btf): TaskLayout {
  const task = btf.find("task_struct", 4);
  const mm = btf.find("mm_struct", 4);
  if (task === undefined)
    throw new RuntimeError("the target BTF has no struct task_struct", { kind: "task", name: "task_struct" });
  const off = (name: string): number => {
    const m = btf.findMember(task, name);
    if (!m) throw new RuntimeError(`struct task_struct has no member ${name}`, { kind: "task", name });
    return m.bitOffset / 8;
  };
  return {
    size: btf.sizeof(task),
    pid: off("pid"),
    tgid: off("tgid"),
    comm: off("comm"),
    flags: off("flags"),
    mm: off("mm"),
    realParent: off("real_parent"),
    parent: off("parent"),
    groupLeader: off("group_leader"),
    mmSize: mm === undefined ? 64 : btf.sizeof(mm),
  };
}

/** A task with its `task_struct` in guest memory (read-only to programs, as trusted kernel pointers are). */
export interface Task {
  readonly info: TaskInfo;
  readonly pid: number;
  readonly region: Region;
  readonly address: bigint;
  /** References taken by `bpf_task_acquire`/`bpf_task_from_pid` and not yet released. */
  refs: number;
}

/**
 * The tasks of a snapshot, materialised as `task_struct` objects on first use (a system has
 * hundreds of tasks; a program touches a few). Parent and group-leader pointers are filled with
 * the related tasks' addresses, materialising them too.
 */
export class TaskTable {
  readonly #infos = new Map<number, TaskInfo>();
  readonly #tasks = new Map<number, Task>();
  readonly #byAddress = new Map<bigint, Task>();
  readonly layout: TaskLayout;
  currentPid: number;

  constructor(
    readonly memory: Memory,
    snapshot: SystemSnapshot,
    btf: Btf | undefined,
  ) {
    for (const t of snapshot.tasks) this.#infos.set(t.pid, t);
    this.layout = btf ? taskLayout(btf) : FALLBACK_TASK_LAYOUT;
    this.currentPid = snapshot.current ?? snapshot.tasks[0]?.pid ?? 0;
  }

  /** Adds or replaces a task (before it is materialised). */
  add(info: TaskInfo): void {
    this.#infos.set(info.pid, info);
  }

  info(pid: number): TaskInfo | undefined {
    return this.#infos.get(pid);
  }

  get infos(): TaskInfo[] {
    return [...this.#infos.values()];
  }

  /** The task with this pid (materialised), or undefined. */
  get(pid: number): Task | undefined {
    const found = this.#tasks.get(pid);
    if (found) return found;
    const info = this.#infos.get(pid);
    if (!info) return undefined;
    const L = this.layout;
    const region = this.memory.map(L.size, { name: `task_struct[${pid}]`, kind: "kernel", writable: false });
    const task: Task = { info, pid, region, address: region.base, refs: 0 };
    this.#tasks.set(pid, task);
    this.#byAddress.set(region.base, task);
    const v = region.view;
    v.setInt32(L.pid, info.pid, true);
    v.setInt32(L.tgid, info.tgid, true);
    v.setUint32(L.flags, info.flags ?? 0, true);
    const comm = info.comm.slice(0, 15);
    for (let i = 0; i < comm.length; i++) region.bytes[L.comm + i] = comm.charCodeAt(i) & 0xff;
    if (info.hasMm !== false) {
      const mm = this.memory.map(L.mmSize, {
        name: `mm_struct[${info.tgid}]`,
        kind: "kernel",
        writable: false,
      });
      v.setBigUint64(L.mm, mm.base, true);
    }
    const leader = info.tgid === pid ? task : this.get(info.tgid);
    v.setBigUint64(L.groupLeader, (leader ?? task).address, true);
    const parent = info.ppid && info.ppid !== pid ? this.get(info.ppid) : undefined;
    v.setBigUint64(L.realParent, (parent ?? task).address, true);
    v.setBigUint64(L.parent, (parent ?? task).address, true);
    return task;
  }

  /** The task whose task_struct starts at `address`, or undefined. */
  at(address: bigint): Task | undefined {
    return this.#byAddress.get(BigInt.asUintN(64, address));
  }

  /** The current task ("current" in the kernel), configurable with `currentPid`. */
  current(): Task | undefined {
    return this.get(this.currentPid);
  }
}
