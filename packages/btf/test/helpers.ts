import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasTool, repoRoot } from "../../../scripts/test-env.js";
import { findElfSection } from "../src/index.js";

export const VMLINUX = "/sys/kernel/btf/vmlinux";
export const hasVmlinux = existsSync(VMLINUX);
export const hasClang = hasTool("clang-19");
export const hasBpftool = hasTool("bpftool", ["version"]);

const fixtureDir = join(repoRoot, "packages", "btf", "test", "fixtures");
const outDir = join(tmpdir(), `bpfkit-btf-fixtures-${process.pid}`);

/** Compiles test/fixtures/<name>.bpf.c with clang-19 -g -O2 into a temp dir, once per process. */
export function compileFixture(name: string, target: "bpf" | "bpfeb" = "bpf"): string {
  mkdirSync(outDir, { recursive: true });
  const out = join(outDir, target === "bpf" ? `${name}.o` : `${name}.${target}.o`);
  if (!existsSync(out)) {
    const src = join(fixtureDir, `${name}.bpf.c`);
    execFileSync("clang-19", ["-g", "-O2", `--target=${target}`, "-c", src, "-o", out]);
  }
  return out;
}

/** Links compiled fixtures with `bpftool gen object` (bpftool's static linker dedups BTF). */
export function linkFixtures(name: string, parts: string[]): string {
  const out = join(outDir, `${name}.linked.o`);
  if (!existsSync(out))
    execFileSync("bpftool", ["gen", "object", out, ...parts.map((n) => compileFixture(n))]);
  return out;
}

/** The .BTF and .BTF.ext sections of an ELF object. */
export function objectSections(path: string): { btf: Uint8Array; ext: Uint8Array | undefined } {
  const bytes = new Uint8Array(readFileSync(path));
  const btf = findElfSection(bytes, ".BTF");
  if (!btf) throw new Error(`${path} has no .BTF`);
  return { btf, ext: findElfSection(bytes, ".BTF.ext") };
}

/** Objects compiled from the kernel's BPF selftests by scripts/build-selftests.sh, when present. */
export function selftestObjects(): string[] {
  const dir = join(repoRoot, "build", "selftests", "obj", "v3");
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".bpf.o"))
    .sort()
    .map((f) => join(dir, f));
}

/** Module BTF files in /sys/kernel/btf (everything but vmlinux). */
export function moduleBtfFiles(): string[] {
  if (!existsSync("/sys/kernel/btf")) return [];
  return readdirSync("/sys/kernel/btf")
    .filter((f) => f !== "vmlinux")
    .sort()
    .map((f) => join("/sys/kernel/btf", f));
}

/** Small deterministic PRNG (mulberry32) so fuzz failures reproduce. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
