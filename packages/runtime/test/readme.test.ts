import { lddw, parseLlvm } from "@bpfkit/bpf-isa";
import { expect, it } from "vitest";
import { createRuntime, MapType } from "../src/index.js";

it("the README example does what it says", () => {
  const rt = createRuntime({ snapshot: { tasks: [{ pid: 42, tgid: 42, comm: "demo" }] } });
  const counts = rt.createMap({
    name: "counts",
    type: MapType.HASH,
    keySize: 4,
    valueSize: 8,
    maxEntries: 16,
  });
  const prog = rt.load({
    name: "count_pid",
    type: "syscall",
    insns: [
      ...parseLlvm("call 14\n*(u32 *)(r10 - 4) = r0\nr1 = 1\n*(u64 *)(r10 - 16) = r1"),
      lddw(1, BigInt(rt.fd(counts)), 1),
      ...parseLlvm("r2 = r10\nr2 += -4\nr3 = r10\nr3 += -16\nr4 = 1\ncall 2\nexit"),
    ],
  });
  expect(rt.run(prog).retval).toBe(0);
  expect(rt.run(prog).retval).toBe(-17);
  expect(rt.dumpMaps().counts).toEqual([
    {
      key: ["0x2a", "0x00", "0x00", "0x00"],
      value: ["0x01", "0x00", "0x00", "0x00", "0x00", "0x00", "0x00", "0x00"],
    },
  ]);
});
