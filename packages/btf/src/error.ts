/**
 * The one error class of @bpfkit/btf. `offset` is the byte offset in the blob (or -1 when the problem
 * is not tied to a position) and `kind` names the record or structure being read ("header", "STRUCT",
 * "func_info", "core_relo", ...), so a message reads "what went wrong, where".
 */
export class BtfError extends Error {
  readonly isInputError = true;
  readonly offset: number;
  readonly kind: string;
  /** The message without the location suffix (for callers that add context such as a file name). */
  readonly reason: string;

  constructor(message: string, offset: number, kind: string) {
    super(offset >= 0 ? `${message} (${kind} at offset ${offset})` : `${message} (${kind})`);
    this.name = "BtfError";
    this.reason = message;
    this.offset = offset;
    this.kind = kind;
  }
}
