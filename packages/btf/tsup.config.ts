import { defineConfig } from "tsup";
import base from "../../scripts/tsup-base";

// The bundled kernel BTF is its own entry (subpath export), so importing the package does not load it.
export default defineConfig({
  ...(base as object),
  entry: ["src/index.ts", "src/vmlinux-6.18.ts"],
  shims: true,
});
