import { lddw, parseLlvm } from "@bpfkit/bpf-isa";
import { describe, expect, it } from "vitest";
import { createRuntime, instantiate, MapType, runReport } from "../src/index.js";

describe("instantiate + runReport (the path of bpfkit run)", () => {
  it("creates maps and globals, resolves map indices (fd_array form) and reports like bpfkit run --json", () => {
    const rt = createRuntime();
    const { programs, maps } = instantiate(rt, {
      maps: [
        { name: "counts", type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 2 },
        {
          name: ".rodata",
          type: MapType.ARRAY,
          keySize: 4,
          valueSize: 4,
          maxEntries: 1,
          initial: new Uint8Array([7, 0, 0, 0]),
          readonly: true,
        },
      ],
      programs: [
        {
          name: "p",
          type: "syscall",
          insns: [
            { ...lddw(1, 0n, 6), imm: 1, nextImm: 0 },
            ...parseLlvm("r2 = *(u32 *)(r1 + 0)\n*(u32 *)(r10 - 4) = r2\nr2 = 1\n*(u32 *)(r10 - 4) = r2"),
            { ...lddw(1, 0n, 5), imm: 0 },
            ...parseLlvm(
              "r2 = r10\nr2 += -4\ncall 1\nif r0 == 0 goto +2\nr1 = 7\n*(u64 *)(r0 + 0) = r1\nr0 = 3\nexit",
            ),
          ],
        },
      ],
    });
    expect(maps[1]?.frozen).toBe(true);
    const report = runReport(rt, rt.run(programs.get("p")!, { ctx: new Uint8Array(4), repeat: 3 }));
    expect(report.retval).toBe(3);
    expect(report.ctxOut).toBe("00000000");
    expect(report.maps.counts?.[1]?.value?.[0]).toBe("0x07");
    expect(report.maps[".rodata"]?.[0]?.value).toEqual(["0x07", "0x00", "0x00", "0x00"]);
    expect(report.stats.insns).toBeGreaterThan(5);
  });
});
