import type { BtfKindName } from "./kinds.js";

/** Fields every typed description carries. `name` is "" for anonymous types. */
export interface BtfTypeBase {
  id: number;
  kind: BtfKindName;
  name: string;
  /** Offset of the name in the (possibly base + split) string table; kept so encoding is exact. */
  nameOff: number;
  kindFlag: boolean;
}

export interface BtfVoid extends BtfTypeBase {
  kind: "void";
}

export interface BtfInt extends BtfTypeBase {
  kind: "int";
  size: number;
  /** Raw encoding bits: 1 signed, 2 char, 4 bool. */
  encoding: number;
  signed: boolean;
  char: boolean;
  bool: boolean;
  bitOffset: number;
  bits: number;
}

/** PTR, TYPEDEF and the modifiers: one referenced type. */
export interface BtfRef extends BtfTypeBase {
  kind: "ptr" | "typedef" | "const" | "volatile" | "restrict" | "type_tag";
  type: number;
}

export interface BtfArray extends BtfTypeBase {
  kind: "array";
  elemType: number;
  indexType: number;
  nelems: number;
}

export interface BtfMember {
  name: string;
  nameOff: number;
  type: number;
  /** Bit offset from the start of the struct. */
  bitOffset: number;
  /** Bitfield width in bits, 0 when the member is not a bitfield (kind_flag encoding only). */
  bitfieldSize: number;
}

export interface BtfComposite extends BtfTypeBase {
  kind: "struct" | "union";
  size: number;
  members: BtfMember[];
}

export interface BtfEnumValue {
  name: string;
  nameOff: number;
  /** Value as the kernel stores it, sign-interpreted when the enum is signed. */
  value: bigint;
}

export interface BtfEnum extends BtfTypeBase {
  kind: "enum" | "enum64";
  size: number;
  signed: boolean;
  values: BtfEnumValue[];
}

export interface BtfFwd extends BtfTypeBase {
  kind: "fwd";
  /** true for `union X;`, false for `struct X;`. */
  union: boolean;
}

export interface BtfFunc extends BtfTypeBase {
  kind: "func";
  /** FUNC_PROTO id. */
  type: number;
  /** 0 static, 1 global, 2 extern. */
  linkage: number;
}

export interface BtfParam {
  name: string;
  nameOff: number;
  /** 0 on the last parameter means varargs. */
  type: number;
}

export interface BtfFuncProto extends BtfTypeBase {
  kind: "func_proto";
  returnType: number;
  params: BtfParam[];
}

export interface BtfVar extends BtfTypeBase {
  kind: "var";
  type: number;
  linkage: number;
}

export interface BtfVarSecinfo {
  type: number;
  offset: number;
  size: number;
}

export interface BtfDatasec extends BtfTypeBase {
  kind: "datasec";
  size: number;
  vars: BtfVarSecinfo[];
}

export interface BtfFloat extends BtfTypeBase {
  kind: "float";
  size: number;
}

export interface BtfDeclTag extends BtfTypeBase {
  kind: "decl_tag";
  type: number;
  /** -1 for the whole entity, else the member or parameter index. */
  componentIdx: number;
}

/** Typed description of one BTF type, discriminated by `kind`. */
export type BtfType =
  | BtfVoid
  | BtfInt
  | BtfRef
  | BtfArray
  | BtfComposite
  | BtfEnum
  | BtfFwd
  | BtfFunc
  | BtfFuncProto
  | BtfVar
  | BtfDatasec
  | BtfFloat
  | BtfDeclTag;

/** The 24-byte (or longer) .BTF header, offsets relative to its end. */
export interface BtfHeader {
  version: number;
  flags: number;
  hdrLen: number;
  typeOff: number;
  typeLen: number;
  strOff: number;
  strLen: number;
}
