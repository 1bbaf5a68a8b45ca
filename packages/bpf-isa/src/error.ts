/** What kind of input a `BpfIsaError` complains about. */
export type BpfIsaErrorKind = "truncated" | "invalid" | "syntax" | "range";

/**
 * The one error class of `@bpfkit/bpf-isa`. `offset` is a byte offset for binary input, `line`
 * a 1-based line for text input, `insn` an instruction (slot) index where one applies.
 */
export class BpfIsaError extends Error {
  readonly isInputError = true;
  readonly kind: BpfIsaErrorKind;
  readonly offset: number | undefined;
  readonly line: number | undefined;
  readonly insn: number | undefined;

  constructor(
    message: string,
    fields: { kind: BpfIsaErrorKind; offset?: number; line?: number; insn?: number },
  ) {
    super(message);
    this.name = "BpfIsaError";
    this.kind = fields.kind;
    this.offset = fields.offset;
    this.line = fields.line;
    this.insn = fields.insn;
  }
}
