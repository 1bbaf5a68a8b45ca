import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { firstDifferentLine, hasTool, repoRoot, skipReason } from "../../../scripts/test-env.js";
import { disassembleObject } from "../src/index.js";
import { fixtureObjects, selftestObjects } from "./corpus.js";

const run = promisify(execFile);

/**
 * What llvm-objdump-19 -d -r prints for each file, file header included. Files go to objdump in
 * batches (one process start per batch instead of per file); each file's part starts with its
 * `\n<path>:\tfile format elf64-bpf\n` line.
 */
async function objdumpBatch(paths: string[]): Promise<Map<string, string>> {
  const { stdout } = await run("llvm-objdump-19", ["-d", "-r", ...paths], {
    maxBuffer: 1 << 30,
    encoding: "utf8",
  });
  const out = new Map<string, string>();
  const starts = paths.map((p) => ({ p, header: `\n${p}:\tfile format elf64-bpf\n` }));
  let from = 0;
  const positions: number[] = [];
  for (const { header } of starts) {
    const at = stdout.indexOf(header, from);
    positions.push(at);
    if (at >= 0) from = at + header.length;
  }
  starts.forEach(({ p }, i) => {
    const at = positions[i] as number;
    const next = positions.slice(i + 1).find((n) => n >= 0) ?? stdout.length;
    out.set(p, at < 0 ? "(objdump printed nothing for this file)" : stdout.slice(at, next));
  });
  return out;
}

const objdumpLabels = { reference: "llvm-objdump", mine: "bpfkit" };

/**
 * Compares every file with objdump (batches of 40 files, two batches at a time: the machine has
 * two cores). Returns the files that differ, each with its first differing line.
 */
async function compareAll(files: string[]): Promise<{ passed: number; failures: string[] }> {
  const failures: string[] = [];
  let passed = 0;
  // objdump keeps the first file's triple for the whole run, so a batch must not mix byte orders
  // (a big-endian object after a little-endian one would be decoded little-endian).
  const batches: string[][] = [];
  for (const order of [1, 2]) {
    const same = files.filter((f) => readFileSync(f).subarray(0, 6)[5] === order);
    for (let i = 0; i < same.length; i += 40) batches.push(same.slice(i, i + 40));
  }
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const batch = batches[next++] as string[];
      const wanted = await objdumpBatch(batch);
      for (const path of batch) {
        let got: string;
        try {
          got = disassembleObject(new Uint8Array(readFileSync(path)), { fileName: path });
        } catch (error) {
          got = `threw ${(error as Error).message}`;
        }
        const want = wanted.get(path) as string;
        if (got === want) passed++;
        else failures.push(`${relative(repoRoot, path)}: ${firstDifferentLine(want, got, objdumpLabels)}`);
      }
    }
  };
  await Promise.all([worker(), worker()]);
  return { passed, failures };
}

const noObjdump = skipReason("llvm-objdump parity", [
  [hasTool("llvm-objdump-19"), "llvm-objdump-19 not installed"],
]);

describe.skipIf(noObjdump)("disassembleObject is byte-identical to llvm-objdump-19 -d -r", () => {
  it("on every fixtures/bpf/*.o", async () => {
    const files = fixtureObjects();
    const { passed, failures } = await compareAll(files);
    console.log(`objdump parity, fixtures: ${passed}/${files.length} identical`);
    expect(failures).toEqual([]);
    expect(passed).toBeGreaterThanOrEqual(5);
  });

  const selftests = selftestObjects();
  it.skipIf(
    skipReason("selftest corpus", [
      [selftests.length > 0, "build/selftests is empty (run scripts/build-selftests.sh)"],
    ]),
  )(
    "on every clang-built kernel selftest object in build/selftests",
    async () => {
      const { passed, failures } = await compareAll(selftests);
      console.log(`objdump parity, kernel selftests: ${passed}/${selftests.length} identical`);
      expect(failures.slice(0, 10)).toEqual([]);
      expect(passed).toBeGreaterThanOrEqual(200);
    },
    900_000,
  );

  it("with --mcpu=v3 (alu32) on every fixtures/bpf/*.o", async () => {
    const diffs: string[] = [];
    for (const path of fixtureObjects()) {
      const { stdout } = await run("llvm-objdump-19", ["-d", "-r", "--mcpu=v3", path], {
        maxBuffer: 1 << 28,
        encoding: "utf8",
      });
      const got = disassembleObject(new Uint8Array(readFileSync(path)), { fileName: path, alu32: true });
      if (got !== stdout)
        diffs.push(`${relative(repoRoot, path)}: ${firstDifferentLine(stdout, got, objdumpLabels)}`);
    }
    expect(diffs).toEqual([]);
  });

  it("prints objdump's file header when given the file name", async () => {
    const path = fixtureObjects()[0] as string;
    const { stdout } = await run("llvm-objdump-19", ["-d", "-r", path], { encoding: "utf8" });
    expect(disassembleObject(new Uint8Array(readFileSync(path)), { fileName: path })).toBe(stdout);
  });
});
