import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadVmlinux618 } from "@bpfkit/btf/vmlinux-6.18";
import { loadObject, openObject } from "@bpfkit/object";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../../scripts/test-env.js";
import { createRuntime, instantiate } from "../src/index.js";
import { imageFromObject } from "../src/object-image.js";

const btf = loadVmlinux618();
const load = (name: string) =>
  loadObject(openObject(readFileSync(join(repoRoot, "fixtures", "bpf", name)), { fileName: name }), {
    kernelBtf: btf,
  });

describe("imageFromObject: @bpfkit/object's loaded object as a runtime image", () => {
  it("keeps maps in object order with global data bytes and read-only .rodata", () => {
    const image = imageFromObject(load("example.bpf.o"));
    expect(image.maps.map((m) => [m.name, m.type, m.valueSize, m.readonly ?? false])).toEqual([
      ["counts", 2, 8, false],
      ["example.bss", 2, 8, false],
      ["example.data", 2, 4, false],
      ["example.rodata", 2, 8, true],
    ]);
    expect(image.maps[2]!.initial).toEqual(new Uint8Array([1, 0, 0, 0]));
    // lddw of target_pid: fd_array form, map index 2 (example.data).
    const insns = image.programs[0]!.insns as Uint8Array;
    expect([insns[16], insns[17]! >> 4, insns[20]]).toEqual([0x18, 6, 2]);
  });

  it("runs an object's program against its global data", () => {
    const loaded = load("atomics-loops.bpf.o");
    const image = imageFromObject(loaded);
    expect(image.programs.map((p) => [p.name, p.type])).toEqual([
      ["atomics", "raw_tracepoint"],
      ["loops", "raw_tracepoint"],
    ]);
    const rt = createRuntime({ btf });
    const { programs, maps } = instantiate(rt, image);
    expect(rt.run(programs.get("atomics")!, { ctx: new Uint8Array(16) }).retval).toBe(0);
    const bss = maps[loaded.maps.findIndex((m) => m.origin === "bss")]!.sysLookup(new Uint8Array(4));
    if (typeof bss === "number") throw new Error(`lookup failed: ${bss}`);
    const sym = (name: string) => Number(loaded.object.elf.symbols.find((s) => s.name === name)!.value);
    const view = new DataView(bss.buffer, bss.byteOffset, bss.byteLength);
    // r64[5] = cmpxchg(&a64, 7, v) after a64 was set to 7; r32[5] likewise with 9.
    expect(view.getBigUint64(sym("r64") + 40, true)).toBe(7n);
    expect(view.getUint32(sym("r32") + 20, true)).toBe(9);
    const w = view.getUint32(sym("a32"), true);
    expect(w & 1).toBe(1);
    expect(view.getBigUint64(sym("a64"), true) < 256n).toBe(true);
  });
});
