import type { LoadedObject, ObjectMap } from "@bpfkit/object";
import { PROG_TYPE_NAMES, toFdArrayForm } from "@bpfkit/object";
import type { ImageMap, ObjectImage } from "./instantiate.js";
import type { ProgType } from "./runtime.js";

const SUPPORTED = new Set<string>([
  "syscall",
  "xdp",
  "socket_filter",
  "sched_cls",
  "tracing",
  "raw_tracepoint",
  "kprobe",
]);
/** `BPF_TRACE_ITER`: a tracing program attached to an iterator. */
const TRACE_ITER = 28;

function imageMap(m: ObjectMap, loaded: LoadedObject): ImageMap {
  const out: ImageMap = {
    name: m.name,
    type: m.type,
    keySize: m.keySize,
    valueSize: m.valueSize,
    maxEntries: m.maxEntries,
    flags: m.flags,
  };
  const btf = loaded.object.btf;
  if (btf && (m.btfKeyTypeId || m.btfValueTypeId)) {
    out.btf = btf;
    out.btfKeyTypeId = m.btfKeyTypeId;
    out.btfValueTypeId = m.btfValueTypeId;
  }
  if (m.inner) out.inner = imageMap(m.inner, loaded);
  if (m.initial) out.initial = m.initial;
  if (m.readonly) out.readonly = true;
  return out;
}

/**
 * The runtime image of an object relocated by `@bpfkit/object`'s `loadObject`: maps in object
 * order (global data with their bytes, .rodata/.kconfig read-only) and every program of a type
 * the runtime runs, with map references turned into the fd_array form (src 5/6, imm = map index).
 */
export function imageFromObject(loaded: LoadedObject): ObjectImage {
  const programs: ObjectImage["programs"] = [];
  for (const p of loaded.programs) {
    let type = PROG_TYPE_NAMES[p.progType] ?? "";
    if (type === "tracing" && p.expectedAttachType === TRACE_ITER) type = "iter";
    if (!SUPPORTED.has(type) && type !== "iter") continue;
    programs.push({ name: p.name, type: type as ProgType, insns: toFdArrayForm(p.insns) });
  }
  return { maps: loaded.maps.map((m) => imageMap(m, loaded)), programs };
}
