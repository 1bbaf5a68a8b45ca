import type { Btf, BtfExt } from "@bpfkit/btf";
import type { ElfFile, ElfSymbol } from "../elf/read.js";
import type { ObjectMap } from "../maps/map.js";

/** One function of a code section: an entry program, or a subprogram (`.text`). */
export interface ObjectProgram {
  /** Function symbol name. */
  name: string;
  /** SEC name as libbpf reports it: the ELF section name without a leading `?`. */
  section: string;
  sectionIndex: number;
  /** First instruction of the function within its section. */
  sectionInsnOffset: number;
  insnCount: number;
  /** `enum bpf_prog_type` from the SEC name (0 when the name is unknown, and for subprograms). */
  progType: number;
  expectedAttachType: number;
  sleepable: boolean;
  /** Loaded by default (false for `?`-prefixed sections); settable before `loadObject`. */
  autoload: boolean;
  /** Lives in `.text`: never loaded alone, appended to the programs that call it. */
  isSubprogram: boolean;
  global: boolean;
  /** The function's instructions as in the ELF file (a copy). */
  insns: Uint8Array;
}

/** How an extern is satisfied (elf-object.md 7). */
export type ExternKind = "kconfig" | "kfunc" | "ksym-var" | "ksym-typeless";

/** An `extern` declared by the object (`__ksym`, `__kconfig`). */
export interface ObjectExtern {
  name: string;
  kind: ExternKind;
  weak: boolean;
  symbolIndex: number;
  /** The VAR or FUNC in the object's BTF. */
  btfId: number;
  /** `.kconfig`: offset and size of the value in the `.kconfig` map. */
  kconfigOffset: number;
  size: number;
  align: number;
}

/** Relocation classes libbpf assigns to program relocations (elf-object.md 4.2). */
export type RelocationKind = "call" | "subprog_addr" | "map" | "data" | "extern_call" | "extern_ld64";

/** One program relocation as recorded at open (instruction index within the section). */
export interface ProgramRelocation {
  sectionIndex: number;
  insnIndex: number;
  kind: RelocationKind;
  symbol: ElfSymbol;
  symbolName: string;
  /** Symbol value (bytes) libbpf keeps as `sym_off`. */
  symbolOffset: number;
  /** Map index for map/data relocations, extern index for extern ones. */
  target: number;
}

/** An opened object: libbpf's state after `bpf_object__open`. */
export interface BpfObject {
  name: string;
  elf: ElfFile;
  endian: "little" | "big";
  license: string;
  kernelVersion: number;
  btf: Btf | undefined;
  btfExt: BtfExt | undefined;
  /** Entry programs and subprograms, sorted by (section index, offset). */
  functions: ObjectProgram[];
  maps: ObjectMap[];
  externs: ObjectExtern[];
  relocations: ProgramRelocation[];
  textSectionIndex: number;
}
