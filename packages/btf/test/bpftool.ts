import { execFileSync } from "node:child_process";

/** Runs the machine's bpftool (`btf dump file F [format ...]`, with `-B base` for split BTF). */
export function bpftoolDump(file: string, format: "raw" | "c", base?: string): string {
  const args = [...(base ? ["-B", base] : []), "btf", "dump", "file", file, "format", format];
  return execFileSync("bpftool", args, { maxBuffer: 1 << 30 }).toString("utf8");
}
