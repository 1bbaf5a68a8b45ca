import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadVmlinux618 } from "@bpfkit/btf/vmlinux-6.18";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../../scripts/test-env.js";
import { loadObject, openObject, readElf } from "../src/index.js";

const dir = join(repoRoot, "fixtures", "bpf");
const objects = readdirSync(dir)
  .filter((f) => f.endsWith(".bpf.o"))
  .sort()
  .map((f) => new Uint8Array(readFileSync(join(dir, f))));
const kernelBtf = loadVmlinux618();

/** Deterministic LCG so a failure reproduces. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s;
  };
}

/**
 * Truncations, bit flips anywhere, byte smashes inside the sections a loader reads (code,
 * relocations, symbols, .BTF, .BTF.ext, .maps) and random files: every outcome is a loaded object
 * or an input error (`isInputError`), never another exception, and each one is quick.
 */
describe("loader fuzz", () => {
  it("turns corrupted objects into input errors, never crashes or hangs", () => {
    const rnd = rng(0x5eed);
    const outcomes = { loaded: 0, rejected: 0 };
    const unexpected: string[] = [];
    for (let iter = 0; iter < 3000; iter++) {
      const base = objects[iter % objects.length]!;
      const b = base.slice();
      let input: Uint8Array;
      switch (iter % 4) {
        case 0:
          input = b.subarray(0, rnd() % b.length);
          break;
        case 1:
          for (let k = 0; k < 1 + (rnd() % 8); k++) b[rnd() % b.length]! ^= 1 << (rnd() % 8);
          input = b;
          break;
        case 2: {
          const secs = readElf(base).sections.filter(
            (s) => s.data.length > 0 && !s.name.startsWith(".debug"),
          );
          const s = secs[rnd() % secs.length]!;
          for (let k = 0; k < 1 + (rnd() % 4); k++) b[s.offset + (rnd() % s.data.length)] = rnd() & 0xff;
          input = b;
          break;
        }
        default:
          input = new Uint8Array(rnd() % 4096).map(() => rnd() & 0xff);
          if (iter % 8 === 3) input.set(base.subarray(0, 64));
      }
      const start = performance.now();
      try {
        loadObject(openObject(input), { kernelBtf });
        outcomes.loaded++;
      } catch (error) {
        outcomes.rejected++;
        if ((error as { isInputError?: boolean }).isInputError !== true)
          unexpected.push(`iteration ${iter}: ${(error as Error).stack}`);
      }
      expect(performance.now() - start).toBeLessThan(5000);
    }
    expect(unexpected).toEqual([]);
    expect(outcomes.loaded).toBeGreaterThan(100);
    expect(outcomes.rejected).toBeGreaterThan(100);
  }, 300_000);
});
