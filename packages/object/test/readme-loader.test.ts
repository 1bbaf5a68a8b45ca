import { readFileSync } from "node:fs";
import { loadVmlinux618 } from "@bpfkit/btf/vmlinux-6.18";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../../scripts/test-env.js";
import { loadObject, openObject } from "../src/index.js";

// Runs the README's second example (the loader) as written and compares its output block.
describe("README loader example", () => {
  it("prints what the README says", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const code = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)][1]?.[1] as string;
    const expected = [...readme.matchAll(/```text\n([\s\S]*?)```/g)][1]?.[1] as string;
    const body = code
      .replace(/^import .*\n/gm, "")
      .replace(
        /readFileSync\("([^"]+)"\)/g,
        (_m, p: string) => `readFileSync(${JSON.stringify(`${repoRoot}/${p}`)})`,
      );
    const lines: string[] = [];
    const log = (...args: unknown[]) => lines.push(args.map(String).join(" "));
    new Function("console", "readFileSync", "openObject", "loadObject", "loadVmlinux618", body)(
      { log },
      readFileSync,
      openObject,
      loadObject,
      loadVmlinux618,
    );
    expect(`${lines.join("\n")}\n`).toBe(expected);
  });
});
