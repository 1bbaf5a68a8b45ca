import { loadVmlinux618 } from "@bpfkit/btf/vmlinux-6.18";
import { VmError } from "@bpfkit/vm";
import { describe, expect, it } from "vitest";
import {
  createRuntime,
  defaultKfuncs,
  dumpMap,
  KF,
  MapType,
  type ProgType,
  type RingbufMap,
  type Runtime,
  RuntimeError,
  steppingClock,
  taskLayout,
} from "../src/index.js";
import { asm } from "./asm.js";

const u32le = (...n: number[]): Uint8Array => new Uint8Array(new Uint32Array(n).buffer);
const text = (s: string): Uint8Array => new Uint8Array([...s].map((c) => c.charCodeAt(0)));

function run(rt: Runtime, src: string, ctx?: Uint8Array, type: ProgType = "syscall", data?: Uint8Array) {
  const prog = rt.load({ name: "t", type, insns: asm(rt, src) });
  return rt.run(prog, { ctx, data });
}

describe("maps from programs", () => {
  it("counts in an array slot through the value pointer and dumps like bpftool", () => {
    const rt = createRuntime();
    rt.createMap({ name: "counts", type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 2 });
    const src = `
      r6 = r1
      r1 = *(u32 *)(r6 + 0)
      *(u32 *)(r10 - 4) = r1
      r1 = map counts
      r2 = r10
      r2 += -4
      call 1
      if r0 == 0 goto +4
      r1 = 1
      lock *(u64 *)(r0 + 0) += r1
      r0 = *(u64 *)(r0 + 0)
      exit
      r0 = -1
      exit`;
    expect(run(rt, src, u32le(1)).retval).toBe(1);
    expect(run(rt, src, u32le(1)).retval).toBe(2);
    expect(run(rt, src, u32le(2)).retval).toBe(-1);
    expect(rt.dumpMaps().counts?.[1]).toEqual({
      key: ["0x01", "0x00", "0x00", "0x00"],
      value: ["0x02", "0x00", "0x00", "0x00", "0x00", "0x00", "0x00", "0x00"],
    });
  });

  it("returns the kernel's errno to the program on hash updates (BPF_NOEXIST on an existing key)", () => {
    const rt = createRuntime();
    rt.createMap({ name: "h", type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 1 });
    const update = (key: number, flags: number) => `
      r1 = ${key}
      *(u32 *)(r10 - 4) = r1
      r1 = 7
      *(u64 *)(r10 - 16) = r1
      r1 = map h
      r2 = r10
      r2 += -4
      r3 = r10
      r3 += -16
      r4 = ${flags}
      call 2
      exit`;
    expect(run(rt, update(1, 1)).retval).toBe(0);
    expect(run(rt, update(1, 1)).retval).toBe(-17);
    expect(run(rt, update(2, 0)).retval).toBe(-7);
    expect(run(rt, update(2, 2)).retval).toBe(-2);
  });

  it("keeps a per-CPU copy per CPU and gives the program its own", () => {
    const rt = createRuntime({ cpus: 4, cpu: 2 });
    const m = rt.createMap({
      name: "pc",
      type: MapType.PERCPU_ARRAY,
      keySize: 4,
      valueSize: 4,
      maxEntries: 1,
    });
    run(
      rt,
      `
      r1 = 0
      *(u32 *)(r10 - 4) = r1
      r1 = map pc
      r2 = r10
      r2 += -4
      call 1
      r1 = 9
      *(u32 *)(r0 + 0) = r1
      call 8
      exit`,
    );
    const v = m.sysLookup(u32le(0)) as Uint8Array;
    expect([...v]).toEqual([
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ]);
    expect(dumpMap(m)[0]?.values?.map((x) => x.cpu)).toEqual([0, 1, 2, 3]);
  });

  it("per-CPU hash: a program's insert sets its CPU's copy and zeroes the others; lookups see their CPU", () => {
    const rt = createRuntime({ cpus: 2, cpu: 1 });
    const m = rt.createMap({
      name: "ph",
      type: MapType.PERCPU_HASH,
      keySize: 4,
      valueSize: 4,
      maxEntries: 4,
    });
    const put =
      "r1 = 3\n*(u32 *)(r10 - 4) = r1\nr1 = 77\n*(u32 *)(r10 - 8) = r1\nr1 = map ph\nr2 = r10\nr2 += -4\nr3 = r10\nr3 += -8\nr4 = 0\ncall 2\nexit";
    const get =
      "r1 = 3\n*(u32 *)(r10 - 4) = r1\nr1 = map ph\nr2 = r10\nr2 += -4\ncall 1\nr0 = *(u32 *)(r0 + 0)\nexit";
    expect(run(rt, put).retval).toBe(0);
    expect([...(m.sysLookup(u32le(3)) as Uint8Array)]).toEqual([
      0, 0, 0, 0, 0, 0, 0, 0, 77, 0, 0, 0, 0, 0, 0, 0,
    ]);
    expect(run(rt, get).retval).toBe(77);
    rt.cpu = 0;
    expect(run(rt, get).retval).toBe(0);
  });

  it("LRU hash: lookups keep an element fresh, an insert into a full map evicts the least recently used", () => {
    const rt = createRuntime();
    const m = rt.createMap({ name: "lru", type: MapType.LRU_HASH, keySize: 4, valueSize: 4, maxEntries: 2 });
    m.sysUpdate(u32le(1), u32le(1), 0);
    m.sysUpdate(u32le(2), u32le(2), 0);
    expect(m.lookup(u32le(1))).not.toBe(0n);
    expect(m.sysUpdate(u32le(3), u32le(3), 0)).toBe(0);
    expect(m.sysLookup(u32le(2))).toBe(-2);
    expect(m.sysLookup(u32le(1))).toEqual(u32le(1));
  });

  it("global data: .data is writable, .rodata is frozen and read-only to programs", () => {
    const rt = createRuntime();
    rt.createGlobalData(".data", u32le(41));
    const ro = rt.createGlobalData(".rodata", new Uint8Array([0, 16, 0, 0, 0, 0, 0, 0]), { readonly: true });
    const r = run(
      rt,
      `
      r1 = mapvalue .data+0
      r2 = *(u32 *)(r1 + 0)
      r2 += 1
      *(u32 *)(r1 + 0) = r2
      r1 = mapvalue .rodata+0
      r0 = *(u64 *)(r1 + 0)
      exit`,
    );
    expect(r.retval).toBe(4096);
    expect(rt.dumpMaps()[".data"]?.[0]?.value?.[0]).toBe("0x2a");
    expect(() => run(rt, "r1 = mapvalue .rodata+0\nr2 = 1\n*(u64 *)(r1 + 0) = r2\nexit")).toThrow(
      /read-only/,
    );
    expect(ro.sysUpdate(u32le(0), new Uint8Array(8), 0)).toBe(-1);
  });

  it("tail-calls through a prog_array and falls through on an empty slot", () => {
    const rt = createRuntime();
    const jmp = rt.createMap({
      name: "jmp",
      type: MapType.PROG_ARRAY,
      keySize: 4,
      valueSize: 4,
      maxEntries: 2,
    });
    const a = rt.load({
      name: "a",
      type: "syscall",
      insns: asm(rt, "r2 = map jmp\nr3 = 1\ncall 12\nr0 = 1\nexit"),
    });
    const b = rt.load({ name: "b", type: "syscall", insns: asm(rt, "r0 = 42\nexit") });
    expect(rt.run(a).retval).toBe(1);
    expect(jmp.sysUpdate(u32le(1), u32le(rt.fd(b)), 1)).toBe(-22);
    expect(jmp.sysUpdate(u32le(1), u32le(rt.fd(b)), 0)).toBe(0);
    expect(rt.run(a).retval).toBe(42);
    expect(rt.run(a).stats.runs.tailCalls).toBe(1);
    const big = rt.createMap({
      name: "big",
      type: MapType.PROG_ARRAY,
      keySize: 4,
      valueSize: 4,
      maxEntries: 300,
    });
    for (const i of [256, 2, 1]) big.sysUpdate(u32le(i), u32le(rt.fd(b)), 0);
    expect(dumpMap(big).map((e) => e.key.join(","))).toEqual([
      "0x01,0x00,0x00,0x00",
      "0x02,0x00,0x00,0x00",
      "0x00,0x01,0x00,0x00",
    ]);
  });

  it("ring buffer: reserve, submit, discard; user space consumes committed samples in order", () => {
    const rt = createRuntime();
    const rb = rt.createMap({
      name: "rb",
      type: MapType.RINGBUF,
      keySize: 0,
      valueSize: 0,
      maxEntries: 4096,
    });
    const src = (value: number, helper: number) => `
      r1 = map rb
      r2 = 8
      r3 = 0
      call 131
      if r0 == 0 goto +6
      r1 = ${value}
      *(u64 *)(r0 + 0) = r1
      r1 = r0
      r2 = 0
      call ${helper}
      r0 = 0
      exit`;
    run(rt, src(77, 132));
    run(rt, src(78, 133));
    run(rt, src(79, 132));
    expect((rb as RingbufMap).consume().map((s) => s[0])).toEqual([77, 79]);
    expect(run(rt, "r1 = map rb\nr2 = 5000\nr3 = 0\ncall 131\nexit").r0).toBe(0n);
  });

  it("hash value pointers stay valid guest memory: an update replaces the element, a delete keeps it readable", () => {
    const rt = createRuntime();
    const h = rt.createMap({ name: "h", type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 2 });
    const v = (n: number) => new Uint8Array(new BigUint64Array([BigInt(n)]).buffer);
    h.sysUpdate(u32le(1), v(5), 0);
    const p = h.lookup(u32le(1));
    h.sysUpdate(u32le(1), v(6), 0);
    // Like a preallocated htab element: the old element still holds the old value...
    expect(rt.memory.load(p, 8)).toBe(5n);
    expect(rt.memory.load(h.lookup(u32le(1)), 8)).toBe(6n);
    const q = h.lookup(u32le(1));
    expect(h.sysDelete(u32le(1))).toBe(0);
    // ...and a deleted element's memory can still be read through a pointer taken before.
    expect(rt.memory.load(q, 8)).toBe(6n);
  });

  it("array of maps: the program looks up the inner map, then a value in it", () => {
    const rt = createRuntime();
    const innerSpec = { name: "inner", type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 2 };
    const outer = rt.createMap({
      name: "outer",
      type: MapType.ARRAY_OF_MAPS,
      keySize: 4,
      valueSize: 4,
      maxEntries: 1,
      inner: innerSpec,
    });
    const inner = rt.createMap(innerSpec);
    inner.sysUpdate(u32le(1), new Uint8Array([9, 0, 0, 0, 0, 0, 0, 0]), 0);
    const src = `
      r1 = 0
      *(u32 *)(r10 - 4) = r1
      r1 = map outer
      r2 = r10
      r2 += -4
      call 1
      if r0 == 0 goto +8
      r1 = r0
      r2 = 1
      *(u32 *)(r10 - 4) = r2
      r2 = r10
      r2 += -4
      call 1
      r0 = *(u64 *)(r0 + 0)
      exit
      r0 = -1
      exit`;
    expect(run(rt, src).retval).toBe(-1);
    expect(outer.sysUpdate(u32le(0), u32le(rt.fd(inner)), 0)).toBe(0);
    expect([...(outer.sysLookup(u32le(0)) as Uint8Array)]).toEqual([...u32le(inner.id)]);
    expect(run(rt, src).retval).toBe(9);
  });

  it("queue push/pop from a program", () => {
    const rt = createRuntime();
    rt.createMap({ name: "q", type: MapType.QUEUE, keySize: 0, valueSize: 8, maxEntries: 1 });
    const push = (v: number, flags: number) =>
      `r1 = ${v}\n*(u64 *)(r10 - 8) = r1\nr1 = map q\nr2 = r10\nr2 += -8\nr3 = ${flags}\ncall 87\nexit`;
    expect(run(rt, push(5, 0)).retval).toBe(0);
    expect(run(rt, push(6, 0)).retval).toBe(-7);
    expect(run(rt, push(6, 2)).retval).toBe(0);
    const pop = "r1 = map q\nr2 = r10\nr2 += -8\ncall 88\nif r0 != 0 goto +1\nr0 = *(u64 *)(r10 - 8)\nexit";
    expect(run(rt, pop).retval).toBe(6);
    expect(run(rt, pop).retval).toBe(-2);
  });
});

describe("callbacks and iterators", () => {
  it("bpf_loop runs the callback through the vm until it returns 1", () => {
    const rt = createRuntime();
    const r = run(
      rt,
      `
      r6 = r1
      r1 = 10
      r2 = func +7
      r3 = r6
      r4 = 0
      call 181
      *(u32 *)(r6 + 4) = r0
      r0 = 0
      exit
      r3 = *(u32 *)(r2 + 0)
      r3 += r1
      *(u32 *)(r2 + 0) = r3
      r0 = 0
      if r1 != 5 goto +1
      r0 = 1
      exit`,
      u32le(0, 0),
    );
    expect([...new Uint32Array(r.ctxOut!.buffer)]).toEqual([15, 6]);
    expect(r.stats.runs.maxFrames).toBe(2);
  });

  it("bpf_for_each_map_elem visits every array element with key and value pointers", () => {
    const rt = createRuntime();
    const m = rt.createMap({ name: "a", type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 3 });
    for (const i of [0, 1, 2])
      m.sysUpdate(u32le(i), new Uint8Array(new BigUint64Array([BigInt(10 ** i)]).buffer), 0);
    const r = run(
      rt,
      `
      r6 = r1
      r1 = map a
      r2 = func +5
      r3 = r6
      r4 = 0
      call 164
      exit
      r5 = *(u64 *)(r3 + 0)
      r1 = *(u32 *)(r2 + 0)
      r5 += r1
      r1 = *(u64 *)(r4 + 0)
      r1 += r5
      *(u64 *)(r4 + 0) = r1
      r0 = 0
      exit`,
      new Uint8Array(8),
    );
    expect(r.retval).toBe(3);
    expect(new BigUint64Array(r.ctxOut!.buffer)[0]).toBe(111n + 3n);
  });

  it("bpf_iter_num_new/next/destroy walk [start, end) and refuse start > end", () => {
    const rt = createRuntime();
    const loop = (start: number, end: number) => `
      r1 = r10
      r1 += -8
      r2 = ${start}
      r3 = ${end}
      kcall bpf_iter_num_new
      r6 = 0
      r1 = r10
      r1 += -8
      kcall bpf_iter_num_next
      if r0 == 0 goto +3
      r1 = *(u32 *)(r0 + 0)
      r6 += r1
      goto -7
      r1 = r10
      r1 += -8
      kcall bpf_iter_num_destroy
      r0 = r6
      exit`;
    expect(run(rt, loop(0, 5)).retval).toBe(10);
    expect(run(rt, loop(-3, 0)).retval).toBe(-6);
    expect(run(rt, loop(5, 1)).retval).toBe(0);
    expect(run(rt, "r1 = r10\nr1 += -8\nr2 = 5\nr3 = 1\nkcall bpf_iter_num_new\nexit").retval).toBe(-22);
    expect(run(rt, "r1 = r10\nr1 += -8\nr2 = 0\nr3 = 0x7fffffff\nkcall bpf_iter_num_new\nexit").retval).toBe(
      -7,
    );
  });
});

describe("helpers", () => {
  const snapshot = {
    tasks: [
      { pid: 1, tgid: 1, comm: "init" },
      { pid: 99, tgid: 99, ppid: 1, comm: "server", uid: 1000, gid: 100 },
      { pid: 100, tgid: 99, ppid: 1, comm: "worker", uid: 1000, gid: 100 },
    ],
    current: 100,
  };

  it("current task: pid_tgid, uid_gid and comm of the configured task", () => {
    const rt = createRuntime({ snapshot });
    expect(run(rt, "call 14\nexit").r0).toBe((99n << 32n) | 100n);
    expect(run(rt, "call 15\nexit").r0).toBe((100n << 32n) | 1000n);
    const r = run(rt, "r1 = r10\nr1 += -16\nr2 = 16\ncall 16\nr0 = *(u64 *)(r10 - 16)\nexit");
    expect(Buffer.from(new BigUint64Array([r.r0]).buffer).toString("latin1")).toBe("worker\0\0");
    rt.tasks.currentPid = 1;
    expect(run(rt, "call 14\nexit").r0).toBe((1n << 32n) | 1n);
  });

  it("prandom is reproducible per seed; clocks are pluggable", () => {
    const a = createRuntime({ seed: 7 });
    const b = createRuntime({ seed: 7 });
    const c = createRuntime({ seed: 8 });
    const three = (rt: Runtime) => [0, 1, 2].map(() => run(rt, "call 7\nexit").r0);
    const ra = three(a);
    expect(three(b)).toEqual(ra);
    expect(three(c)).not.toEqual(ra);
    const t = createRuntime({ clock: steppingClock(5000n, 10n) });
    expect(run(t, "call 5\nr6 = r0\ncall 5\nr0 -= r6\nexit").r0).toBe(10n);
  });

  it("bpf_snprintf formats into the context and bpf_trace_printk output is captured", () => {
    const rt = createRuntime();
    rt.createGlobalData(".rodata", text("n=%d %s!\0x=%u\n\0"), { readonly: true });
    rt.createGlobalData(".data", text("ok\0\0"));
    const r = run(
      rt,
      `
      r6 = r1
      r1 = -42
      *(u64 *)(r10 - 16) = r1
      r1 = mapvalue .data+0
      *(u64 *)(r10 - 8) = r1
      r1 = r6
      r2 = 16
      r3 = mapvalue .rodata+0
      r4 = r10
      r4 += -16
      r5 = 16
      call 165
      exit`,
      new Uint8Array(16),
    );
    expect(r.retval).toBe(10);
    expect(Buffer.from(r.ctxOut!).toString("latin1")).toBe("n=-42 ok!\0\0\0\0\0\0\0");
    run(rt, "r1 = mapvalue .rodata+9\nr2 = 6\nr3 = 7\ncall 6\nexit");
    expect(rt.output).toEqual(["x=7\n"]);
  });

  it("probe_read_kernel copies or zero-fills with -EFAULT; strncmp compares", () => {
    const rt = createRuntime();
    rt.createGlobalData(".rodata", text("abc\0abd\0"), { readonly: true });
    expect(run(rt, "r1 = r10\nr1 += -8\nr2 = 8\nr3 = 0x10\ncall 113\nexit").retval).toBe(-14);
    expect(run(rt, "r1 = mapvalue .rodata+0\nr2 = 3\nr3 = mapvalue .rodata+4\ncall 182\nexit").retval).toBe(
      -1,
    );
    expect(run(rt, "r1 = mapvalue .rodata+0\nr2 = 2\nr3 = mapvalue .rodata+4\ncall 182\nexit").retval).toBe(
      0,
    );
    const s = run(rt, "r1 = r10\nr1 += -8\nr2 = 8\nr3 = mapvalue .rodata+4\ncall 115\nexit");
    expect(s.retval).toBe(4);
  });

  it("an unimplemented helper fails with an error naming it", () => {
    const rt = createRuntime();
    expect(() => run(rt, "call 26\nexit")).toThrow(/bpf_skb_load_bytes \(id 26\) is not implemented/);
  });

  it("a registered kfunc binds by name and is refused in program types it does not allow", () => {
    const kfuncs = defaultKfuncs().register({
      name: "bpf_demo_twice",
      flags: KF.TRUSTED_ARGS,
      progTypes: ["syscall"],
      impl: (call) => call.arg(1) * 2n,
    });
    const rt = createRuntime({ kfuncs });
    expect(run(rt, "r1 = 21\nkcall bpf_demo_twice\nexit").retval).toBe(42);
    expect(() =>
      run(rt, "r1 = 21\nkcall bpf_demo_twice\nexit", undefined, "xdp", new Uint8Array(14)),
    ).toThrow(/bpf_demo_twice, which xdp programs may not call \(allowed: syscall\)/);
  });

  it("an unknown kfunc is refused at load with its BTF name", () => {
    const rt = createRuntime();
    expect(() =>
      rt.load({ name: "p", type: "syscall", insns: [{ code: 0x85, dst: 0, src: 2, off: 0, imm: 12345 }] }),
    ).toThrow(RuntimeError);
  });
});

describe("tasks from the target BTF", () => {
  const btf = loadVmlinux618();
  const layout = taskLayout(btf);
  const snapshot = {
    tasks: [
      { pid: 1, tgid: 1, comm: "init" },
      { pid: 4242, tgid: 4242, ppid: 1, comm: "victim" },
    ],
  };

  it("bpf_task_from_pid gives a task_struct with pid, tgid and comm at the BTF offsets", () => {
    const rt = createRuntime({ btf, snapshot });
    expect(layout.size).toBe(btf.sizeof(btf.find("task_struct", 4)!));
    const src = (pid: number) => `
      r1 = ${pid}
      kcall bpf_task_from_pid
      if r0 == 0 goto +6
      r6 = r0
      r7 = *(u32 *)(r6 + ${layout.tgid})
      r8 = *(u8 *)(r6 + ${layout.comm})
      r1 = r6
      kcall bpf_task_release
      r0 = r8
      exit`;
    expect(run(rt, src(4242)).retval).toBe("v".charCodeAt(0));
    expect(run(rt, src(7)).retval).toBe(0);
    expect(rt.tasks.get(4242)?.refs).toBe(0);
    expect(rt.kfuncProto("bpf_task_from_pid")).toBeGreaterThan(0);
    expect(rt.kfuncId("bpf_task_from_pid")).toBe(btf.find("bpf_task_from_pid", 12));
  });

  it("task_struct is read-only; real_parent points at the parent's task_struct", () => {
    const rt = createRuntime({ btf, snapshot, kfuncs: undefined });
    rt.tasks.currentPid = 4242;
    const parentPid = run(
      rt,
      `call 158\nr1 = *(u64 *)(r0 + ${layout.realParent})\nr0 = *(u32 *)(r1 + ${layout.pid})\nexit`,
    );
    expect(parentPid.retval).toBe(1);
    expect(() => run(rt, `call 158\nr1 = 5\n*(u32 *)(r0 + ${layout.pid}) = r1\nexit`)).toThrow(VmError);
  });

  it("task storage: created on demand for the current task, read back by pid", () => {
    const rt = createRuntime({ btf, snapshot: { ...snapshot, current: 4242 } });
    const ts = rt.createMap({
      name: "ts",
      type: MapType.TASK_STORAGE,
      keySize: 4,
      valueSize: 8,
      maxEntries: 0,
      flags: 1,
    });
    const src = (flags: number) => `
      call 158
      r2 = r0
      r1 = map ts
      r3 = 0
      r4 = ${flags}
      call 156
      if r0 == 0 goto +3
      r1 = 5
      *(u64 *)(r0 + 0) = r1
      r0 = 0
      exit`;
    expect(run(rt, src(0)).r0).toBe(0n);
    expect(ts.sysLookup(u32le(4242))).toBe(-2);
    expect(run(rt, src(1)).r0).toBe(0n);
    expect([...(ts.sysLookup(u32le(4242)) as Uint8Array)]).toEqual([5, 0, 0, 0, 0, 0, 0, 0]);
    expect(run(rt, "call 158\nr2 = r0\nr1 = map ts\ncall 157\nexit").retval).toBe(0);
    expect(run(rt, "call 158\nr2 = r0\nr1 = map ts\ncall 157\nexit").retval).toBe(-2);
  });
});

describe("iterators", () => {
  it("iter/task: one call per task in pid order, then the stop call with task NULL; seq_printf output", () => {
    const btf = loadVmlinux618();
    const L = taskLayout(btf);
    const rt = createRuntime({
      btf,
      snapshot: {
        tasks: [
          { pid: 7, tgid: 7, comm: "b" },
          { pid: 3, tgid: 3, comm: "a" },
          { pid: 8, tgid: 7, comm: "b2" },
        ],
      },
    });
    rt.createGlobalData(".rodata", text("%d %d\n\0end\n\0"), { readonly: true });
    const prog = rt.load({
      name: "dump_task",
      type: "iter",
      insns: asm(
        rt,
        `
        r6 = *(u64 *)(r1 + 0)
        r7 = *(u64 *)(r1 + 8)
        r1 = *(u64 *)(r6 + 0)
        if r7 == 0 goto +12
        r2 = *(u32 *)(r7 + ${L.pid})
        *(u64 *)(r10 - 16) = r2
        r2 = *(u32 *)(r7 + ${L.tgid})
        *(u64 *)(r10 - 8) = r2
        r2 = mapvalue .rodata+0
        r3 = 7
        r4 = r10
        r4 += -16
        r5 = 16
        call 126
        exit
        r2 = mapvalue .rodata+7
        r3 = 4
        call 127
        r0 = 0
        exit`,
      ),
    });
    expect(rt.runTaskIter(prog)).toBe("3 3\n7 7\n8 7\nend\n");
    expect(() => rt.run(prog)).toThrow(/runTaskIter/);
  });
});

describe("program types", () => {
  const xdp = `
    r2 = *(u32 *)(r1 + 0)
    r3 = *(u32 *)(r1 + 4)
    r4 = r2
    r4 += 14
    if r4 > r3 goto +5
    r5 = *(u8 *)(r2 + 12)
    r5 += 1
    *(u8 *)(r2 + 12) = r5
    r0 = 2
    exit
    r0 = 1
    exit`;

  it("xdp: data/data_end are real pointers into the packet; dataOut has the program's writes", () => {
    const rt = createRuntime();
    const frame = new Uint8Array(14).fill(0xaa);
    const r = run(rt, xdp, undefined, "xdp", frame);
    expect(r.retval).toBe(2);
    expect(r.dataOut?.[12]).toBe(0xab);
    expect(frame[12]).toBe(0xaa);
    expect(run(rt, xdp, undefined, "xdp", new Uint8Array(20)).retval).toBe(2);
    // BPF_PROG_TEST_RUN refuses an XDP frame shorter than an Ethernet header with -EINVAL.
    expect(() => run(rt, xdp, undefined, "xdp", new Uint8Array(10))).toThrow(RuntimeError);
  });

  it("xdp: the context pointer survives a spill to the stack", () => {
    const rt = createRuntime();
    const r = run(
      rt,
      "*(u64 *)(r10 - 8) = r1\nr1 = 0\nr6 = *(u64 *)(r10 - 8)\nr2 = *(u32 *)(r6 + 4)\nr3 = *(u32 *)(r6 + 0)\nr2 -= r3\nr0 = r2\nexit",
      undefined,
      "xdp",
      new Uint8Array(60),
    );
    expect(r.retval).toBe(60);
  });

  it("socket filter: skb->len and legacy packet loads", () => {
    const rt = createRuntime();
    const frame = new Uint8Array(14 + 20);
    frame[12] = 0x08;
    frame[14 + 9] = 17;
    const r = run(
      rt,
      "r6 = r1\nr0 = *(u8 *)skb[9]\nr1 = *(u32 *)(r6 + 0)\nr0 += r1\nexit",
      undefined,
      "socket_filter",
      frame,
    );
    // The filter sees the packet from the network header on: skb[9] is the IP protocol, len is 20.
    expect(r.retval).toBe(17 + 20);
  });
});
