/** Field access on raw 8-byte BPF instruction slots of either byte order (bpf-isa.md 1). */
export class InsnView {
  private readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    readonly le: boolean,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  get count(): number {
    return this.bytes.byteLength >>> 3;
  }
  code(i: number): number {
    return this.bytes[i * 8]!;
  }
  src(i: number): number {
    const b = this.bytes[i * 8 + 1]!;
    return this.le ? b >>> 4 : b & 0xf;
  }
  dst(i: number): number {
    const b = this.bytes[i * 8 + 1]!;
    return this.le ? b & 0xf : b >>> 4;
  }
  setSrc(i: number, src: number): void {
    const b = this.bytes[i * 8 + 1]!;
    this.bytes[i * 8 + 1] = this.le ? (b & 0x0f) | (src << 4) : (b & 0xf0) | src;
  }
  off(i: number): number {
    return this.view.getInt16(i * 8 + 2, this.le);
  }
  setOff(i: number, v: number): void {
    this.view.setInt16(i * 8 + 2, v, this.le);
  }
  imm(i: number): number {
    return this.view.getInt32(i * 8 + 4, this.le);
  }
  setImm(i: number, v: number): void {
    this.view.setInt32(i * 8 + 4, v | 0, this.le);
  }
}

/** `call` (BPF_JMP | BPF_CALL). */
export const OP_CALL = 0x85;
/** `lddw` (BPF_LD | BPF_IMM | BPF_DW), two slots. */
export const OP_LDDW = 0x18;

/** src_reg values of `lddw` and `call` that tell the kernel what imm means (bpf-isa.md 4). */
export const BpfPseudo = {
  MAP_FD: 1,
  MAP_VALUE: 2,
  BTF_ID: 3,
  FUNC: 4,
  MAP_IDX: 5,
  MAP_IDX_VALUE: 6,
  CALL: 1,
  KFUNC_CALL: 2,
} as const;

/** A real copy (a Node Buffer's `slice` would return a view into the file). */
export function copyBytes(b: Uint8Array): Uint8Array {
  const c = new Uint8Array(b.byteLength);
  c.set(b);
  return c;
}

/**
 * Rewrites a loaded program's map references into the fd_array form (`BPF_PSEUDO_MAP_IDX` 5 /
 * `BPF_PSEUDO_MAP_IDX_VALUE` 6, imm = map index), which is how `bpftool gen skeleton -L` loaders
 * and bpfkit's runtime take them. Returns a copy; little-endian slots.
 */
export function toFdArrayForm(insns: Uint8Array): Uint8Array {
  const out = copyBytes(insns);
  const v = new InsnView(out, true);
  for (let i = 0; i < v.count; i++) {
    if (v.code(i) !== OP_LDDW) continue;
    const src = v.src(i);
    if (src === BpfPseudo.MAP_FD) v.setSrc(i, BpfPseudo.MAP_IDX);
    else if (src === BpfPseudo.MAP_VALUE) v.setSrc(i, BpfPseudo.MAP_IDX_VALUE);
    i++;
  }
  return out;
}
