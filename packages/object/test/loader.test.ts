import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadVmlinux618 } from "@bpfkit/btf/vmlinux-6.18";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../../scripts/test-env.js";
import {
  ElfError,
  findSecDef,
  internalMapName,
  kernelVersionCode,
  loadObject,
  mapTypeName,
  objectNameFromPath,
  openObject,
  parseKconfig,
} from "../src/index.js";

const fixture = (name: string) => readFileSync(join(repoRoot, "fixtures", "bpf", name));
const kernelBtf = loadVmlinux618();

function insn(bytes: Uint8Array, i: number) {
  const v = new DataView(bytes.buffer, bytes.byteOffset + i * 8, 8);
  return {
    code: v.getUint8(0),
    dst: v.getUint8(1) & 0xf,
    src: v.getUint8(1) >> 4,
    off: v.getInt16(2, true),
    imm: v.getInt32(4, true),
  };
}

describe("loader: the worked example of elf-object.md 9", () => {
  const obj = openObject(fixture("example.bpf.o"), { fileName: "fixtures/bpf/example.bpf.o" });
  const loaded = loadObject(obj, { kernelBtf });
  const prog = loaded.programs[0]!;

  it("finds the program, its license and its maps in libbpf's order", () => {
    expect(obj.name).toBe("example");
    expect(obj.license).toBe("GPL");
    expect(loaded.programs.map((p) => [p.name, p.section, p.progType])).toEqual([
      ["count_vmas", "syscall", 31],
    ]);
    expect(
      loaded.maps.map((m) => [m.name, mapTypeName(m.type), m.keySize, m.valueSize, m.maxEntries, m.flags]),
    ).toEqual([
      ["counts", "array", 4, 8, 4, 0],
      ["example.bss", "array", 4, 8, 1, 0x400],
      ["example.data", "array", 4, 4, 1, 0x400],
      ["example.rodata", "array", 4, 8, 1, 0x480],
    ]);
    expect(loaded.maps[3]!.readonly).toBe(true);
    expect([...loaded.maps[3]!.initial!]).toEqual([0, 0x10, 0, 0, 0, 0, 0, 0]);
  });

  it("appends vma_len after the program and points the call at it", () => {
    expect(prog.insns.byteLength / 8).toBe(59);
    expect(prog.funcs.map((f) => [f.name, f.insn])).toEqual([
      ["count_vmas", 0],
      ["vma_len", 55],
    ]);
    expect(insn(prog.insns, 48)).toMatchObject({ code: 0x85, src: 1, imm: 6 });
  });

  it("turns map, data and kfunc references into what the kernel receives", () => {
    expect(insn(prog.insns, 2)).toMatchObject({ code: 0x18, src: 2, imm: 2 }); // example.data
    expect(insn(prog.insns, 19)).toMatchObject({ code: 0x18, src: 2, imm: 3 }); // example.rodata
    expect(insn(prog.insns, 21)).toMatchObject({ code: 0x18, src: 2, imm: 1 }); // example.bss
    expect(insn(prog.insns, 39)).toMatchObject({ code: 0x18, src: 1, imm: 0 }); // counts
    expect(insn(prog.insns, 5)).toMatchObject({ code: 0x85, src: 2, imm: 65918, off: 0 });
    expect(loaded.externs.map((e) => [e.extern.name, e.btfId])).toEqual([
      ["bpf_iter_task_vma_destroy", 64290],
      ["bpf_iter_task_vma_new", 64293],
      ["bpf_iter_task_vma_next", 64296],
      ["bpf_task_from_pid", 65918],
      ["bpf_task_release", 65928],
    ]);
  });

  it("applies CO-RE to the appended subprogram and keeps line info", () => {
    expect(loaded.core.applied).toBe(2);
    expect(insn(prog.insns, 56).off).toBe(8);
    expect(prog.lines.length).toBeGreaterThan(10);
    expect(prog.lines.some((l) => l.insn >= 55 && l.text.includes("vm_end"))).toBe(true);
  });

  it("lets a const volatile be set before load (skeleton style)", () => {
    const o = openObject(fixture("example.bpf.o"));
    const rodata = o.maps.find((m) => m.origin === "rodata")!;
    new DataView(rodata.initial!.buffer).setBigUint64(0, 1n << 20n, true);
    expect(loadObject(o, { kernelBtf }).maps[3]!.initial![2]).toBe(0x10);
  });
});

describe("loader: subprograms and callbacks", () => {
  it("refuses a static function outside .text like libbpf", () => {
    expect(() => openObject(fixture("subprogs.bpf.o"))).toThrow(
      /program 'local_helper' is static and not supported/,
    );
  });

  it("lays out callbacks and same-section static helpers in first-use order when allowed", () => {
    const loaded = loadObject(openObject(fixture("subprogs.bpf.o"), { staticSubprograms: true }), {
      kernelBtf,
    });
    const first = loaded.programs.find((p) => p.name === "first")!;
    expect(first.funcs.map((f) => f.name)).toEqual([
      "first",
      "loop_body",
      "square",
      "count_elem",
      "local_helper",
      "global_add",
    ]);
    const lddw = insn(first.insns, 8);
    expect(lddw).toMatchObject({ code: 0x18, src: 4, imm: 36 - 8 - 1 });
    const second = loaded.programs.find((p) => p.name === "second")!;
    expect(second.funcs.map((f) => [f.name, f.insn])).toEqual([
      ["second", 0],
      ["local_helper", 27],
    ]);
  });
});

describe("loader: naming rules", () => {
  it("names objects and global data maps like libbpf", () => {
    expect(objectNameFromPath("/x/iter.bpf.o")).toBe("iter");
    expect(objectNameFromPath("my_object_name.o")).toBe("my_object_name");
    expect(internalMapName("my_object_name", ".rodata")).toBe("my_objec.rodata");
    expect(internalMapName("my_object_name", ".bss")).toBe("my_objec.bss");
    expect(internalMapName("my_object_name", ".kconfig")).toBe("my_obje.kconfig");
    expect(internalMapName("mm-walk", ".bss")).toBe("mm_walk.bss");
    expect(internalMapName("x", ".data.read_mostly")).toBe(".data.read_mostly");
    expect(internalMapName("x", ".bss.MASK_NESTED")).toBe(".bss.MASK_NESTE");
  });

  it("maps SEC names to program types", () => {
    expect(findSecDef("iter/task_vma")).toMatchObject({ progType: 26, expectedAttachType: 28 });
    expect(findSecDef("xdp")).toMatchObject({ progType: 6, expectedAttachType: 37 });
    expect(findSecDef("tp/syscalls/sys_enter_getpid")?.progType).toBe(5);
    expect(findSecDef("fentry.s/bpf_fentry_test1")).toMatchObject({ progType: 26, sleepable: true });
    expect(findSecDef("kprobe.multi/foo")?.expectedAttachType).toBe(42);
    expect(findSecDef("socketx")).toBeUndefined();
    expect(findSecDef("tpx")).toBeUndefined();
  });

  it("skips programs whose autoload is turned off", () => {
    const base = openObject(fixture("example.bpf.o"));
    base.functions[1]!.autoload = false;
    expect(loadObject(base, { kernelBtf }).programs).toEqual([]);
  });

  it("reports truncated objects as ElfError", () => {
    const bytes = fixture("example.bpf.o");
    expect(() => openObject(bytes.subarray(0, 200))).toThrow(ElfError);
  });
});

describe("loader: kconfig", () => {
  it("parses .config lines and computes LINUX_KERNEL_VERSION like libbpf", () => {
    expect(
      parseKconfig('CONFIG_A=y\nCONFIG_B=m\n# CONFIG_C is not set\nCONFIG_D=0x10\nCONFIG_E="x"\n'),
    ).toEqual({
      CONFIG_A: "y",
      CONFIG_B: "m",
      CONFIG_C: "n",
      CONFIG_D: "0x10",
      CONFIG_E: '"x"',
    });
    expect(kernelVersionCode("6.18.44-amd64")).toBe((6 << 16) + (18 << 8) + 44);
    expect(kernelVersionCode("5.4.300")).toBe((5 << 16) + (4 << 8) + 255);
  });
});
