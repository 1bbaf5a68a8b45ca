import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../../scripts/test-env.js";
import { main } from "../src/cli.js";

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

const example = join(repoRoot, "fixtures", "bpf", "example.bpf.o");

describe("bpfkit object", () => {
  it("prints programs, maps, externs and relocations as JSON", async () => {
    const { io, out } = capture();
    expect(await main(["object", example, "--json"], io)).toBe(0);
    const view = JSON.parse(out.join(""));
    expect(view.programs).toMatchObject([
      { name: "count_vmas", section: "syscall", type: "syscall", insns: 59 },
    ]);
    expect(view.maps.map((m: { name: string; type: string }) => `${m.name}:${m.type}`)).toEqual([
      "counts:array",
      "example.bss:array",
      "example.data:array",
      "example.rodata:array",
    ]);
    expect(view.maps[3]).toMatchObject({ keySize: 4, valueSize: 8, maxEntries: 1, flags: 0x480 });
    expect(view.externs).toHaveLength(5);
    expect(view.relocations).toMatchObject({ map: 1, data: 3, extern_call: 6, call: 1, core: 2 });
  });

  it("prints a table by default", async () => {
    const { io, out } = capture();
    expect(await main(["object", example], io)).toBe(0);
    expect(out.join("")).toMatch(/count_vmas\s+syscall\s+syscall\s+59/);
    expect(out.join("")).toMatch(/example\.rodata\s+array\s+4\s+8\s+1\s+0x480/);
  });

  it("exits 2 with one line naming the file for a corrupt object", async () => {
    const { io, err } = capture();
    expect(await main(["object", join(repoRoot, "fixtures", "bpf", "example.bpf.c")], io)).toBe(2);
    expect(err.join("")).toMatch(/example\.bpf\.c: /);
  });
});
