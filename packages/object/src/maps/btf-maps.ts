import { type Btf, BtfKind, BtfLinkage } from "@bpfkit/btf";
import { ElfError } from "../error.js";
import type { ObjectMap } from "./map.js";
import { MapType } from "./map-types.js";

function fail(section: string, message: string): ElfError {
  return new ElfError(message, { kind: "malformed", offset: 0, section });
}

/** `__uint(name, val)` is `int (*name)[val]`: the value is the array's element count. */
function uintAttr(btf: Btf, mapName: string, attr: string, typeId: number): number {
  const ptr = btf.skipModifiers(typeId);
  if (btf.kind(ptr) !== BtfKind.PTR)
    throw fail(".maps", `map '${mapName}': attr '${attr}': expected PTR, got ${btf.kindName(ptr)}.`);
  const arr = btf.resolve(btf.sizeOrType(ptr));
  if (btf.kind(arr) !== BtfKind.ARRAY)
    throw fail(".maps", `map '${mapName}': attr '${attr}': expected ARRAY, got ${btf.kindName(arr)}.`);
  return btf.tail(arr, 2);
}

/** `map_extra` may also be an enum with one 64-bit value (`__ulong`). */
function extraAttr(btf: Btf, mapName: string, typeId: number): bigint {
  const t = btf.skipModifiers(typeId);
  const k = btf.kind(t);
  if ((k === BtfKind.ENUM || k === BtfKind.ENUM64) && btf.vlen(t) === 1)
    return BigInt.asUintN(64, btf.enumValue(t, 0));
  return BigInt(uintAttr(btf, mapName, "map_extra", typeId));
}

function emptyMap(name: string, sectionIndex: number, offset: number): ObjectMap {
  return {
    name,
    type: 0,
    keySize: 0,
    valueSize: 0,
    maxEntries: 0,
    flags: 0,
    numaNode: 0,
    mapExtra: 0n,
    pinning: 0,
    origin: "btf",
    sectionIndex,
    sectionName: ".maps",
    sectionOffset: offset,
    btfKeyTypeId: 0,
    btfValueTypeId: 0,
    inner: undefined,
    initial: undefined,
    readonly: false,
    autocreate: true,
  };
}

/** Decodes one map definition struct (libbpf parse_btf_map_def). */
function parseDef(btf: Btf, map: ObjectMap, structId: number, isInner: boolean): void {
  const n = btf.vlen(structId);
  for (let i = 0; i < n; i++) {
    const attr = btf.memberName(structId, i);
    const mtype = btf.memberType(structId, i);
    if (attr === "") throw fail(".maps", `map '${map.name}': invalid field #${i}.`);
    switch (attr) {
      case "type":
        map.type = uintAttr(btf, map.name, attr, mtype);
        break;
      case "max_entries":
        map.maxEntries = uintAttr(btf, map.name, attr, mtype);
        break;
      case "map_flags":
        map.flags = uintAttr(btf, map.name, attr, mtype);
        break;
      case "numa_node":
        map.numaNode = uintAttr(btf, map.name, attr, mtype);
        break;
      case "key_size":
      case "value_size": {
        const sz = uintAttr(btf, map.name, attr, mtype);
        const cur = attr === "key_size" ? map.keySize : map.valueSize;
        if (cur !== 0 && cur !== sz)
          throw fail(".maps", `map '${map.name}': conflicting ${attr.slice(0, -5)} size ${cur} != ${sz}.`);
        if (attr === "key_size") map.keySize = sz;
        else map.valueSize = sz;
        break;
      }
      case "key":
      case "value": {
        const ptr = btf.skipModifiers(mtype);
        if (btf.kind(ptr) !== BtfKind.PTR)
          throw fail(".maps", `map '${map.name}': ${attr} spec is not PTR: ${btf.kindName(ptr)}.`);
        const target = btf.sizeOrType(ptr);
        const sz = btf.sizeof(target);
        const cur = attr === "key" ? map.keySize : map.valueSize;
        if (cur !== 0 && cur !== sz)
          throw fail(".maps", `map '${map.name}': conflicting ${attr} size ${cur} != ${sz}.`);
        if (attr === "key") {
          map.keySize = sz;
          map.btfKeyTypeId = target;
        } else {
          map.valueSize = sz;
          map.btfValueTypeId = target;
        }
        break;
      }
      case "values": {
        if (isInner) throw fail(".maps", `map '${map.name}': multi-level inner maps not supported.`);
        if (i !== n - 1) throw fail(".maps", `map '${map.name}': '${attr}' member should be last.`);
        const isMapInMap = map.type === MapType.ARRAY_OF_MAPS || map.type === MapType.HASH_OF_MAPS;
        const isProgArray = map.type === MapType.PROG_ARRAY;
        if (!isMapInMap && !isProgArray)
          throw fail(".maps", `map '${map.name}': should be map-in-map or prog-array.`);
        if (map.valueSize !== 0 && map.valueSize !== 4)
          throw fail(".maps", `map '${map.name}': conflicting value size ${map.valueSize} != 4.`);
        map.valueSize = 4;
        const arr = btf.resolve(mtype);
        if (btf.kind(arr) !== BtfKind.ARRAY || btf.tail(arr, 2) !== 0)
          throw fail(".maps", `map '${map.name}': ${attr} spec is not a zero-sized array.`);
        const ptr = btf.skipModifiers(btf.tail(arr, 0));
        if (btf.kind(ptr) !== BtfKind.PTR)
          throw fail(".maps", `map '${map.name}': ${attr} elem is not a pointer.`);
        const inner = btf.resolve(btf.sizeOrType(ptr));
        if (isProgArray) {
          if (btf.kind(inner) !== BtfKind.FUNC_PROTO)
            throw fail(".maps", `map '${map.name}': prog-array value def is of unexpected kind.`);
        } else {
          if (btf.kind(inner) !== BtfKind.STRUCT)
            throw fail(".maps", `map '${map.name}': map-in-map inner def is of unexpected kind.`);
          const innerMap = emptyMap(`${map.name}.inner`, map.sectionIndex, map.sectionOffset);
          parseDef(btf, innerMap, inner, true);
          map.inner = innerMap;
        }
        break;
      }
      case "pinning": {
        if (isInner) throw fail(".maps", `map '${map.name}': inner def can't be pinned.`);
        const v = uintAttr(btf, map.name, attr, mtype);
        if (v !== 0 && v !== 1) throw fail(".maps", `map '${map.name}': invalid pinning value ${v}.`);
        map.pinning = v;
        break;
      }
      case "map_extra":
        map.mapExtra = extraAttr(btf, map.name, mtype);
        break;
      default:
        throw new ElfError(`map '${map.name}': unknown field '${attr}'.`, {
          kind: "unsupported",
          offset: 0,
          section: ".maps",
        });
    }
  }
  if (map.type === 0 && !isInner) throw fail(".maps", `map '${map.name}': map type isn't specified.`);
}

/**
 * Parses the BTF-defined maps of the `.maps` section, in DATASEC order (libbpf's object order).
 * `symbolOffset` gives a map variable's offset in the section from the ELF symbol table.
 */
export function parseBtfMaps(
  btf: Btf,
  sectionIndex: number,
  symbolOffset: (name: string) => number | undefined,
): ObjectMap[] {
  const sec = btf.find(".maps", BtfKind.DATASEC);
  if (sec === undefined) throw fail(".maps", "DATASEC '.maps' not found.");
  const info = btf.type(sec);
  if (info.kind !== "datasec") throw fail(".maps", "DATASEC '.maps' not found.");
  const maps: ObjectMap[] = [];
  info.vars.forEach((v, i) => {
    if (btf.kind(v.type) !== BtfKind.VAR)
      throw fail(".maps", `map #${i}: unexpected var kind ${btf.kindName(v.type)}.`);
    const name = btf.name(v.type);
    if (name === "") throw fail(".maps", `map #${i}: empty name.`);
    const linkage = btf.tail(v.type, 0);
    if (linkage !== BtfLinkage.GLOBAL)
      throw fail(".maps", `map '${name}': unsupported map linkage ${linkage === 0 ? "static" : "extern"}.`);
    const def = btf.resolve(btf.sizeOrType(v.type));
    if (btf.kind(def) !== BtfKind.STRUCT)
      throw fail(".maps", `map '${name}': unexpected def kind ${btf.kindName(def)}.`);
    if (btf.sizeOrType(def) > v.size) throw fail(".maps", `map '${name}': invalid def size.`);
    // clang leaves DATASEC offsets at 0; libbpf takes them from the ELF symbols first.
    const map = emptyMap(name, sectionIndex, symbolOffset(name) ?? v.offset);
    parseDef(btf, map, def, false);
    maps.push(map);
  });
  return maps;
}
