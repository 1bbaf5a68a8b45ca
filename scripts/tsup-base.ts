import { defineConfig } from "tsup";

/** One build recipe for every published package: ESM + CJS + .d.ts from src/index.ts. */
export default defineConfig({
  entry: ["src/index.ts"],
  format: ["esm", "cjs"],
  dts: true,
  clean: true,
  sourcemap: true,
  target: "node20",
  splitting: false,
});
