import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseLlvm } from "@bpfkit/bpf-isa";
import { describe, expect, it } from "vitest";
import { hasKernelOracle, skipReason } from "../../../scripts/test-env.js";
import { createRuntime, type MapSpec, MapType, type Runtime } from "../src/index.js";

/** One scenario: a map and a list of bpf() commands, run on the live kernel and on the runtime. */
interface Scenario {
  name: string;
  map: {
    type: number;
    key: number;
    value: number;
    max: number;
    flags?: number;
    btf?: boolean | "lock";
    inner?: Scenario["map"];
  };
  ops: (string | number | null)[][];
}

const k4 = (n: number): string => Buffer.from(new Uint32Array([n]).buffer).toString("hex");
const v8 = (n: number): string => Buffer.from(new BigUint64Array([BigInt(n)]).buffer).toString("hex");
const ANY = 0;
const NOEXIST = 1;
const EXIST = 2;
const LOCK = 4;

function possibleCpus(): number {
  const text = readFileSync("/sys/devices/system/cpu/possible", "utf8").trim();
  let n = 0;
  for (const part of text.split(",")) {
    const [a, b] = part.split("-").map(Number);
    n += (b ?? (a as number)) - (a as number) + 1;
  }
  return n;
}

function percpuValue(n: number, cpus: number, size = 8): string {
  let s = "";
  for (let c = 0; c < cpus; c++)
    s += Buffer.from(new BigUint64Array([BigInt(n + c)]).buffer)
      .toString("hex")
      .slice(0, size * 2)
      .padEnd(((size + 7) & ~7) * 2, "0");
  return s;
}

function scenarios(cpus: number): Scenario[] {
  const hashOps = (map: Scenario["map"]): Scenario["ops"] =>
    [
      ["lookup", k4(1), 0],
      ["update", k4(1), v8(10), EXIST],
      ["update", k4(1), v8(10), NOEXIST],
      ["update", k4(1), v8(11), NOEXIST],
      ["update", k4(1), v8(12), EXIST],
      ["update", k4(2), v8(20), ANY],
      ["update", k4(3), v8(30), ANY],
      ["update", k4(4), v8(40), ANY],
      ["update", k4(5), v8(50), ANY],
      ["update", k4(4), v8(41), ANY],
      ["update", k4(5), v8(50), EXIST],
      ["update", k4(1), v8(13), 3],
      ["update", k4(1), v8(13), LOCK],
      ["update", k4(1), v8(13), 8],
      ["lookup", k4(1), 0],
      ["lookup", k4(1), LOCK],
      ["lookup", k4(1), 2],
      ["lookup", k4(9), 0],
      ["delete", k4(9)],
      ["delete", k4(2)],
      ["delete", k4(2)],
      ["update", k4(6), v8(60), NOEXIST],
      ["lookup_and_delete", k4(6), 0],
      ["lookup_and_delete", k4(6), 0],
      ["lookup_and_delete", k4(1), 8],
      ["next", k4(77)],
      ["freeze"],
      ["freeze"],
      ["update", k4(1), v8(1), ANY],
      ["delete", k4(1)],
      ["lookup", k4(3), 0],
    ].map((op) =>
      map.type === MapType.PERCPU_HASH && op[0] === "update"
        ? [op[0], op[1], percpuValue(Number(op[1]?.toString().slice(0, 2)), cpus), op[3] as number]
        : op,
    ) as Scenario["ops"];
  const arrayOps = (percpu: boolean): Scenario["ops"] => {
    const v = (n: number): string => (percpu ? percpuValue(n, cpus) : v8(n));
    return [
      ["lookup", k4(0), 0],
      ["lookup", k4(4), 0],
      ["update", k4(0), v(5), ANY],
      ["update", k4(0), v(5), NOEXIST],
      ["update", k4(0), v(6), EXIST],
      ["update", k4(4), v(6), ANY],
      ["update", k4(4), v(6), NOEXIST],
      ["update", k4(1), v(6), 3],
      ["update", k4(1), v(6), LOCK],
      ["update", k4(9), v(6), 8],
      ["lookup", k4(0), 0],
      ["delete", k4(0)],
      ["delete", k4(9)],
      ["next", null],
      ["next", k4(2)],
      ["next", k4(3)],
      ["next", k4(100)],
      ["lookup_and_delete", k4(0), 0],
      ["freeze"],
      ["update", k4(1), v(7), ANY],
      ["lookup", k4(1), 0],
    ];
  };
  const hash = { type: MapType.HASH, key: 4, value: 8, max: 4 };
  const inner = { type: MapType.ARRAY, key: 4, value: 8, max: 2 };
  return [
    { name: "array", map: { type: MapType.ARRAY, key: 4, value: 8, max: 4 }, ops: arrayOps(false) },
    {
      name: "percpu_array",
      map: { type: MapType.PERCPU_ARRAY, key: 4, value: 8, max: 4 },
      ops: arrayOps(true),
    },
    { name: "hash", map: hash, ops: hashOps(hash) },
    { name: "hash no_prealloc", map: { ...hash, flags: 1 }, ops: hashOps(hash) },
    {
      name: "percpu_hash",
      map: { type: MapType.PERCPU_HASH, key: 4, value: 8, max: 4 },
      ops: hashOps({ type: MapType.PERCPU_HASH, key: 4, value: 8, max: 4 }),
    },
    {
      name: "lru_hash (no overflow)",
      map: { type: MapType.LRU_HASH, key: 4, value: 8, max: 64 },
      ops: [
        ["update", k4(1), v8(1), EXIST],
        ["update", k4(1), v8(1), NOEXIST],
        ["update", k4(1), v8(2), NOEXIST],
        ["update", k4(1), v8(3), LOCK],
        ["update", k4(1), v8(3), 3],
        ["update", k4(1), v8(4), EXIST],
        ["lookup", k4(1), 0],
        ["delete", k4(1)],
        ["delete", k4(1)],
        ["lookup_and_delete", k4(1), 0],
      ],
    },
    {
      // Which element an overflowing LRU evicts differs (the kernel's LRU is approximate), so
      // only the updates' errnos are compared: an LRU map never refuses for being full.
      name: "lru_hash overflow",
      map: { type: MapType.LRU_HASH, key: 4, value: 8, max: 4 },
      ops: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((k) => ["update", k4(k), v8(k), k % 2 ? NOEXIST : ANY]),
    },
    {
      name: "queue",
      map: { type: MapType.QUEUE, key: 0, value: 8, max: 2 },
      ops: [
        ["lookup", null, 0],
        ["update", null, v8(1), ANY],
        ["update", null, v8(2), ANY],
        ["update", null, v8(3), ANY],
        ["update", null, v8(3), EXIST],
        ["update", null, v8(3), NOEXIST],
        ["update", k4(0), v8(3), ANY],
        ["lookup", null, 0],
        ["lookup_and_delete", null, 0],
        ["lookup_and_delete", null, 0],
        ["lookup_and_delete", null, 0],
        ["delete", null],
        ["next", null],
      ],
    },
    {
      name: "stack",
      map: { type: MapType.STACK, key: 0, value: 8, max: 2 },
      ops: [
        ["update", null, v8(1), ANY],
        ["update", null, v8(2), ANY],
        ["update", null, v8(3), EXIST],
        ["lookup", null, 0],
        ["lookup_and_delete", null, 0],
        ["lookup_and_delete", null, 0],
        ["lookup_and_delete", null, 0],
      ],
    },
    {
      name: "ringbuf",
      map: { type: MapType.RINGBUF, key: 0, value: 0, max: 4096 },
      ops: [
        ["lookup", null, 0],
        ["update", null, "", 0],
        ["delete", null],
        ["next", null],
      ],
    },
    {
      name: "array_of_maps",
      map: { type: MapType.ARRAY_OF_MAPS, key: 4, value: 4, max: 2, inner },
      ops: [
        ["lookup", k4(0), 0],
        ["update_fd", k4(0), "inner", NOEXIST],
        ["update_fd", k4(0), "nofd", ANY],
        ["update_fd", k4(0), "bad", ANY],
        ["update_fd", k4(2), "inner", ANY],
        ["update_fd", k4(0), "inner", ANY],
        ["delete", k4(1)],
        ["delete", k4(2)],
        ["delete", k4(0)],
        ["next", null],
      ],
    },
    {
      // The first program stored fixes the array's program type; another type is refused.
      name: "prog_array",
      map: { type: MapType.PROG_ARRAY, key: 4, value: 4, max: 2 },
      ops: [
        ["lookup", k4(0), 0],
        ["update_fd", k4(0), "prog_socket_filter", NOEXIST],
        ["update_fd", k4(0), "nofd", ANY],
        ["update_fd", k4(2), "prog_socket_filter", ANY],
        ["update_fd", k4(0), "prog_socket_filter", ANY],
        ["update_fd", k4(1), "prog_xdp", ANY],
        ["update_fd", k4(1), "prog_socket_filter", EXIST],
        ["delete", k4(1)],
        ["delete", k4(2)],
        ["delete", k4(0)],
        ["delete", k4(0)],
        ["next", k4(0)],
      ],
    },
    ...[MapType.ARRAY, MapType.HASH, MapType.PERCPU_HASH].map((type) => ({
      // Values are struct { struct bpf_spin_lock l; int x; long y }: BPF_F_LOCK applies to array
      // and hash maps; user space never sees or writes the lock word.
      name: `${MapType.ARRAY === type ? "array" : type === MapType.HASH ? "hash" : "percpu_hash"} with a spin lock`,
      map: { type, key: 4, value: 16, max: 4, btf: "lock" as const },
      ops: [
        ["update", k4(1), "ffffffff0200000003000000000000ff", LOCK],
        ["update", k4(1), "ffffffff0200000003000000000000ff", ANY],
        ["update", k4(1), "ffffffff0400000005000000000000ff", LOCK | EXIST],
        ["update", k4(2), "ffffffff0400000005000000000000ff", LOCK | NOEXIST],
        ["lookup", k4(1), LOCK],
        ["lookup", k4(1), 0],
        ["lookup", k4(2), LOCK],
        ["lookup_and_delete", k4(2), LOCK],
      ] as Scenario["ops"],
    })),
    {
      // Keys are pidfds in the kernel ("self": this process, "badfd": not a file) and pids here.
      name: "task_storage",
      map: { type: MapType.TASK_STORAGE, key: 4, value: 8, max: 0, flags: 1, btf: true },
      ops: [
        ["lookup", "self", 0],
        ["update", "self", v8(1), EXIST],
        ["update", "self", v8(1), NOEXIST],
        ["update", "self", v8(2), NOEXIST],
        ["update", "self", v8(3), EXIST],
        ["update", "self", v8(3), 3],
        ["lookup", "self", 0],
        ["lookup", "badfd", 0],
        ["update", "badfd", v8(3), ANY],
        ["delete", "badfd"],
        ["next", null],
        ["delete", "self"],
        ["delete", "self"],
      ],
    },
    {
      name: "task_storage with max_entries",
      map: { type: MapType.TASK_STORAGE, key: 4, value: 8, max: 1, flags: 1, btf: true },
      ops: [],
    },
    {
      name: "task_storage preallocated",
      map: { type: MapType.TASK_STORAGE, key: 4, value: 8, max: 0, btf: true },
      ops: [],
    },
    {
      name: "hash_of_maps",
      map: { type: MapType.HASH_OF_MAPS, key: 4, value: 4, max: 1, inner },
      ops: [
        ["update_fd", k4(0), "inner", EXIST],
        ["update_fd", k4(0), "inner", NOEXIST],
        ["update_fd", k4(0), "inner", NOEXIST],
        ["update_fd", k4(1), "inner", ANY],
        ["update_fd", k4(1), "bad", ANY],
        ["update_fd", k4(1), "nofd", ANY],
        ["delete", k4(1)],
        ["delete", k4(0)],
      ],
    },
    { name: "array key 8", map: { type: MapType.ARRAY, key: 8, value: 8, max: 4 }, ops: [] },
    { name: "array value 0", map: { type: MapType.ARRAY, key: 4, value: 0, max: 4 }, ops: [] },
    { name: "hash max 0", map: { type: MapType.HASH, key: 4, value: 8, max: 0 }, ops: [] },
    { name: "queue with key", map: { type: MapType.QUEUE, key: 4, value: 8, max: 4 }, ops: [] },
    {
      name: "ringbuf not a power of 2",
      map: { type: MapType.RINGBUF, key: 0, value: 0, max: 12288 },
      ops: [],
    },
    { name: "lru no_prealloc", map: { type: MapType.LRU_HASH, key: 4, value: 8, max: 4, flags: 1 }, ops: [] },
  ];
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
/** The pid that stands for the kernel side's "self" pidfd in the runtime's snapshot. */
const SELF_PID = 4242;
const unhex = (s: string | number | null | undefined): Uint8Array | undefined => {
  if (s === null || s === undefined) return undefined;
  if (s === "self") return new Uint8Array(new Int32Array([SELF_PID]).buffer);
  if (s === "badfd") return new Uint8Array(new Int32Array([9999]).buffer);
  return new Uint8Array(Buffer.from(String(s), "hex"));
};

function specOf(m: Scenario["map"], name: string): MapSpec {
  return {
    name,
    type: m.type,
    keySize: m.key,
    valueSize: m.value,
    maxEntries: m.max,
    flags: m.flags,
    inner: m.inner ? specOf(m.inner, `${name}.inner`) : undefined,
    spinLockOffset: m.btf === "lock" ? 0 : undefined,
  };
}

/** The same scenario on the runtime: [errno, value hex] per op, errno positive like the driver's. */
function runModel(rt: Runtime, sc: Scenario): { create: number; results: [number, string | null][] } {
  let map: ReturnType<Runtime["createMap"]>;
  try {
    map = rt.createMap(specOf(sc.map, sc.name));
  } catch (e) {
    return { create: (e as { errno: number }).errno, results: [] };
  }
  const extra = new Map<string, number>();
  const results: [number, string | null][] = [];
  const code = (r: number): [number, null] => [-r, null];
  const bytes = (r: Uint8Array | number): [number, string | null] =>
    typeof r === "number" ? [-r, null] : [0, hex(r)];
  for (const op of sc.ops) {
    const [kind, a, b, c] = op;
    switch (kind) {
      case "update":
        results.push(code(map.sysUpdate(unhex(a), unhex(b) ?? new Uint8Array(0), Number(c))));
        break;
      case "update_fd": {
        let fd = extra.get(String(b));
        if (fd === undefined) {
          const innerSpec = specOf(sc.map.inner ?? sc.map, `${sc.name}.${b}`);
          if (String(b).startsWith("prog_")) {
            const type = String(b).slice(5) as "socket_filter" | "xdp";
            fd = rt.fd(rt.load({ name: String(b), type, insns: parseLlvm("r0 = 0\nexit") }));
          } else if (b === "inner") fd = rt.fd(rt.createMap(innerSpec));
          else if (b === "bad")
            fd = rt.fd(rt.createMap({ ...innerSpec, valueSize: innerSpec.valueSize + 8 }));
          else fd = 9999;
          extra.set(String(b), fd);
        }
        results.push(code(map.sysUpdate(unhex(a), new Uint8Array(new Uint32Array([fd]).buffer), Number(c))));
        break;
      }
      case "lookup":
        results.push(bytes(map.sysLookup(unhex(a), Number(b))));
        break;
      case "lookup_and_delete":
        results.push(bytes(map.sysLookupAndDelete(unhex(a), Number(b))));
        break;
      case "delete":
        results.push(code(map.sysDelete(unhex(a))));
        break;
      case "next":
        results.push(bytes(map.sysNextKey(unhex(a))));
        break;
      case "freeze":
        results.push(code(map.freeze()));
        break;
    }
  }
  return { create: 0, results };
}

describe.skipIf(
  skipReason("map errno comparison with the live kernel", [
    [hasKernelOracle(), "needs root, bpf() and bpftool"],
  ]),
)("map operations: errno per operation and flag equals the live kernel's", () => {
  const cpus = hasKernelOracle() ? possibleCpus() : 1;
  const list = scenarios(cpus);
  const kernel = hasKernelOracle()
    ? (JSON.parse(
        execFileSync("python3", [join(import.meta.dirname, "kernel", "map-ops.py")], {
          input: JSON.stringify(list),
          encoding: "utf8",
        }),
      ) as { create: number; results: [number, string | null][] }[])
    : [];
  list.forEach((sc, i) => {
    it(sc.name, () => {
      const rt = createRuntime({
        cpus,
        snapshot: { tasks: [{ pid: SELF_PID, tgid: SELF_PID, comm: "self" }] },
      });
      const model = runModel(rt, sc);
      const live = kernel[i] as (typeof kernel)[number];
      // Map-in-map lookups give kernel map ids, which differ between the two; compare errnos there.
      // Hash maps iterate in bucket order, so get_next_key is compared by errno (the contents are
      // compared as sets elsewhere).
      const hashed = [MapType.HASH, MapType.PERCPU_HASH, MapType.LRU_HASH, MapType.HASH_OF_MAPS].includes(
        sc.map.type as 1,
      );
      const strip = (r: typeof model) => ({
        create: r.create,
        results: r.results.map(([e, v], j) =>
          sc.map.inner || sc.map.type === MapType.PROG_ARRAY || (hashed && sc.ops[j]?.[0] === "next")
            ? [e, null]
            : [e, v],
        ),
      });
      const labelled = (r: typeof model) =>
        strip(r).results.map((x, j) => `${JSON.stringify(sc.ops[j]?.slice(0, 2))} -> ${JSON.stringify(x)}`);
      expect(strip(model).create).toBe(strip(live).create);
      expect(labelled(model)).toEqual(labelled(live));
    });
  });
});
