import { RuntimeError } from "./error.js";
import type { BpfMap, MapSpec } from "./maps/map.js";
import type { ProgramSpec, Runtime, RuntimeProgram } from "./runtime.js";

/** A map of an object: its definition, plus initial bytes for global data sections. */
export interface ImageMap extends MapSpec {
  /** Initial value of element 0 (global data: the section's bytes). */
  initial?: Uint8Array;
  /** `.rodata`/`.kconfig`: frozen after initialisation and read-only to programs. */
  readonly?: boolean;
}

/**
 * What the runtime needs from a loaded object: maps in object order and relocated programs whose
 * map references are `lddw` with `BPF_PSEUDO_MAP_IDX` (5) / `BPF_PSEUDO_MAP_IDX_VALUE` (6) and the
 * map's index in `maps` as imm, the fd_array form; kfunc calls carry target BTF ids.
 */
export interface ObjectImage {
  maps: ImageMap[];
  programs: Omit<ProgramSpec, "maps">[];
}

/** The instantiated object: its maps (in image order) and programs by name. */
export interface Instance {
  maps: BpfMap[];
  programs: Map<string, RuntimeProgram>;
}

/** Creates an image's maps (global data initialised, .rodata frozen) and loads its programs. */
export function instantiate(runtime: Runtime, image: ObjectImage): Instance {
  const maps = image.maps.map((m) => {
    if (m.initial === undefined && !m.readonly) return runtime.createMap(m);
    if (m.type !== 2 || m.maxEntries !== 1)
      throw new RuntimeError(`map ${m.name}: initial data needs a one-element array map`, {
        kind: "map",
        name: m.name,
      });
    return runtime.createGlobalData(m.name, m.initial ?? new Uint8Array(m.valueSize), {
      readonly: m.readonly,
      btf: m.btf,
      btfValueTypeId: m.btfValueTypeId,
      valueSize: m.valueSize,
    });
  });
  const programs = new Map<string, RuntimeProgram>();
  for (const p of image.programs) programs.set(p.name, runtime.load({ ...p, maps }));
  return { maps, programs };
}
