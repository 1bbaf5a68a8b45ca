import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { skipReason } from "../../../scripts/test-env.js";
import {
  type Btf,
  BtfError,
  BtfKind,
  CoreRelocator,
  dumpC,
  dumpRaw,
  KIND_NAMES,
  parseBtf,
  parseBtfExt,
} from "../src/index.js";
import { compileFixture, hasClang, hasVmlinux, objectSections, prng, VMLINUX } from "./helpers.js";

/** Touches every decoded piece of a BTF so fuzzed input has to survive a full walk and both dumps. */
function walk(btf: Btf): void {
  for (const dump of [() => dumpRaw(btf), () => dumpC(btf), () => dumpC(btf, { sort: true })]) {
    try {
      dump();
    } catch (e) {
      if (!(e instanceof BtfError)) throw e;
    }
  }
  for (let id = 0; id < btf.length; id++) {
    btf.type(id);
    try {
      btf.sizeof(id);
      btf.alignof(id);
    } catch (e) {
      if (!(e instanceof BtfError)) throw e;
    }
  }
}

describe.skipIf(skipReason("vmlinux BTF parsing", [[hasVmlinux, `${VMLINUX} missing`]]))(
  "vmlinux BTF",
  () => {
    const bytes = new Uint8Array(readFileSync(VMLINUX));
    const btf = parseBtf(bytes);

    it("indexes every type and counts kinds", () => {
      const counts = new Map<string, number>();
      for (let id = 1; id < btf.length; id++) {
        const k = KIND_NAMES[btf.kind(id)]!;
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
      expect(btf.length - 1).toBeGreaterThan(100_000);
      for (const k of [
        "STRUCT",
        "UNION",
        "FUNC",
        "FUNC_PROTO",
        "ENUM64",
        "DECL_TAG",
        "TYPE_TAG",
        "DATASEC",
        "FLOAT",
      ]) {
        expect(counts.get(k), k).toBeGreaterThan(0);
      }
      expect(btf.type(1)).toMatchObject({
        kind: "int",
        name: "long unsigned int",
        size: 8,
        bits: 64,
        signed: false,
      });
    });

    it("answers the type graph questions other packages ask", () => {
      const task = btf.find("task_struct", BtfKind.STRUCT)!;
      const t = btf.type(task);
      expect(t.kind).toBe("struct");
      if (t.kind !== "struct") return;
      expect(btf.sizeof(task)).toBe(t.size);
      const pid = btf.findMember(task, "pid")!;
      expect(btf.type(btf.resolve(pid.type))).toMatchObject({ kind: "int", size: 4, signed: true });
      const vma = btf.find("vm_area_struct", BtfKind.STRUCT)!;
      // vm_start lives in an anonymous union/struct: found through anonymous members, offset 0.
      expect(btf.findMember(vma, "vm_start")).toMatchObject({ bitOffset: 0, path: [0, 0, 0] });
      expect(btf.pointerSize).toBe(8);
      const kfuncs = btf.kfuncs();
      expect(kfuncs.length).toBeGreaterThan(100);
      for (const f of kfuncs) expect(btf.kind(f)).toBe(BtfKind.FUNC);
      const next = btf.find("bpf_iter_task_vma_next", BtfKind.FUNC);
      expect(next).toBeDefined();
      expect(kfuncs).toContain(next);
      const proto = btf.type(btf.sizeOrType(next!));
      expect(proto.kind).toBe("func_proto");
      if (proto.kind === "func_proto") expect(proto.params.map((p) => p.name)).toEqual(["it"]);
    });

    it("reports truncated and corrupt headers with offset and kind", () => {
      const err = (b: Uint8Array) => {
        try {
          parseBtf(b);
        } catch (e) {
          return e;
        }
        return undefined;
      };
      expect(err(bytes.subarray(0, 10))).toMatchObject({ offset: 0, kind: "header" });
      const truncated = err(bytes.subarray(0, 100_000));
      expect(truncated).toBeInstanceOf(BtfError);
      const bad = bytes.slice(0, 4096);
      bad[0] = 0;
      expect(err(bad)).toMatchObject({
        offset: 0,
        kind: "header",
        message: expect.stringContaining("magic"),
      });
    });

    it("never crashes on truncations of vmlinux", () => {
      const rnd = prng(7);
      for (let i = 0; i < 20; i++) {
        const cut = Math.floor(rnd() * bytes.byteLength);
        expect(() => parseBtf(bytes.subarray(0, cut))).toThrow(BtfError);
      }
    });
  },
);

describe.skipIf(skipReason("clang object BTF", [[hasClang, "clang-19 not installed"]]))(
  "clang object BTF",
  () => {
    it("parses .BTF and .BTF.ext of a compiled object", () => {
      const { btf: raw, ext: rawExt } = objectSections(compileFixture("core"));
      const btf = parseBtf(raw);
      const ext = parseBtfExt(rawExt!, btf);
      expect(ext.funcInfo.length).toBeGreaterThan(0);
      expect(ext.lineInfo[0]!.records[0]!.fileName).toContain("core.bpf.c");
      const relos = ext.coreRelos.flatMap((s) => s.records.map((r) => ({ section: s.section, ...r })));
      expect(relos.length).toBeGreaterThan(5);
      for (const r of relos) {
        expect(r.accessString).toMatch(/^\d+(:\d+)*$/);
        expect(btf.name(r.typeId)).not.toBe("");
      }
      // Without a string table the offsets are still there.
      const bare = parseBtfExt(rawExt!);
      expect(bare.coreRelos[0]!.records[0]!.accessStrOff).toBe(ext.coreRelos[0]!.records[0]!.accessStrOff);
      expect(bare.coreRelos[0]!.section).toBe("");
    });

    it("fuzz: truncations and bit flips give BtfError or a walkable BTF, never a crash or hang", () => {
      const { btf: raw, ext: rawExt } = objectSections(compileFixture("t1"));
      const rnd = prng(42);
      let errors = 0;
      for (let i = 0; i < 1500; i++) {
        const mutated = raw.slice(0, i % 3 === 0 ? Math.floor(rnd() * raw.byteLength) : raw.byteLength);
        const flips = 1 + Math.floor(rnd() * 4);
        for (let f = 0; f < flips && mutated.byteLength > 0; f++) {
          const at = Math.floor(rnd() * mutated.byteLength);
          mutated[at]! ^= 1 << Math.floor(rnd() * 8);
        }
        try {
          walk(parseBtf(mutated));
        } catch (e) {
          if (!(e instanceof BtfError)) throw e;
          expect(e.offset).toBeGreaterThanOrEqual(-1);
          errors++;
        }
      }
      expect(errors).toBeGreaterThan(50);
      const btf = parseBtf(raw);
      for (let i = 0; i < 2000; i++) {
        const mutated = rawExt!.slice(
          0,
          i % 2 === 0 ? Math.floor(rnd() * rawExt!.byteLength) : rawExt!.byteLength,
        );
        const at = Math.floor(rnd() * mutated.byteLength);
        if (mutated.byteLength > 0) mutated[at]! ^= 1 << Math.floor(rnd() * 8);
        try {
          parseBtfExt(mutated, btf);
        } catch (e) {
          if (!(e instanceof BtfError)) throw e;
        }
      }
    }, 900000);
  },
);

describe.skipIf(
  skipReason("CO-RE fuzz", [
    [hasClang, "clang-19 not installed"],
    [hasVmlinux, `${VMLINUX} missing`],
  ]),
)("CO-RE on corrupt local BTF", () => {
  it("fuzz: relocating with a bit-flipped local BTF gives BtfError or a result, never a crash", () => {
    const vmlinux = parseBtf(new Uint8Array(readFileSync(VMLINUX)));
    const { btf: raw, ext: rawExt } = objectSections(compileFixture("core"));
    const records = parseBtfExt(rawExt!, parseBtf(raw)).coreRelos.flatMap((s) => s.records);
    const rnd = prng(99);
    for (let i = 0; i < 300; i++) {
      const mutated = raw.slice();
      for (let f = 0; f < 3; f++)
        mutated[Math.floor(rnd() * mutated.byteLength)]! ^= 1 << Math.floor(rnd() * 8);
      let local: Btf;
      try {
        local = parseBtf(mutated);
      } catch (e) {
        if (!(e instanceof BtfError)) throw e;
        continue;
      }
      const relocator = new CoreRelocator(local, vmlinux);
      for (const rec of records) {
        try {
          relocator.resolve(rec);
        } catch (e) {
          if (!(e instanceof BtfError)) throw e;
        }
      }
    }
  }, 900000);
});
