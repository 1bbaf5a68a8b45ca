import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliDecompressSync } from "node:zlib";
import type { Btf } from "./btf.js";
import { BtfError } from "./error.js";
import { parseBtf } from "./parse.js";

/** What the bundled blob is: written by scripts/regenerate-vmlinux.ts next to the data. */
export interface KernelBtfProfile {
  profile: string;
  kernelRelease: string;
  bytes: number;
  sha256: string;
  types: number;
}

// src/ and dist/ both sit one level below the package root, next to data/.
const here = typeof __dirname !== "undefined" ? __dirname : dirname(fileURLToPath(import.meta.url));
const dataDir = join(here, "..", "data");

let cachedBytes: Uint8Array | undefined;
let cachedBtf: Btf | undefined;

/** Metadata of the bundled Linux 6.18 vmlinux BTF (release, size, sha256, type count). */
export function vmlinux618Info(): KernelBtfProfile {
  return JSON.parse(readFileSync(join(dataDir, "vmlinux-6.18.json"), "utf8")) as KernelBtfProfile;
}

/** The raw .BTF bytes of the bundled 6.18 kernel (brotli-decompressed once, checked against sha256). */
export function vmlinux618Bytes(): Uint8Array {
  if (!cachedBytes) {
    const info = vmlinux618Info();
    const raw = new Uint8Array(brotliDecompressSync(readFileSync(join(dataDir, "vmlinux-6.18.btf.br"))));
    const sha = createHash("sha256").update(raw).digest("hex");
    if (raw.byteLength !== info.bytes || sha !== info.sha256) {
      throw new BtfError("bundled vmlinux-6.18 BTF does not match its recorded sha256", 0, "profile");
    }
    cachedBytes = raw;
  }
  return cachedBytes;
}

/** The bundled Linux 6.18 vmlinux BTF, parsed once; for machines without /sys/kernel/btf. */
export function loadVmlinux618(): Btf {
  cachedBtf ??= parseBtf(vmlinux618Bytes());
  return cachedBtf;
}

/** Named kernel profile: `{ name: "6.18", load() }`. */
export const vmlinux618 = {
  name: "6.18",
  info: vmlinux618Info,
  bytes: vmlinux618Bytes,
  load: loadVmlinux618,
} as const;
