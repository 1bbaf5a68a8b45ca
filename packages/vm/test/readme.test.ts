import { readFileSync } from "node:fs";
import * as isa from "@bpfkit/bpf-isa";
import { describe, expect, it } from "vitest";
import * as vmPackage from "../src/index.js";

// Runs the README's example as written: its imports are rebound to the packages, its console.log
// calls are captured and compared with the `// →` comment on the same line.
describe("vm README example", () => {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  const code = /```ts\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";

  it("prints what its comments say", () => {
    const expected = [...code.matchAll(/\/\/ → (.*)$/gm)].map((m) => m[1]);
    expect(expected.length).toBe(2);
    const body = code
      .replace(/^import \{([^}]*)\} from "@bpfkit\/bpf-isa";$/m, "const {$1} = isa;")
      .replace(/^import \{([^}]*)\} from "@bpfkit\/vm";$/m, "const {$1} = vmPackage;");
    const printed: string[] = [];
    const log = (...values: unknown[]) =>
      printed.push(values.map((v) => (typeof v === "bigint" ? `${v}n` : String(v))).join(" "));
    new Function("isa", "vmPackage", "console", body)(isa, vmPackage, { log });
    expect(printed).toEqual(expected);
  });
});
