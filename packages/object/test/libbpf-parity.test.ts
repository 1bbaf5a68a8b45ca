import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { release } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { gunzipSync } from "node:zlib";
import { parseBtf } from "@bpfkit/btf";
import { describe, expect, it } from "vitest";
import { hasKernelOracle, hasTool, repoRoot, skipReason } from "../../../scripts/test-env.js";
import { kernelVersionCode, parseKconfig } from "../src/index.js";
import { type Comparison, compareObject, type OracleResult, type Target } from "./oracle/compare.js";

const run = promisify(execFile);
const oracleSource = join(import.meta.dirname, "oracle", "libbpf-insns.c");
const selftests = join(repoRoot, "build", "selftests", "obj");

function objects(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir)) {
      const p = join(dir, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (e.endsWith(".o")) out.push(p);
    }
  };
  if (existsSync(selftests)) walk(selftests);
  const fixtures = join(repoRoot, "fixtures", "bpf");
  for (const e of readdirSync(fixtures)) if (e.endsWith(".bpf.o")) out.push(join(fixtures, e));
  return out.sort();
}

/** A C compiler for the oracle: gcc, else cc, else clang-19. */
const compiler = ["gcc", "cc", "clang-19"].find((c) => hasTool(c));

const skip = skipReason("libbpf instruction parity", [
  [hasKernelOracle(), "needs root, bpf() and /sys/kernel/btf/vmlinux"],
  [compiler !== undefined, "no C compiler (gcc, cc, clang-19)"],
  [existsSync("/usr/include/bpf/libbpf.h"), "libbpf-dev not installed"],
  [existsSync(selftests), "build/selftests missing (run scripts/build-selftests.sh)"],
]);

/**
 * Runs the C oracle (Debian libbpf 1.1) on every selftest object and compares its maps and final
 * instruction streams with bpfkit's. Oracle answers are cached under build/ keyed by the object's
 * bytes, the oracle's source and the kernel release, so only changed objects hit the kernel again.
 */
describe.skipIf(skip)("libbpf 1.1 parity on the kernel selftest objects", () => {
  it("has the same maps and final instructions as bpf_program__insns() after bpf_object__load()", async () => {
    const src = readFileSync(oracleSource);
    const key = createHash("sha256").update(src).update(release()).digest("hex").slice(0, 16);
    const cache = join(repoRoot, "build", "libbpf-oracle", key);
    mkdirSync(cache, { recursive: true });
    const bin = join(cache, "libbpf-insns");
    if (!existsSync(bin))
      execFileSync(compiler!, ["-O1", "-o", bin, oracleSource, "-lbpf"], { stdio: "inherit" });

    const kernelBtf = parseBtf(readFileSync("/sys/kernel/btf/vmlinux"));
    const kallsyms = new Map<string, bigint>();
    for (const line of readFileSync("/proc/kallsyms", "utf8").split("\n")) {
      const [addr, , name] = line.split(" ");
      if (addr && name && !name.includes("\t") && !kallsyms.has(name))
        kallsyms.set(name, BigInt(`0x${addr}`));
    }
    const possible = readFileSync("/sys/devices/system/cpu/possible", "utf8").trim();
    const possibleCpus = Math.max(...possible.split(",").map((r) => Number(r.split("-").pop()))) + 1;
    // libbpf 1.1 fills .kconfig from /proc/config.gz, the release and LINUX_HAS_BPF_COOKIE (its
    // LINUX_HAS_SYSCALL_WRAPPER is unknown there, so a weak one stays 0).
    const kconfig = {
      ...(existsSync("/proc/config.gz")
        ? parseKconfig(gunzipSync(readFileSync("/proc/config.gz")).toString())
        : {}),
      LINUX_KERNEL_VERSION: String(kernelVersionCode(release())),
      LINUX_HAS_BPF_COOKIE: "1",
    };
    const target: Target = {
      kernelBtf,
      modules: [],
      kallsyms: (n) => kallsyms.get(n),
      possibleCpus,
      kconfig,
    };

    const files = objects();
    const results: Array<{ file: string; result: Comparison }> = [];
    const queue = [...files];
    const worker = async () => {
      for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
        const bytes = readFileSync(file);
        const cached = join(cache, `${createHash("sha256").update(bytes).digest("hex").slice(0, 24)}.json`);
        let text: string;
        if (existsSync(cached)) text = readFileSync(cached, "utf8");
        else {
          try {
            text = (await run(bin, [file], { timeout: 180_000, maxBuffer: 1 << 28 })).stdout;
          } catch (e) {
            text = JSON.stringify({
              open: false,
              error: `oracle crashed: ${(e as Error).message.split("\n")[0]}`,
            });
          }
          writeFileSync(cached, text);
        }
        const oracle = JSON.parse(text.split("\n")[0]!) as OracleResult;
        results.push({ file: file.slice(repoRoot.length + 1), result: compareObject(file, oracle, target) });
      }
    };
    await Promise.all([worker(), worker()]);
    const by = (s: Comparison["status"]) => results.filter((r) => r.result.status === s);
    const differ = by("differ");
    const lines = [
      `libbpf parity: ${results.length} objects, ${by("equal").length} equal, ${differ.length} differ, ` +
        `${by("both-reject").length} refused by both, ${by("excluded").length} excluded`,
      ...differ.map((r) => `  differ ${r.file}: ${r.result.reason}`),
      ...by("excluded").map((r) => `  excluded ${r.file}: ${r.result.reason}`),
    ];
    console.log(lines.join("\n"));
    expect(differ.map((r) => `${r.file}: ${r.result.reason}`)).toEqual([]);
    expect(by("equal").length).toBeGreaterThan(results.length * 0.8);
  }, 3_600_000);
});
