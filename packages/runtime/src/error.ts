/** What a runtime error is about: bad map definitions, bad program input, unknown helpers or kfuncs, tasks. */
export type RuntimeErrorKind = "map" | "program" | "helper" | "kfunc" | "context" | "task" | "snapshot";

export interface RuntimeErrorFields {
  kind: RuntimeErrorKind;
  /** Map, program, helper or kfunc name the error is about. */
  name?: string;
  /** Kernel errno (positive) when the error mirrors one. */
  errno?: number;
}

/** The one error class of `@bpfkit/runtime`; the message says what went wrong and where. */
export class RuntimeError extends Error {
  readonly isInputError = true;
  readonly kind: RuntimeErrorKind;
  readonly subject: string | undefined;
  readonly errno: number | undefined;

  constructor(message: string, fields: RuntimeErrorFields) {
    super(message);
    this.name = "RuntimeError";
    this.kind = fields.kind;
    this.subject = fields.name;
    this.errno = fields.errno;
  }
}
