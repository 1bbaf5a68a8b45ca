import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../../../scripts/test-env.js";

/** Our own committed fixtures: `fixtures/bpf/*.o`. */
export function fixtureObjects(): string[] {
  const dir = join(repoRoot, "fixtures", "bpf");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".o"))
    .sort()
    .map((f) => join(dir, f));
}

/** Where `scripts/build-selftests.sh` puts the kernel selftest objects. */
export const selftestsDir = join(repoRoot, "build", "selftests", "obj");

/** Every `.o` under `build/selftests/obj` (all flavours), or [] when the build has not run. */
export function selftestObjects(): string[] {
  if (!existsSync(selftestsDir)) return [];
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith(".o")) out.push(path);
    }
  };
  walk(selftestsDir);
  return out;
}
