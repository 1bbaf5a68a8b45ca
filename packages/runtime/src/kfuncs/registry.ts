import type { CallContext, CallResult } from "@bpfkit/vm";
import { RuntimeError } from "../error.js";
import type { Runtime } from "../runtime.js";

/** KF_* flags of a kfunc's BTF id set entry (`include/linux/btf.h`). */
export const KF = {
  ACQUIRE: 1 << 0,
  RELEASE: 1 << 1,
  RET_NULL: 1 << 2,
  TRUSTED_ARGS: 1 << 4,
  SLEEPABLE: 1 << 5,
  DESTRUCTIVE: 1 << 6,
  RCU: 1 << 7,
  ITER_NEW: 1 << 8,
  ITER_NEXT: 1 << 9,
  ITER_DESTROY: 1 << 10,
  RCU_PROTECTED: 1 << 11,
} as const;

/** A kfunc implementation: gets the call (arguments, memory) and the runtime (tasks, maps, state). */
export type KfuncImpl = (call: CallContext, runtime: Runtime) => CallResult;

/** One kfunc: its name in the target BTF, flags, where it may be called, and what it does. */
export interface KfuncDef {
  name: string;
  /** KF_* bits. */
  flags: number;
  /** Program types allowed (`syscall`, `xdp`, ...); undefined: every type. */
  progTypes?: readonly string[];
  impl: KfuncImpl;
}

/**
 * Kfuncs by name. The runtime binds each to the BTF id of the same-named FUNC in the target BTF
 * (the id a loader writes into `call` instructions) and gets its prototype from there. Packages
 * such as `@bpfkit/kfuncs-task-vma` add their kfuncs with `register`.
 */
export class KfuncRegistry {
  readonly #defs = new Map<string, KfuncDef>();

  register(def: KfuncDef): this {
    this.#defs.set(def.name, def);
    return this;
  }

  /** Registers every definition of `defs`. */
  registerAll(defs: Iterable<KfuncDef>): this {
    for (const d of defs) this.register(d);
    return this;
  }

  get(name: string): KfuncDef | undefined {
    return this.#defs.get(name);
  }

  has(name: string): boolean {
    return this.#defs.has(name);
  }

  get names(): string[] {
    return [...this.#defs.keys()];
  }

  /** A copy that can be extended without touching this one. */
  clone(): KfuncRegistry {
    return new KfuncRegistry().registerAll(this.#defs.values());
  }

  /** The definition, or a RuntimeError naming the kfunc. */
  require(name: string): KfuncDef {
    const d = this.#defs.get(name);
    if (!d)
      throw new RuntimeError(`kfunc ${name} is not implemented by the runtime`, { kind: "kfunc", name });
    return d;
  }
}
