import type { CallContext, CallResult } from "@bpfkit/vm";
import { VmError } from "@bpfkit/vm";
import { Errno } from "../errno.js";
import { RuntimeError } from "../error.js";
import { BPF_LOCAL_STORAGE_GET_F_CREATE, MapType } from "../maps/constants.js";
import { RingbufMap } from "../maps/ringbuf.js";
import { TaskStorageMap } from "../maps/task-storage.js";
import type { Runtime } from "../runtime.js";
import { formatPrintf, MAX_PRINTF_ARGS } from "./format.js";

/** A helper implementation: the call (r1..r5, memory) and the runtime around it. */
export type HelperImpl = (call: CallContext, runtime: Runtime) => CallResult;

/** Most iterations `bpf_loop` accepts (`BPF_MAX_LOOPS`). */
export const BPF_LOOP_MAX = 1 << 23;

function readOrFault(call: CallContext, addr: bigint, size: number): Uint8Array | undefined {
  try {
    return call.memory.read(addr, size).slice();
  } catch (e) {
    if (e instanceof VmError) return undefined;
    throw e;
  }
}

/** `probe_read*`: copies or zero-fills the destination and returns -EFAULT on a bad source. */
function probeRead(call: CallContext): number {
  const dst = call.arg(1);
  const size = call.argU32(2);
  const src = readOrFault(call, call.arg(3), size);
  if (!src) {
    call.memory.write(dst, new Uint8Array(size));
    return -Errno.EFAULT;
  }
  call.memory.write(dst, src);
  return 0;
}

/**
 * `probe_read*_str`: copies up to size-1 bytes and a NUL; returns the length with the NUL. A fault
 * anywhere in the string zeroes the destination and returns -EFAULT, as the kernel's nofault copy.
 */
function probeReadStr(call: CallContext): number {
  const dst = call.arg(1);
  const size = call.argU32(2);
  const src = call.arg(3);
  if (size === 0) return 0;
  const out: number[] = [];
  for (let i = 0; i < size - 1; i++) {
    const b = readOrFault(call, src + BigInt(i), 1);
    if (!b) {
      call.memory.write(dst, new Uint8Array(size));
      return -Errno.EFAULT;
    }
    if (b[0] === 0) break;
    out.push(b[0] as number);
  }
  out.push(0);
  call.memory.write(dst, Uint8Array.from(out));
  return out.length;
}

function cString(call: CallContext, addr: bigint, max: number): string {
  return call.memory.readCString(addr, max);
}

/**
 * The helpers the runtime implements, by name (without `bpf_`). Helpers not listed here fail with
 * an error naming them; `tail_call` is run by the VM through the runtime's prog_array resolver.
 */
export const STANDARD_HELPERS: Readonly<Record<string, HelperImpl>> = {
  map_lookup_elem: (call, rt) => {
    const map = rt.mapAt(call.arg(1));
    return map.lookup(call.memory.read(call.arg(2), map.keySize));
  },
  map_update_elem: (call, rt) => {
    const map = rt.mapAt(call.arg(1));
    const key = call.memory.read(call.arg(2), map.keySize).slice();
    const size = map.type === MapType.PROG_ARRAY ? 4 : map.valueSize;
    return map.update(key, call.memory.read(call.arg(3), size).slice(), call.argNumber(4));
  },
  map_delete_elem: (call, rt) => {
    const map = rt.mapAt(call.arg(1));
    return map.delete(call.memory.read(call.arg(2), map.keySize).slice());
  },
  map_push_elem: (call, rt) => {
    const map = rt.mapAt(call.arg(1));
    return map.push(call.memory.read(call.arg(2), map.valueSize).slice(), call.argNumber(3));
  },
  map_pop_elem: (call, rt) => {
    const map = rt.mapAt(call.arg(1));
    const out = new Uint8Array(map.valueSize);
    const r = map.pop(out);
    if (r === 0) call.memory.write(call.arg(2), out);
    return r;
  },
  map_peek_elem: (call, rt) => {
    const map = rt.mapAt(call.arg(1));
    const out = new Uint8Array(map.valueSize);
    const r = map.peek(out);
    if (r === 0) call.memory.write(call.arg(2), out);
    return r;
  },
  probe_read: probeRead,
  probe_read_kernel: probeRead,
  probe_read_user: probeRead,
  probe_read_str: probeReadStr,
  probe_read_kernel_str: probeReadStr,
  probe_read_user_str: probeReadStr,
  ktime_get_ns: (_c, rt) => rt.clock.monotonicNs(),
  ktime_get_boot_ns: (_c, rt) => rt.clock.bootNs(),
  ktime_get_coarse_ns: (_c, rt) => rt.clock.monotonicNs(),
  ktime_get_tai_ns: (_c, rt) => rt.clock.bootNs(),
  jiffies64: (_c, rt) => rt.clock.monotonicNs() / 4_000_000n,
  get_prandom_u32: (_c, rt) => rt.random(),
  get_smp_processor_id: (_c, rt) => rt.cpu,
  get_numa_node_id: () => 0,
  get_current_pid_tgid: (_c, rt) => {
    const t = rt.tasks.info(rt.tasks.currentPid);
    return t ? (BigInt(t.tgid) << 32n) | BigInt(t.pid >>> 0) : 0n;
  },
  get_current_uid_gid: (_c, rt) => {
    const t = rt.tasks.info(rt.tasks.currentPid);
    return t ? (BigInt(t.gid ?? 0) << 32n) | BigInt((t.uid ?? 0) >>> 0) : 0n;
  },
  get_current_comm: (call, rt) => {
    const size = call.argU32(2);
    const t = rt.tasks.info(rt.tasks.currentPid);
    const out = new Uint8Array(size);
    if (!t) {
      call.memory.write(call.arg(1), out);
      return -Errno.EINVAL;
    }
    const comm = t.comm.slice(0, Math.min(15, size - 1));
    for (let i = 0; i < comm.length; i++) out[i] = comm.charCodeAt(i) & 0xff;
    call.memory.write(call.arg(1), out);
    return 0;
  },
  get_current_task: (_c, rt) => rt.tasks.current()?.address ?? 0n,
  get_current_task_btf: (_c, rt) => rt.tasks.current()?.address ?? 0n,
  trace_printk: (call, rt) => {
    const fmt = cString(call, call.arg(1), call.argU32(2));
    const text = formatPrintf(fmt, [call.arg(3), call.arg(4), call.arg(5)], (a) => cString(call, a, 4096));
    if (typeof text === "number") return text;
    rt.output.push(text);
    return text.length;
  },
  trace_vprintk: (call, rt) => {
    const fmt = cString(call, call.arg(1), call.argU32(2));
    const args = dataArgs(call, call.arg(3), call.argU32(4));
    if (typeof args === "number") return args;
    const text = formatPrintf(fmt, args, (a) => cString(call, a, 4096));
    if (typeof text === "number") return text;
    rt.output.push(text);
    return text.length;
  },
  snprintf: (call) => {
    const dst = call.arg(1);
    const size = call.argU32(2);
    const fmt = cString(call, call.arg(3), 4096);
    const args = dataArgs(call, call.arg(4), call.argU32(5));
    if (typeof args === "number") return args;
    const text = formatPrintf(fmt, args, (a) => cString(call, a, 4096));
    if (typeof text === "number") return text;
    if (size > 0) {
      const out = new Uint8Array(Math.min(size, text.length + 1));
      for (let i = 0; i < out.length - 1; i++) out[i] = text.charCodeAt(i) & 0xff;
      call.memory.write(dst, out);
    }
    return text.length + 1;
  },
  strncmp: (call) => {
    const n = call.argU32(2);
    const a = call.arg(1);
    const b = call.arg(3);
    for (let i = 0; i < n; i++) {
      const x = Number(call.memory.load(a + BigInt(i), 1));
      const y = Number(call.memory.load(b + BigInt(i), 1));
      if (x !== y) return x < y ? -1 : 1;
      if (x === 0) return 0;
    }
    return 0;
  },
  loop: (call) => {
    const n = call.argU32(1);
    const fn = call.arg(2);
    const ctx = call.arg(3);
    if (call.argNumber(4) !== 0) return -Errno.EINVAL;
    if (n > BPF_LOOP_MAX) return -Errno.E2BIG;
    const insn = call.insn;
    for (let i = 0; i < n; i++) {
      const r = call.invoke(fn, BigInt(i), ctx);
      call.insn = insn;
      if (r === 1n) return i + 1;
    }
    return n;
  },
  for_each_map_elem: (call, rt) => {
    const map = rt.mapAt(call.arg(1));
    const fn = call.arg(2);
    const ctx = call.arg(3);
    if (call.argNumber(4) !== 0) return -Errno.EINVAL;
    const insn = call.insn;
    let count = 0;
    for (const e of map.entries()) {
      const value = map.lookup(e.key);
      if (value === 0n) continue;
      const key = rt.scratch(e.key);
      count++;
      const r = call.invoke(fn, map.address, key, value, ctx);
      call.insn = insn;
      if (r !== 0n) break;
    }
    return count;
  },
  ringbuf_output: (call, rt) => {
    const map = rt.mapAt(call.arg(1));
    if (!(map instanceof RingbufMap)) return -Errno.EINVAL;
    return map.output(call.memory.read(call.arg(2), call.argNumber(3)).slice(), call.argNumber(4));
  },
  ringbuf_reserve: (call, rt) => {
    const map = rt.mapAt(call.arg(1));
    if (!(map instanceof RingbufMap)) return 0n;
    return map.reserve(call.argNumber(2), call.argNumber(3));
  },
  ringbuf_submit: (call, rt) => commitSample(call, rt, false),
  ringbuf_discard: (call, rt) => commitSample(call, rt, true),
  ringbuf_query: (call, rt) => {
    const map = rt.mapAt(call.arg(1));
    return map instanceof RingbufMap ? map.query(call.argNumber(2)) : 0n;
  },
  task_storage_get: (call, rt) => {
    const map = rt.mapAt(call.arg(1));
    const flags = call.argNumber(4);
    const task = rt.tasks.at(call.arg(2));
    if (!(map instanceof TaskStorageMap) || !task || flags & ~BPF_LOCAL_STORAGE_GET_F_CREATE) return 0n;
    const init = call.arg(3) === 0n ? undefined : call.memory.read(call.arg(3), map.valueSize).slice();
    return map.get(task, init, (flags & BPF_LOCAL_STORAGE_GET_F_CREATE) !== 0);
  },
  task_storage_delete: (call, rt) => {
    const map = rt.mapAt(call.arg(1));
    const task = rt.tasks.at(call.arg(2));
    if (!(map instanceof TaskStorageMap)) return -Errno.EINVAL;
    return task ? map.remove(task) : -Errno.EINVAL;
  },
  seq_printf: (call, rt) => {
    if (!rt.iterSeq || call.arg(1) !== rt.iterSeq) return -Errno.EINVAL;
    const fmt = cString(call, call.arg(2), call.argU32(3));
    const args = dataArgs(call, call.arg(4), call.argU32(5));
    if (typeof args === "number") return args;
    const text = formatPrintf(fmt, args, (a) => cString(call, a, 4096));
    if (typeof text === "number") return text;
    rt.iterOutput += text;
    return 0;
  },
  seq_write: (call, rt) => {
    if (!rt.iterSeq || call.arg(1) !== rt.iterSeq) return -Errno.EINVAL;
    for (const b of call.memory.read(call.arg(2), call.argU32(3))) rt.iterOutput += String.fromCharCode(b);
    return 0;
  },
  spin_lock: () => 0,
  spin_unlock: () => 0,
};

function commitSample(call: CallContext, rt: Runtime, discard: boolean): CallResult {
  const sample = call.arg(1);
  for (const map of rt.maps) {
    if (map instanceof RingbufMap && map.commit(sample, discard)) return;
  }
  throw new RuntimeError(
    `bpf_ringbuf_${discard ? "discard" : "submit"} of 0x${sample.toString(16)}, which is not a reserved sample`,
    {
      kind: "helper",
      name: discard ? "bpf_ringbuf_discard" : "bpf_ringbuf_submit",
    },
  );
}

/** The u64 array of `bpf_snprintf`/`trace_vprintk`; -EINVAL when not a multiple of 8 or too long. */
function dataArgs(call: CallContext, addr: bigint, len: number): bigint[] | number {
  if (len % 8 !== 0 || len / 8 > MAX_PRINTF_ARGS) return -Errno.EINVAL;
  const out: bigint[] = [];
  for (let i = 0; i < len; i += 8) out.push(call.memory.load(addr + BigInt(i), 8));
  return out;
}
