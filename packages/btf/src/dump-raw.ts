import type { Btf } from "./btf.js";
import { BtfKind, KIND_NAMES } from "./kinds.js";

const INT_ENCODINGS: Record<number, string> = { 0: "(none)", 1: "SIGNED", 2: "CHAR", 4: "BOOL" };
const LINKAGES = ["static", "global", "extern"];

/** bpftool prints "(anon)" only for offset 0; a non-zero offset at an empty string prints ''. */
function label(btf: Btf, off: number): string {
  return off === 0 ? "(anon)" : btf.str(off);
}

/** One record exactly as `bpftool btf dump file F format raw` prints it, without the final newline. */
export function dumpRawType(btf: Btf, id: number): string {
  const kind = btf.kind(id);
  const st = btf.sizeOrType(id);
  const vlen = btf.vlen(id);
  let s = `[${id}] ${KIND_NAMES[kind] ?? "UNKNOWN"} '${label(btf, btf.nameOff(id))}'`;
  switch (kind) {
    case BtfKind.INT: {
      const v = btf.tail(id, 0);
      const enc = INT_ENCODINGS[(v >>> 24) & 0x0f] ?? "UNKN";
      s += ` size=${st} bits_offset=${(v >>> 16) & 0xff} nr_bits=${v & 0xff} encoding=${enc}`;
      break;
    }
    case BtfKind.PTR:
    case BtfKind.CONST:
    case BtfKind.VOLATILE:
    case BtfKind.RESTRICT:
    case BtfKind.TYPEDEF:
    case BtfKind.TYPE_TAG:
      s += ` type_id=${st}`;
      break;
    case BtfKind.ARRAY:
      s += ` type_id=${btf.tail(id, 0)} index_type_id=${btf.tail(id, 1)} nr_elems=${btf.tail(id, 2)}`;
      break;
    case BtfKind.STRUCT:
    case BtfKind.UNION: {
      s += ` size=${st} vlen=${vlen}`;
      for (let i = 0; i < vlen; i++) {
        s += `\n\t'${label(btf, btf.memberNameOff(id, i))}' type_id=${btf.memberType(id, i)} bits_offset=${btf.memberBitOffset(id, i)}`;
        const bits = btf.memberBitfieldSize(id, i);
        if (bits) s += ` bitfield_size=${bits}`;
      }
      break;
    }
    case BtfKind.ENUM: {
      const signed = btf.kindFlag(id);
      s += ` encoding=${signed ? "SIGNED" : "UNSIGNED"} size=${st} vlen=${vlen}`;
      for (let i = 0; i < vlen; i++) {
        const raw = btf.tail(id, i * 2 + 1);
        s += `\n\t'${label(btf, btf.tail(id, i * 2))}' val=${signed ? raw | 0 : raw}`;
      }
      break;
    }
    case BtfKind.ENUM64: {
      const signed = btf.kindFlag(id);
      s += ` encoding=${signed ? "SIGNED" : "UNSIGNED"} size=${st} vlen=${vlen}`;
      for (let i = 0; i < vlen; i++) {
        const v = btf.enumValue(id, i);
        s += `\n\t'${label(btf, btf.tail(id, i * 3))}' val=${v}${signed ? "LL" : "ULL"}`;
      }
      break;
    }
    case BtfKind.FWD:
      s += ` fwd_kind=${btf.kindFlag(id) ? "union" : "struct"}`;
      break;
    case BtfKind.FUNC:
      s += ` type_id=${st} linkage=${LINKAGES[vlen] ?? "(unknown)"}`;
      break;
    case BtfKind.FUNC_PROTO:
      s += ` ret_type_id=${st} vlen=${vlen}`;
      for (let i = 0; i < vlen; i++) {
        s += `\n\t'${label(btf, btf.paramNameOff(id, i))}' type_id=${btf.paramType(id, i)}`;
      }
      break;
    case BtfKind.VAR:
      s += ` type_id=${st}, linkage=${LINKAGES[btf.tail(id, 0)] ?? "(unknown)"}`;
      break;
    case BtfKind.DATASEC:
      s += ` size=${st} vlen=${vlen}`;
      for (let i = 0; i < vlen; i++) {
        const t = btf.tail(id, i * 3);
        s += `\n\ttype_id=${t} offset=${btf.tail(id, i * 3 + 1)} size=${btf.tail(id, i * 3 + 2)}`;
        if (t < btf.length) s += ` (${KIND_NAMES[btf.kind(t)] ?? "UNKNOWN"} '${label(btf, btf.nameOff(t))}')`;
      }
      break;
    case BtfKind.FLOAT:
      s += ` size=${st}`;
      break;
    case BtfKind.DECL_TAG:
      s += ` type_id=${st} component_idx=${btf.tailSigned(id, 0)}`;
      break;
    default:
      break;
  }
  return s;
}

/**
 * The whole `bpftool btf dump file F format raw` text: every own type (for a split BTF only the
 * module's, starting at its first id), one record per line group.
 */
export function dumpRaw(btf: Btf): string {
  const parts: string[] = [];
  for (let id = btf.startId; id < btf.length; id++) parts.push(dumpRawType(btf, id));
  parts.push("");
  return parts.join("\n");
}
