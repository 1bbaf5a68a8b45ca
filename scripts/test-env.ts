import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Root of the checkout. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** `../shared/fixtures` beside the checkout, read in place, or undefined where it is absent. */
export function sharedFixtures(name: string): string | undefined {
  const dir = process.env.BPFKIT_SHARED_FIXTURES ?? join(repoRoot, "..", "shared", "fixtures");
  const path = join(dir, name);
  return existsSync(path) ? path : undefined;
}

const toolCache = new Map<string, boolean>();

/** True when `name` runs on this machine (e.g. clang-19, llvm-objdump-19, bpftool). */
export function hasTool(name: string, args: string[] = ["--version"]): boolean {
  let found = toolCache.get(name);
  if (found === undefined) {
    try {
      execFileSync(name, args, { stdio: "ignore", timeout: 10_000 });
      found = true;
    } catch {
      found = false;
    }
    toolCache.set(name, found);
  }
  return found;
}

/** True when we may load programs into the running kernel (root and a bpf() that answers). */
export function hasKernelOracle(): boolean {
  return process.getuid?.() === 0 && existsSync("/sys/kernel/btf/vmlinux") && hasTool("bpftool");
}

/**
 * Returns a reason to skip, printed once, or undefined when every requirement is met. Tests use it
 * as `describe.skipIf(skipReason(...))` so a machine without the tools says why it skipped.
 */
export function skipReason(what: string, requirements: Array<[boolean, string]>): string | undefined {
  const missing = requirements.filter(([ok]) => !ok).map(([, why]) => why);
  if (missing.length === 0) return undefined;
  const reason = `skipping ${what}: ${missing.join("; ")}`;
  console.log(reason);
  return reason;
}

/**
 * The first line where `mine` differs from `reference`, labelled for a test failure message, or ""
 * when the two texts are equal. Parity tests print it instead of a multi-megabyte diff.
 */
export function firstDifferentLine(
  reference: string,
  mine: string,
  labels: { reference: string; mine: string } = { reference: "reference", mine: "bpfkit" },
): string {
  if (reference === mine) return "";
  const a = reference.split("\n");
  const b = mine.split("\n");
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  const width = Math.max(labels.reference.length, labels.mine.length) + 1;
  return `line ${i + 1}:\n  ${`${labels.reference}:`.padEnd(width)} ${JSON.stringify(a[i])}\n  ${`${labels.mine}:`.padEnd(width)} ${JSON.stringify(b[i])}`;
}
