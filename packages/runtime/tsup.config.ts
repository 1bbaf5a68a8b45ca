import { defineConfig } from "tsup";
import base from "../../scripts/tsup-base";

// Two entries: the browser-safe runtime and `./proc`, the live /proc snapshot reader (node:fs).
export default defineConfig({ ...(base as object), entry: ["src/index.ts", "src/proc.ts"] });
