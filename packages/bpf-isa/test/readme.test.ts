import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import * as isa from "../src/index.js";

// Runs the README's example as written and compares what it logs with the README's output block.
describe("README example", () => {
  it("prints what the README says", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const code = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    const expected = /```text\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(code).toBeDefined();
    expect(expected).toBeDefined();
    const imports = /^import \{([^}]*)\} from "@bpfkit\/bpf-isa";\n/m.exec(code as string);
    expect(imports).not.toBeNull();
    const body = (code as string).replace(imports?.[0] as string, "");
    const names = (imports?.[1] as string).split(",").map((s) => s.trim());
    const lines: string[] = [];
    const log = (...args: unknown[]) =>
      lines.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
    const run = new Function("console", ...names, body);
    run({ log }, ...names.map((n) => (isa as Record<string, unknown>)[n]));
    expect(`${lines.join("\n")}\n`).toBe(expected);
  });
});
