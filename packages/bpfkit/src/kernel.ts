import { decode, validate } from "@bpfkit/bpf-isa";
import type { Btf } from "@bpfkit/btf";
import {
  createTaskVma,
  type DesignName,
  designForKernel,
  registerTaskVma,
  type TaskVmaDesign,
  type TaskVmaSystemOptions,
} from "@bpfkit/kfuncs-task-vma";
import { type LoadedObject, loadObject, openObject } from "@bpfkit/object";
import {
  createRuntime,
  defaultKfuncs,
  type Instance,
  imageFromObject,
  instantiate,
  type RunOutput,
  type Runtime,
  RuntimeError,
  type RuntimeOptions,
  type RuntimeProgram,
  type SystemSnapshot,
} from "@bpfkit/runtime";

/** What `createKernel` takes: the target kernel (BTF, release), the system, the task_vma design. */
export interface KernelOptions {
  /** Target kernel BTF (CO-RE, kfunc ids, object layouts). Required for programs built against vmlinux.h. */
  btf?: Btf;
  /** Kernel release the profile stands for (e.g. "6.18.44"): picks the default task_vma design. Default "6.18". */
  profile?: string;
  /** Tasks and the current task. */
  snapshot?: SystemSnapshot;
  /** task_vma design; default: the profile's. */
  design?: DesignName;
  /** `stack` design: bytes of the on-stack iterator (88, 96...). */
  stackBytes?: number;
  /** Address spaces, allocator, CPU contexts of the task_vma model. */
  taskVma?: Omit<TaskVmaSystemOptions, "btf">;
  /** Passed to the runtime (cpus, clock, seed, maxInsns). */
  runtime?: Omit<RuntimeOptions, "btf" | "snapshot" | "kfuncs">;
}

/** What `program.verify()` reports until `@bpfkit/verifier` lands: structural checks only, never a verdict. */
export interface VerifyResult {
  /** Always false for now: no kernel-compatible verification was done. */
  verified: false;
  reason: string;
  /** Instruction-level problems `@bpfkit/bpf-isa`'s `validate` found (unknown opcodes, bad registers...). */
  structuralIssues: string[];
}

/** One program of a loaded object. */
export class Program {
  constructor(
    readonly kernel: Kernel,
    readonly name: string,
    readonly section: string,
    readonly runtimeProgram: RuntimeProgram,
    readonly insns: Uint8Array,
  ) {}

  /** Structural checks; says plainly that the kernel verifier's checks are not available yet. */
  verify(): VerifyResult {
    return {
      verified: false,
      reason:
        "bpfkit has no verifier yet (@bpfkit/verifier is a later issue): only structural instruction checks ran",
      structuralIssues: validate(decode(this.insns)).map((i) => `insn ${i.insn}: ${i.message}`),
    };
  }

  /** Runs the program like BPF_PROG_TEST_RUN (`ctx`: context bytes; syscall programs get them back in `ctxOut`). */
  run(ctx?: Uint8Array, options: { data?: Uint8Array; repeat?: number } = {}): RunOutput {
    return this.kernel.runtime.run(this.runtimeProgram, { ctx, ...options });
  }
}

/** An object after loading: its maps (runtime maps, object order) and programs by name. */
export class LoadedBpfObject {
  constructor(
    readonly loaded: LoadedObject,
    readonly instance: Instance,
    readonly programs: Map<string, Program>,
  ) {}

  program(name: string): Program {
    const p = this.programs.get(name);
    if (!p)
      throw new RuntimeError(`no program named ${name} (have: ${[...this.programs.keys()].join(", ")})`, {
        kind: "program",
        name,
      });
    return p;
  }

  map(name: string) {
    return this.instance.maps.find((m) => m.name === name || m.name.endsWith(name));
  }
}

/** A target kernel with a system: runtime (maps, helpers, kfuncs incl. task_vma), loader glue, programs. */
export class Kernel {
  readonly runtime: Runtime;
  readonly taskVma: TaskVmaDesign;
  readonly btf: Btf | undefined;
  readonly profile: string;

  constructor(options: KernelOptions = {}) {
    this.btf = options.btf;
    this.profile = options.profile ?? "6.18";
    const design = options.design ?? designForKernel(this.profile);
    this.taskVma = createTaskVma({
      ...options.taskVma,
      btf: options.btf,
      cpus: options.taskVma?.cpus ?? options.runtime?.cpus ?? options.snapshot?.cpus ?? 1,
      design,
      stackBytes: options.stackBytes,
    });
    const kfuncs = registerTaskVma(defaultKfuncs(), this.taskVma);
    this.runtime = createRuntime({
      ...options.runtime,
      btf: options.btf,
      snapshot: options.snapshot,
      kfuncs,
    });
  }

  /** Opens and relocates an object (libbpf-style, CO-RE against the kernel BTF), creates its maps, loads its programs. */
  load(bytes: Uint8Array, options: { fileName?: string } = {}): LoadedBpfObject {
    const obj = openObject(bytes, { fileName: options.fileName, kernelBtf: this.btf });
    const loaded = loadObject(obj, { kernelBtf: this.btf, possibleCpus: this.runtime.nrCpus });
    const image = imageFromObject(loaded);
    const instance = instantiate(this.runtime, image);
    const programs = new Map<string, Program>();
    for (const p of loaded.programs) {
      const rp = instance.programs.get(p.name);
      if (rp) programs.set(p.name, new Program(this, p.name, p.section, rp, p.insns));
    }
    return new LoadedBpfObject(loaded, instance, programs);
  }
}

/** A kernel to load and run programs on: `createKernel({ btf, snapshot, design }).load(bytes).program(name).run(ctx)`. */
export function createKernel(options: KernelOptions = {}): Kernel {
  return new Kernel(options);
}
