import { defineConfig } from "tsup";
import base from "../../scripts/tsup-base";

// Two entries: the pure model (browser-safe) and `./proc`, the live importer that uses node:fs.
export default defineConfig({ ...(base as object), entry: ["src/index.ts", "src/proc.ts"] });
