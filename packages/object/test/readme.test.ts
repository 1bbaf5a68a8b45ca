import { readFileSync } from "node:fs";
import { loadVmlinux618 } from "@bpfkit/btf/vmlinux-6.18";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../../scripts/test-env.js";
import * as object from "../src/index.js";

// Runs the README's examples as written (paths relative to the repository root) and compares what
// each logs with the output block that follows it.
const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
const examples = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] as string);
const outputs = [...readme.matchAll(/```text\n([\s\S]*?)```/g)].map((m) => m[1] as string);

/** Runs example `index` with `globals` in scope of its (removed) imports; returns what it logged. */
function runExample(index: number, globals: Record<string, unknown>): string {
  const body = (examples[index] as string)
    .replace(/^import .*\n/gm, "")
    .replace(
      /readFileSync\("([^"]+)"\)/g,
      (_m, p: string) => `readFileSync(${JSON.stringify(`${repoRoot}/${p}`)})`,
    );
  const lines: string[] = [];
  const log = (...args: unknown[]) => lines.push(args.map(String).join(" "));
  const names = Object.keys(globals);
  new Function("console", "readFileSync", ...names, body)({ log }, readFileSync, ...Object.values(globals));
  return `${lines.join("\n")}\n`;
}

describe("README examples", () => {
  it("the disassembler example prints what the README says", () => {
    const logged = runExample(0, { disassembleObject: object.disassembleObject, readElf: object.readElf });
    expect(logged).toBe(outputs[0]);
  });

  it("the loader example prints what the README says", () => {
    const logged = runExample(1, {
      openObject: object.openObject,
      loadObject: object.loadObject,
      loadVmlinux618,
    });
    expect(logged).toBe(outputs[1]);
  });
});
