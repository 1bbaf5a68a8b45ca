import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { bench, describe } from "vitest";
import { hasTool, repoRoot } from "../../../scripts/test-env.js";
import { disassembleObject, readElf } from "../src/index.js";

// The object with the most code among our fixtures: the whole llvm-objdump job on it, done by
// llvm-objdump itself (a process per run, as tools that shell out to it pay) and by bpfkit.
const path = join(repoRoot, "fixtures", "bpf", "subprogs.bpf.o");
const bytes = new Uint8Array(readFileSync(path));

describe(`llvm-objdump -d -r of ${path.slice(repoRoot.length + 1)} (${bytes.length} bytes)`, () => {
  if (hasTool("llvm-objdump-19")) {
    bench("baseline: llvm-objdump-19 -d -r (spawned)", () => {
      execFileSync("llvm-objdump-19", ["-d", "-r", path], { maxBuffer: 1 << 26 });
    });
  }
  bench("readElf only", () => {
    readElf(bytes);
  });
  bench("disassembleObject", () => {
    disassembleObject(bytes, { fileName: path });
  });
});
