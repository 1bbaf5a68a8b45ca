import type { Btf } from "@bpfkit/btf";
import { CoreRelocator, CoreReloKind, findElfSection, parseBtf, parseBtfExt } from "@bpfkit/btf";
import { TaskVmaError } from "../errors.js";

/** task, mm, work: the three pointers ahead of the vma_iterator in kern_data. */
export const KERN_DATA_HEAD = 24;

/** A target kernel for the CO-RE demonstration. */
export interface KernelProfile {
  kernel: string;
  btf: Btf;
  source: string;
}

/** One (built for, loaded on) pair of the demonstration. */
export interface CoreDemoRow {
  builtFor: string;
  loadedOn: string;
  /** Bytes the fixed-size program reserves: 24 + sizeof(ma_state) of the build kernel. */
  fixedReserve: number;
  /** Bytes the target kernel's kfuncs write: 24 + sizeof(ma_state) from the target BTF. */
  needed: number;
  fixed: "fits" | "overrun" | "wasted";
  /** needed - fixedReserve. */
  deltaBytes: number;
  /** What happens to the fixed-size object on that kernel. */
  breakage: string;
  /** 24 + the TYPE_SIZE relocation of the fixture against the target BTF. */
  coreSize: number;
  coreFits: boolean;
}

/** The fixture's TYPE_SIZE relocation on `struct ma_state`, resolved against each profile. */
export interface CoreDemo {
  object: { localMaState: number; relocations: number; insnOff: number; origVal: number };
  resolved: Array<{ kernel: string; newVal: number; poison: boolean }>;
  rows: CoreDemoRow[];
}

/**
 * Resolves the `bpf_core_type_size(struct ma_state)` relocation of `object` (fixtures/bpf/
 * lab-iter-size.bpf.o) against every profile, then crosses the profiles: an object that baked the
 * iterator size of `builtFor` into its stack frame, loaded where `loadedOn`'s kfuncs write theirs.
 */
export function coreSizeDemo(object: Uint8Array, profiles: readonly KernelProfile[]): CoreDemo {
  const btfBytes = findElfSection(object, ".BTF");
  const extBytes = findElfSection(object, ".BTF.ext");
  if (!btfBytes || !extBytes)
    throw new TaskVmaError("object has no .BTF/.BTF.ext for the CO-RE demonstration", "layout");
  const local = parseBtf(btfBytes);
  const ext = parseBtfExt(extBytes, local);
  const relo = ext.coreRelos
    .flatMap((s) => s.records)
    .find((r) => r.kind === CoreReloKind.TYPE_SIZE && local.name(r.typeId) === "ma_state");
  if (!relo) throw new TaskVmaError("object has no TYPE_SIZE relocation on struct ma_state", "layout");
  const maId = local.find("ma_state");
  const localMaState = maId === undefined ? 0 : local.sizeof(maId);
  const resolved = profiles.map((p) => {
    const res = new CoreRelocator(local, p.btf).resolve(relo, 0, "iter_size");
    return { kernel: p.kernel, newVal: Number(res.newVal), poison: res.poison, origVal: Number(res.origVal) };
  });
  const maOf = (p: KernelProfile) => {
    const id = p.btf.find("ma_state");
    return id === undefined ? 0 : p.btf.sizeof(id);
  };
  const rows: CoreDemoRow[] = [];
  for (const built of profiles)
    for (const loaded of profiles) {
      const fixedReserve = KERN_DATA_HEAD + maOf(built);
      const needed = KERN_DATA_HEAD + maOf(loaded);
      const delta = needed - fixedReserve;
      const r = resolved.find((x) => x.kernel === loaded.kernel);
      const coreSize = KERN_DATA_HEAD + (r?.newVal ?? 0);
      rows.push({
        builtFor: built.kernel,
        loadedOn: loaded.kernel,
        fixedReserve,
        needed,
        fixed: delta > 0 ? "overrun" : delta < 0 ? "wasted" : "fits",
        deltaBytes: delta,
        breakage:
          delta > 0
            ? `the verifier sizes the iterator from the ${loaded.kernel} BTF (${needed} B) and claims ${delta} B ` +
              `of neighbouring stack slots past the ${fixedReserve}-byte object; the kernel's ` +
              `sizeof check against the opaque size fails: load refused`
            : delta < 0
              ? `loads, ${-delta} B of the frame reserved for nothing; any field offset past ` +
                `${KERN_DATA_HEAD + maOf(loaded)} read by the program is wrong`
              : "loads",
        coreSize,
        coreFits: coreSize === needed && !(r?.poison ?? true),
      });
    }
  return {
    object: {
      localMaState,
      relocations: ext.coreRelos.reduce((n, s) => n + s.records.length, 0),
      insnOff: relo.insnOff,
      origVal: resolved[0]?.origVal ?? localMaState,
    },
    resolved: resolved.map(({ kernel, newVal, poison }) => ({ kernel, newVal, poison })),
    rows,
  };
}
