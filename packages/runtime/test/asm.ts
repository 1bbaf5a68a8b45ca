import { type Instruction, insn, lddw, parseLlvm } from "@bpfkit/bpf-isa";
import type { Runtime } from "../src/index.js";

/**
 * LLVM-syntax assembly plus three pseudo lines the loader would produce:
 * `rN = map NAME` (BPF_PSEUDO_MAP_FD), `rN = mapvalue NAME+OFF` (BPF_PSEUDO_MAP_VALUE),
 * `rN = func +DELTA` (BPF_PSEUDO_FUNC) and `kcall NAME` (a kfunc call by the runtime's id).
 */
export function asm(rt: Runtime, text: string): Instruction[] {
  const out: Instruction[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/;.*$/, "").trim();
    if (line === "") continue;
    let m = /^r(\d+) = map (\S+)$/.exec(line);
    if (m) {
      out.push(lddw(Number(m[1]), BigInt(rt.fd(rt.map(m[2] as string)!)), 1));
      continue;
    }
    m = /^r(\d+) = mapvalue (\S+?)\+(\d+)$/.exec(line);
    if (m) {
      const l = lddw(Number(m[1]), BigInt(rt.fd(rt.map(m[2] as string)!)), 2);
      out.push({ ...l, nextImm: Number(m[3]) });
      continue;
    }
    m = /^r(\d+) = func ([+-]\d+)$/.exec(line);
    if (m) {
      out.push({ ...lddw(Number(m[1]), 0n, 4), imm: Number(m[2]) });
      continue;
    }
    m = /^kcall (\S+)$/.exec(line);
    if (m) {
      out.push(insn(0x85, 0, 2, 0, rt.kfuncId(m[1] as string)));
      continue;
    }
    out.push(...parseLlvm(line));
  }
  return out;
}
