import { execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { findElfSection, parseBtf } from "@bpfkit/btf";
import { readElf } from "@bpfkit/object";
import { afterAll, describe, expect, it } from "vitest";
import { hasKernelOracle, repoRoot, skipReason } from "../../../scripts/test-env.js";
import { createRuntime, dumpJson, dumpMap, MapType } from "../src/index.js";

/**
 * The example object's maps loaded by bpftool into the live kernel, changed through bpftool, and
 * dumped with `bpftool map dump -j`; the runtime's maps built from the same BTF and bytes must dump
 * identically, `formatted` included (integers, a .data/.rodata/.bss DATASEC).
 */
const obj = join(repoRoot, "fixtures", "bpf", "example.bpf.o");
const pin = `/sys/fs/bpf/bpfkit_rt_dump_${process.pid}`;

describe.skipIf(
  skipReason("bpftool map dump -j comparison", [[hasKernelOracle(), "needs root, bpf() and bpftool"]]),
)("dumps equal bpftool map dump -j", () => {
  afterAll(() => {
    rmSync(pin, { recursive: true, force: true });
  });
  const bpftool = (...args: string[]) => execFileSync("bpftool", args, { encoding: "utf8" });

  it("array map with BTF key/value and the three global data sections", () => {
    rmSync(pin, { recursive: true, force: true });
    bpftool("prog", "loadall", obj, pin, "pinmaps", `${pin}/maps`);
    bpftool(
      "map",
      "update",
      "pinned",
      `${pin}/maps/counts`,
      "key",
      "1",
      "0",
      "0",
      "0",
      "value",
      "0x34",
      "0x12",
      "0",
      "0",
      "0",
      "0",
      "0",
      "0x80",
    );
    bpftool(
      "map",
      "update",
      "pinned",
      `${pin}/maps/example_data`,
      "key",
      "0",
      "0",
      "0",
      "0",
      "value",
      "0xff",
      "0xff",
      "0xff",
      "0xff",
    );
    const live = (name: string) => JSON.parse(bpftool("map", "dump", "pinned", `${pin}/maps/${name}`, "-j"));

    const bytes = new Uint8Array(readFileSync(obj));
    const btf = parseBtf(findElfSection(bytes, ".BTF")!);
    const rt = createRuntime();
    // BTF-defined map: the key/value members are pointers to the key and value types.
    const countsVar = btf.type(btf.find("counts", 14)!) as { type: number };
    const def = btf.type(countsVar.type);
    const member = (n: string) =>
      (def as { members: { name: string; type: number }[] }).members.find((m) => m.name === n)!;
    const pointee = (id: number) => (btf.type(id) as { type: number }).type;
    const counts = rt.createMap({
      name: "counts",
      type: MapType.ARRAY,
      keySize: 4,
      valueSize: 8,
      maxEntries: 4,
      btf,
      btfKeyTypeId: pointee(member("key").type),
      btfValueTypeId: pointee(member("value").type),
    });
    counts.sysUpdate(new Uint8Array([1, 0, 0, 0]), new Uint8Array([0x34, 0x12, 0, 0, 0, 0, 0, 0x80]), 0);
    expect(JSON.parse(dumpJson(dumpMap(counts)))).toEqual(live("counts"));

    for (const [section, pinned] of [
      [".data", "example_data"],
      [".rodata", "example_rodata"],
      [".bss", "example_bss"],
    ] as const) {
      const sec = btf.find(section, 15)!;
      // clang leaves DATASEC sizes 0 (libbpf fills them in); the section header has the size.
      const size = Number(readElf(bytes).sections.find((x) => x.name === section)!.size);
      const init = section === ".bss" ? new Uint8Array(size) : findElfSection(bytes, section)!;
      const g = rt.createGlobalData(section, init, {
        readonly: section === ".rodata",
        btf,
        btfValueTypeId: sec,
        valueSize: size,
      });
      if (section === ".data") g.sysUpdate(new Uint8Array(4), new Uint8Array([0xff, 0xff, 0xff, 0xff]), 0);
      expect(JSON.parse(dumpJson(dumpMap(g)))).toEqual(live(pinned));
    }
  });
});
