import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../../scripts/test-env.js";
import * as object from "../src/index.js";

// Runs the README's example as written (paths relative to the repository root) and compares what
// it logs with the README's output block.
describe("README example", () => {
  it("prints what the README says", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const code = /```ts\n([\s\S]*?)```/.exec(readme)?.[1] as string;
    const expected = /```text\n([\s\S]*?)```/.exec(readme)?.[1] as string;
    const body = code
      .replace(/^import .*\n/gm, "")
      .replace(
        /readFileSync\("([^"]+)"\)/g,
        (_m, p: string) => `readFileSync(${JSON.stringify(`${repoRoot}/${p}`)})`,
      );
    const lines: string[] = [];
    const log = (...args: unknown[]) => lines.push(args.map(String).join(" "));
    new Function("console", "readFileSync", "disassembleObject", "readElf", body)(
      { log },
      readFileSync,
      object.disassembleObject,
      object.readElf,
    );
    expect(`${lines.join("\n")}\n`).toBe(expected);
  });
});
