import type { Instruction } from "@bpfkit/bpf-isa";
import { BPF_PSEUDO_CALL, decode, printLlvm } from "@bpfkit/bpf-isa";
import { disassembleObject, openObject, PROG_TYPE_NAMES } from "@bpfkit/object";

/** One function of a dropped `.o`, as the object panel lists it. */
export interface ObjectFunction {
  name: string;
  section: string;
  /** `enum bpf_prog_type` name from the SEC name; "subprogram" for `.text` functions. */
  type: string;
  insnCount: number;
  relocations: number;
  /**
   * The function as LLVM-syntax text the editor can assemble and run, when it stands alone: no
   * relocations (maps, globals, externs) and no bpf-to-bpf calls, which the text form cannot keep.
   */
  editorSource: string | undefined;
}

export interface ObjectSummary {
  functions: ObjectFunction[];
  /** Why libbpf's open step refuses the object (the listing is still shown), if it does. */
  openError: string | undefined;
  /** `llvm-objdump-19 -d -r` of the whole object. */
  llvm: string;
  /** The same listing with the verifier's instruction text. */
  kernel: string;
}

/**
 * Disassembles a clang-built BPF object and lists its functions. Throws `ElfError` when the file
 * cannot be disassembled at all; an object that only libbpf's open step refuses (a static
 * function in a program section, say) is listed with `openError` and no functions.
 */
export function inspectObject(bytes: Uint8Array, fileName: string): ObjectSummary {
  const llvm = disassembleObject(bytes, { syntax: "llvm", fileName });
  const kernel = disassembleObject(bytes, { syntax: "kernel", fileName });
  try {
    return { functions: listFunctions(bytes, fileName), openError: undefined, llvm, kernel };
  } catch (error) {
    if ((error as { isInputError?: boolean }).isInputError !== true) throw error;
    return { functions: [], openError: (error as Error).message, llvm, kernel };
  }
}

function listFunctions(bytes: Uint8Array, fileName: string): ObjectFunction[] {
  const object = openObject(bytes, { fileName });
  return object.functions.map((fn): ObjectFunction => {
    const relocations = object.relocations.filter(
      (r) =>
        r.sectionIndex === fn.sectionIndex &&
        r.insnIndex >= fn.sectionInsnOffset &&
        r.insnIndex < fn.sectionInsnOffset + fn.insnCount,
    ).length;
    const insns = decode(fn.insns, { endian: object.endian });
    return {
      name: fn.name,
      section: fn.section,
      type: fn.isSubprogram ? "subprogram" : (PROG_TYPE_NAMES[fn.progType] ?? `type ${fn.progType}`),
      insnCount: fn.insnCount,
      relocations,
      editorSource: relocations === 0 && object.endian === "little" ? editorText(insns) : undefined,
    };
  });
}

function editorText(insns: Instruction[]): string | undefined {
  const lines: string[] = [];
  for (const insn of insns) {
    if (insn.code === 0x85 && insn.src === BPF_PSEUDO_CALL) return undefined;
    if (insn.code === 0x18 && insn.src !== 0) return undefined;
    const text = printLlvm(insn);
    if (text === undefined) return undefined;
    lines.push(text);
  }
  return `${lines.join("\n")}\n`;
}
