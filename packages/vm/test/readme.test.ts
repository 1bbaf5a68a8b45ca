import { readFileSync } from "node:fs";
import * as isa from "@bpfkit/bpf-isa";
import { describe, expect, it } from "vitest";
import * as vmPackage from "../src/index.js";

// Runs the README's examples as written: its imports are rebound to the packages, its console.log
// calls are captured and compared with the `// →` comment on the same line.
describe("vm README examples", () => {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] as string);

  it("has the two examples (interpreter, engines)", () => {
    expect(blocks).toHaveLength(2);
  });

  it.each(blocks.map((code, k) => [k, code]))("example %i prints what its comments say", (_, code) => {
    const expected = [...(code as string).matchAll(/\/\/ → (.*)$/gm)].map((m) => m[1]);
    expect(expected.length).toBeGreaterThanOrEqual(2);
    const body = (code as string)
      .replace(/^import \{([^}]*)\} from "@bpfkit\/bpf-isa";$/m, "const {$1} = isa;")
      .replace(/^import \{([^}]*)\} from "@bpfkit\/vm";$/m, "const {$1} = vmPackage;");
    const printed: string[] = [];
    const log = (...values: unknown[]) =>
      printed.push(values.map((v) => (typeof v === "bigint" ? `${v}n` : String(v))).join(" "));
    new Function("isa", "vmPackage", "console", body)(isa, vmPackage, { log });
    expect(printed).toEqual(expected);
  });
});
