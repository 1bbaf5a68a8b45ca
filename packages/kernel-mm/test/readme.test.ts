import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import * as kernelMm from "../src/index.js";

// Runs the README's first example as written: its import becomes a lookup in the package, and
// each console.log must print what the `// ...` comment on its line says.
describe("kernel-mm README example", () => {
  it("prints what its comments say", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const code = /```ts\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";
    const body = code.replace(/^import \{([^}]*)\} from "@bpfkit\/kernel-mm";$/m, "const {$1} = mod;");
    const logged: string[] = [];
    const expected = code
      .split("\n")
      .filter((l) => l.startsWith("console.log("))
      .map((l) => (/\/\/ (\S+(?: \S+)*?)(?: \(|$)/.exec(l.split(");")[1] ?? "")?.[1] ?? "").trim());
    new Function("mod", "console", body)(kernelMm, { log: (...a: unknown[]) => logged.push(a.join(" ")) });
    expect(logged).toEqual(expected);
    expect(logged).toHaveLength(4);
  });
});
