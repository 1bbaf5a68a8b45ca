import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { skipReason } from "../../../scripts/test-env.js";
import {
  BtfBuilder,
  BtfKind,
  dumpC,
  dumpRaw,
  encodeBtf,
  findElfSection,
  parseBtf,
  parseBtfExt,
} from "../src/index.js";
import { compileFixture, hasClang, hasVmlinux, moduleBtfFiles, selftestObjects, VMLINUX } from "./helpers.js";

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
}

describe.skipIf(skipReason("vmlinux round trip", [[hasVmlinux, `${VMLINUX} missing`]]))(
  "encode vmlinux",
  () => {
    const bytes = new Uint8Array(readFileSync(VMLINUX));
    const base = parseBtf(bytes);

    it("encode(parse(vmlinux)) == vmlinux, and through big-endian", () => {
      expect(same(encodeBtf(base), bytes)).toBe(true);
      const be = encodeBtf(base, { littleEndian: false });
      expect(be[0]).toBe(0xeb);
      const parsedBe = parseBtf(be);
      expect(parsedBe.littleEndian).toBe(false);
      expect(parsedBe.type(114)).toEqual(base.type(114));
      expect(same(encodeBtf(parsedBe, { littleEndian: true }), bytes)).toBe(true);
      expect(same(encodeBtf(parsedBe), be)).toBe(true);
    }, 900000);

    it("round-trips every module BTF as split BTF", () => {
      for (const file of moduleBtfFiles()) {
        const mod = new Uint8Array(readFileSync(file));
        const split = parseBtf(mod, { base });
        expect(split.startId).toBe(base.length);
        expect(same(encodeBtf(split), mod), file).toBe(true);
      }
    });

    it("builds, encodes and parses a split BTF on top of vmlinux", () => {
      const task = base.find("task_struct", BtfKind.STRUCT)!;
      const b = new BtfBuilder(base.length, base.header.strLen);
      const ptr = b.add({ kind: "ptr", name: "", type: task });
      const int = base.find("int", BtfKind.INT)!;
      const s = b.add({
        kind: "struct",
        name: "mod_thing",
        size: 16,
        members: [
          { name: "owner", type: ptr, bitOffset: 0, bitfieldSize: 0 },
          { name: "flags", type: int, bitOffset: 64, bitfieldSize: 3 },
        ],
      });
      const blob = b.build();
      const split = parseBtf(blob, { base });
      expect(split.type(s)).toMatchObject({ kind: "struct", name: "mod_thing", kindFlag: true });
      expect(split.type(ptr)).toMatchObject({ kind: "ptr", type: task });
      expect(split.name(task)).toBe("task_struct");
      expect(split.findMember(s, "flags")).toMatchObject({ bitOffset: 64, bitfieldSize: 3 });
      expect(split.find("mod_thing")).toBe(s);
      expect(same(encodeBtf(split), blob)).toBe(true);
    });
  },
);

describe.skipIf(skipReason("object round trip", [[hasClang, "clang-19 not installed"]]))(
  "encode objects",
  () => {
    it("encode(parse(.BTF)) == .BTF for fixture and selftest objects", () => {
      const objects = [...["t1", "t2", "core"].map((n) => compileFixture(n)), ...selftestObjects()];
      let checked = 0;
      for (const path of objects) {
        const raw = findElfSection(new Uint8Array(readFileSync(path)), ".BTF");
        if (!raw) continue;
        expect(same(encodeBtf(parseBtf(raw)), raw), path).toBe(true);
        checked++;
      }
      expect(checked).toBeGreaterThanOrEqual(3);
    }, 900000);
  },
);

describe.skipIf(skipReason("big-endian objects", [[hasClang, "clang-19 not installed"]]))(
  "big-endian BTF",
  () => {
    it("parses a bpfeb object's .BTF/.BTF.ext to the same types as the bpfel build and round-trips", () => {
      const le = objectBtf(compileFixture("core"));
      const be = objectBtf(compileFixture("core", "bpfeb"));
      const lb = parseBtf(le.btf);
      const bb = parseBtf(be.btf);
      expect(bb.littleEndian).toBe(false);
      expect(dumpRaw(bb)).toBe(dumpRaw(lb));
      expect(dumpC(bb)).toBe(dumpC(lb));
      expect(same(encodeBtf(bb), be.btf)).toBe(true);
      expect(same(encodeBtf(bb, { littleEndian: true }), le.btf)).toBe(true);
      const key = (r: { typeId: number; accessString: string; kind: number }) =>
        `${r.typeId}/${r.accessString}/${r.kind}`;
      const lext = parseBtfExt(le.ext!, lb);
      const bext = parseBtfExt(be.ext!, bb);
      expect(bext.littleEndian).toBe(false);
      expect(bext.funcInfo).toEqual(lext.funcInfo);
      // Code differs between byte orders (bitfield extraction), so compare the set of relocations.
      expect(new Set(bext.coreRelos[0]!.records.map(key))).toEqual(
        new Set(lext.coreRelos[0]!.records.map(key)),
      );
    });
  },
);

function objectBtf(path: string): { btf: Uint8Array; ext: Uint8Array | undefined } {
  const bytes = new Uint8Array(readFileSync(path));
  return { btf: findElfSection(bytes, ".BTF")!, ext: findElfSection(bytes, ".BTF.ext") };
}
