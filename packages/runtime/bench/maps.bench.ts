import { lddw, parseLlvm } from "@bpfkit/bpf-isa";
import { bench, describe } from "vitest";
import { createRuntime, MapType } from "../src/index.js";

// A program that looks up 1,000 keys of a 1,000-element hash map in an open loop, against the
// same loop with the lookup replaced by arithmetic: the ratio is the cost of a helper call plus
// a hash lookup in instruction equivalents.
const rt = createRuntime();
const map = rt.createMap({ name: "h", type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 1000 });
for (let i = 0; i < 1000; i++)
  map.sysUpdate(new Uint8Array(new Uint32Array([i]).buffer), new Uint8Array(8), 0);

const loop = (body: string) =>
  rt.load({
    name: "bench",
    type: "syscall",
    insns: [
      ...parseLlvm("r6 = 0\nr7 = 0"),
      ...parseLlvm("*(u32 *)(r10 - 4) = r6"),
      lddw(1, BigInt(rt.fd(map)), 1),
      ...parseLlvm(body),
      ...parseLlvm("r6 += 1\nif r6 < 1000 goto -" + String(parseLlvm(body).length + 4) + "\nr0 = r7\nexit"),
    ],
  });
const withLookup = loop("r2 = r10\nr2 += -4\ncall 1\nif r0 == 0 goto +1\nr7 += 1");
const baseline = loop("r2 = r10\nr2 += -4\nr0 = r2\nif r0 == 0 goto +1\nr7 += 1");

// The user-space face against a plain JS Map holding the same values.
const plain = new Map<string, Uint8Array>();
for (let i = 0; i < 1000; i++) plain.set(String(i), new Uint8Array(8));
const keys = Array.from({ length: 1000 }, (_, i) => new Uint8Array(new Uint32Array([i]).buffer));

describe("1,000 hash lookups from a program", () => {
  bench("baseline: same loop without the helper call", () => {
    rt.run(baseline);
  });
  bench("bpf_map_lookup_elem", () => {
    rt.run(withLookup);
  });
});

describe("1,000 user-space lookups (BPF_MAP_LOOKUP_ELEM)", () => {
  bench("baseline: JS Map get", () => {
    for (let i = 0; i < 1000; i++) plain.get(String(i));
  });
  bench("HashMap.sysLookup", () => {
    for (const k of keys) map.sysLookup(k);
  });
});
