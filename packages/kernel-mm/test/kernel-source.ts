import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The Debian kernel source tarball the maple tree test traces are read from (never copied). */
export const linuxTarball = "/usr/src/linux-source-6.12.tar.xz";

const cache = new Map<string, string>();

/** The kernel test sources whose scenarios and traces are ported. */
const KERNEL_TEST_FILES = ["tools/testing/radix-tree/maple.c", "lib/test_maple_tree.c"];

/** One file of the 6.12 source, extracted in memory at test time. */
export function kernelSourceFile(path: string): string {
  let text = cache.get(path);
  if (text === undefined) {
    // Decompressing the tarball takes half a minute: keep the extracted file outside the repo.
    const stamp = statSync(linuxTarball).mtimeMs.toFixed(0);
    const dir = join(tmpdir(), `bpfkit-linux-6.12-${stamp}`);
    const cached = join(dir, path);
    if (!existsSync(cached)) {
      // One pass over the tarball for every file the tests read (each pass takes ~30 s).
      const wanted = [...new Set([path, ...KERNEL_TEST_FILES])].map((p) => `linux-source-6.12/${p}`);
      // Extract beside the cache and rename into place, so test files running in parallel never
      // read a half-written file.
      const staging = `${dir}.${process.pid}.${Date.now()}`;
      mkdirSync(staging, { recursive: true });
      execFileSync("tar", ["-xJf", linuxTarball, "-C", staging, "--strip-components=1", ...wanted], {
        maxBuffer: 64 << 20,
      });
      try {
        renameSync(staging, dir);
      } catch {
        rmSync(staging, { recursive: true, force: true });
      }
    }
    text = readFileSync(cached, "utf8");
    cache.set(path, text);
  }
  return text;
}

export const hasLinuxSource = existsSync(linuxTarball);

/** The `static const unsigned long NAME[] = {...}` arrays of one C function, as bigints. */
export function constArrays(source: string, fn: string): Map<string, bigint[]> {
  const start = source.indexOf(fn);
  if (start < 0) throw new Error(`${fn} not found in the kernel source`);
  const end = source.indexOf("\n}\n", start);
  const body = source.slice(start, end);
  const out = new Map<string, bigint[]>();
  const words: Record<string, bigint> = {
    STORE: 1n,
    SNULL: 2n,
    ERASE: 3n,
    EBUSY: 16n,
    EINVAL: 22n,
    EEXIST: 17n,
  };
  for (const m of body.matchAll(/static const unsigned long (\w+)\[\] = \{([^}]*)\}/g)) {
    const values = (m[2] as string)
      .replace(/\/\*[\s\S]*?\*\//g, "")
      .replace(/\/\/.*$/gm, "")
      .split(",")
      .map((t) => t.trim().replace(/UL$/, ""))
      .filter((t) => t.length > 0)
      .map((t) => cValue(t, words));
    out.set(m[1] as string, values);
  }
  return out;
}

/** Evaluates the constant expressions these arrays use: literals, `-x`, `a << b`, errno names. */
function cValue(text: string, words: Record<string, bigint>): bigint {
  const t = text.trim();
  if (t.startsWith("-")) return BigInt.asUintN(64, -cValue(t.slice(1), words));
  const shift = t.split("<<");
  if (shift.length === 2)
    return BigInt.asUintN(64, cValue(shift[0] as string, words) << cValue(shift[1] as string, words));
  const word = words[t];
  if (word !== undefined) return word;
  return BigInt(t.replace(/[uU][lL]*$|[lL]+$/, ""));
}
