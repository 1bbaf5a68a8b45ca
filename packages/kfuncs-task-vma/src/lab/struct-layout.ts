import type { Btf } from "@bpfkit/btf";
import { BtfBuilder, BtfKind, parseBtf } from "@bpfkit/btf";

/** One member of a struct layout: byte offset and size. */
export interface StructMember {
  name: string;
  offset: number;
  size: number;
}

/** A struct's size and member offsets, as a compiler laid it out for one kernel. */
export interface StructLayout {
  name: string;
  size: number;
  members: readonly StructMember[];
}

/** Where a lab number comes from, so the report can say it. */
export type StructSource = "spec" | "linux-6.12 source (clang-19 BTF)" | "live BTF" | "spec (6.18 BTF table)";

/**
 * struct ma_state of Linux 6.6, from task-vma-kfuncs.md section 3.3 (the thread era): seven 8-byte
 * words and three 1-byte fields, padded to 64.
 */
export const MA_STATE_6_6: StructLayout = {
  name: "ma_state",
  size: 64,
  members: [
    ...["tree", "index", "last", "node", "min", "max", "alloc"].map((name, i) => ({
      name,
      offset: i * 8,
      size: 8,
    })),
    { name: "depth", offset: 56, size: 1 },
    { name: "offset", offset: 57, size: 1 },
    { name: "mas_flags", offset: 58, size: 1 },
  ],
};

/**
 * struct ma_state of Linux 6.18 as task-vma-kfuncs.md section 3.3 records it from the 6.18 BTF; used
 * when the running kernel's BTF is not at hand (the live BTF wins when it is).
 */
export const MA_STATE_6_18: StructLayout = {
  name: "ma_state",
  size: 88,
  members: [
    ...["tree", "index", "last", "node", "min", "max", "sheaf", "alloc", "node_request"].map((name, i) => ({
      name,
      offset: i * 8,
      size: 8,
    })),
    { name: "status", offset: 72, size: 4 },
    { name: "depth", offset: 76, size: 1 },
    { name: "offset", offset: 77, size: 1 },
    { name: "mas_flags", offset: 78, size: 1 },
    { name: "end", offset: 79, size: 1 },
    { name: "store_type", offset: 80, size: 4 },
  ],
};

/** Reads a struct's layout from a kernel BTF; undefined when the BTF has no such struct. */
export function structLayoutFromBtf(btf: Btf, name: string): StructLayout | undefined {
  const id = btf.find(name, BtfKind.STRUCT);
  if (id === undefined) return undefined;
  const t = btf.type(id);
  if (t.kind !== "struct") return undefined;
  return {
    name,
    size: btf.sizeof(id),
    members: t.members.map((m) => ({
      name: m.name,
      offset: m.bitOffset / 8,
      size: btf.sizeof(m.type),
    })),
  };
}

/**
 * A minimal kernel BTF holding one struct with the given layout (members as unsigned integers of their
 * size): a stand-in target for CO-RE when only the layout of an older kernel is known.
 */
export function btfForLayout(layout: StructLayout): Btf {
  const b = new BtfBuilder();
  const ints = new Map<number, number>();
  const intOf = (size: number): number => {
    let id = ints.get(size);
    if (id === undefined) {
      id = b.add({
        kind: "int",
        name: `__u${size * 8}`,
        size,
        encoding: 0,
        signed: false,
        char: false,
        bool: false,
        bitOffset: 0,
        bits: size * 8,
      });
      ints.set(size, id);
    }
    return id;
  };
  const members = layout.members.map((m) => ({
    name: m.name,
    type: intOf(m.size),
    bitOffset: m.offset * 8,
    bitfieldSize: 0,
  }));
  b.add({ kind: "struct", name: layout.name, size: layout.size, members });
  return parseBtf(b.build());
}
