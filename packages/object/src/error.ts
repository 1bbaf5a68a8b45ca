/** What an `ElfError` complains about. */
export type ElfErrorKind = "truncated" | "malformed" | "unsupported";

/**
 * The one error class of `@bpfkit/object`. `section` names the ELF section the problem is in
 * (`"#5"` when its name cannot be read, undefined for the file header), `offset` is the byte
 * offset in the file where the bad field or range starts.
 */
export class ElfError extends Error {
  readonly isInputError = true;
  readonly kind: ElfErrorKind;
  readonly section: string | undefined;
  readonly offset: number;

  constructor(message: string, fields: { kind: ElfErrorKind; offset: number; section?: string }) {
    const where =
      fields.section === undefined
        ? `at offset 0x${fields.offset.toString(16)}`
        : `in section '${fields.section}' at offset 0x${fields.offset.toString(16)}`;
    super(`${message} (${where})`);
    this.name = "ElfError";
    this.kind = fields.kind;
    this.section = fields.section;
    this.offset = fields.offset;
  }
}
