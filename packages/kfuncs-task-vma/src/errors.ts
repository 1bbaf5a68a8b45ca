/** What a task_vma error is about: a design that cannot be built for the target, or misuse of the model. */
export type TaskVmaErrorKind = "design" | "layout" | "state";

/** The one error class of `@bpfkit/kfuncs-task-vma`; the message says what went wrong and where. */
export class TaskVmaError extends Error {
  readonly isInputError = true;
  readonly kind: TaskVmaErrorKind;
  /** Design the error is about, when there is one. */
  readonly design: string | undefined;

  constructor(message: string, kind: TaskVmaErrorKind, design?: string) {
    super(message);
    this.name = "TaskVmaError";
    this.kind = kind;
    this.design = design;
  }
}

/** Errnos the three kfuncs return (negated), spec section 7. */
export const TaskVmaErrno = {
  ENOENT: 2,
  ENOMEM: 12,
  EBUSY: 16,
  EOPNOTSUPP: 95,
} as const;
