import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hasTool, skipReason } from "../../../scripts/test-env.js";
import { EXAMPLES } from "../playground/examples.js";
import { assemble } from "../playground/session.js";

/** Assembles LLVM-syntax text with LLVM's own assembler and returns the .text bytes. */
function llvmMc(source: string): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), "bpfkit-mc-"));
  try {
    writeFileSync(join(dir, "p.s"), source);
    execFileSync("llvm-mc-19", [
      "-triple",
      "bpfel",
      "-filetype=obj",
      "-o",
      join(dir, "p.o"),
      join(dir, "p.s"),
    ]);
    execFileSync("llvm-objcopy-19", [
      "-O",
      "binary",
      "--only-section=.text",
      join(dir, "p.o"),
      join(dir, "p.bin"),
    ]);
    return new Uint8Array(readFileSync(join(dir, "p.bin")));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.skipIf(
  skipReason("the llvm-mc cross-check of the playground listing", [
    [hasTool("llvm-mc-19"), "llvm-mc-19 not installed"],
    [hasTool("llvm-objcopy-19"), "llvm-objcopy-19 not installed"],
  ]),
)("the playground's LLVM column, assembled by llvm-mc-19", () => {
  it("gives back the bytes the playground shows, for every example", () => {
    for (const e of EXAMPLES) {
      const listing = assemble(e.source, e.syntax);
      const ours = listing.bytes.slice();
      // `call 0x2` reads back as a helper call: LLVM's text does not say "local" (src_reg 1).
      for (const row of listing.rows)
        if (ours[row.slot * 8] === 0x85) ours[row.slot * 8 + 1] = (ours[row.slot * 8 + 1] as number) & 0x0f;
      const text = listing.rows.map((r) => r.llvm).join("\n");
      expect([...llvmMc(`${text}\n`)], e.id).toEqual([...ours]);
    }
  });
});
