import { existsSync, readFileSync } from "node:fs";
import { bench, describe } from "vitest";
import { parseBtf } from "../src/index.js";

const VMLINUX = "/sys/kernel/btf/vmlinux";
const ready = existsSync(VMLINUX);
if (!ready) console.log(`skipping the parse bench: ${VMLINUX} missing`);

// Target: opening vmlinux BTF costs under 150 ms and 100 MB. The baseline is the floor every
// parser pays (reading the file), so the ratio shows what parsing adds on top of it.
const options = { time: 2000, iterations: 7, warmupIterations: 1 };

describe.skipIf(!ready)("open /sys/kernel/btf/vmlinux", () => {
  bench(
    "baseline: read the file",
    () => {
      new Uint8Array(readFileSync(VMLINUX));
    },
    options,
  );
  let kept: unknown[] = [];
  bench(
    "bpfkit: read + parseBtf (heap growth printed after the run)",
    () => {
      kept.push(parseBtf(new Uint8Array(readFileSync(VMLINUX))));
    },
    {
      ...options,
      setup: () => {
        kept = [];
      },
      teardown: () => {
        const perParse = process.memoryUsage();
        console.log(
          `parseBtf kept ${kept.length} parsed copies alive; process heap+buffers now ${((perParse.heapUsed + perParse.arrayBuffers) / 1e6).toFixed(0)} MB`,
        );
        kept = [];
      },
    },
  );
});
