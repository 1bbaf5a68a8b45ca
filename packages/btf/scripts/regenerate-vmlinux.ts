// Regenerates the bundled kernel BTF profile from the running kernel (or a given raw BTF file):
//   node --import tsx packages/btf/scripts/regenerate-vmlinux.ts [/sys/kernel/btf/vmlinux] [6.18]
// Writes data/vmlinux-<profile>.btf.br (brotli, max quality) and data/vmlinux-<profile>.json.
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { release } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants } from "node:zlib";
import { encodeBtf, parseBtf } from "../src/index.js";

const source = process.argv[2] ?? "/sys/kernel/btf/vmlinux";
const profile = process.argv[3] ?? "6.18";
const raw = new Uint8Array(readFileSync(source));
const btf = parseBtf(raw);
if (Buffer.compare(Buffer.from(encodeBtf(btf)), Buffer.from(raw)) !== 0) {
  throw new Error(`${source}: does not round-trip through parseBtf/encodeBtf`);
}
const compressed = brotliCompressSync(raw, {
  params: {
    [constants.BROTLI_PARAM_QUALITY]: 11,
    [constants.BROTLI_PARAM_LGWIN]: 24,
    [constants.BROTLI_PARAM_SIZE_HINT]: raw.byteLength,
  },
});
const dataDir = join(dirname(fileURLToPath(import.meta.url)), "..", "data");
writeFileSync(join(dataDir, `vmlinux-${profile}.btf.br`), compressed);
const meta = {
  profile,
  kernelRelease: source === "/sys/kernel/btf/vmlinux" ? release() : "unknown",
  bytes: raw.byteLength,
  sha256: createHash("sha256").update(raw).digest("hex"),
  types: btf.length - 1,
};
writeFileSync(join(dataDir, `vmlinux-${profile}.json`), `${JSON.stringify(meta, null, 2)}\n`);
console.log(
  `vmlinux-${profile}: ${raw.byteLength} bytes -> ${compressed.byteLength} brotli, ${meta.types} types`,
);
