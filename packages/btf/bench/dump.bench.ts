import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { bench, describe } from "vitest";
import { hasTool } from "../../../scripts/test-env.js";
import { dumpC, dumpRaw, parseBtf } from "../src/index.js";

const VMLINUX = "/sys/kernel/btf/vmlinux";
const ready = existsSync(VMLINUX) && hasTool("bpftool", ["version"]);
if (!ready) console.log("skipping btf benches: needs /sys/kernel/btf/vmlinux and bpftool");

// Both sides start from the file and produce the whole text, in the same run, so the ratio is fair:
// bpftool's figure includes its process start, ours includes reading and parsing the blob.
const options = { time: 3000, iterations: 5, warmupIterations: 1 };

describe.skipIf(!ready)("vmlinux.h (format c) of /sys/kernel/btf/vmlinux", () => {
  bench(
    "baseline: bpftool btf dump file vmlinux format c (spawned)",
    () => {
      execFileSync("bpftool", ["btf", "dump", "file", VMLINUX, "format", "c"], { maxBuffer: 1 << 30 });
    },
    options,
  );
  bench(
    "bpfkit: read + parseBtf + dumpC",
    () => {
      dumpC(parseBtf(new Uint8Array(readFileSync(VMLINUX))));
    },
    options,
  );
});

describe.skipIf(!ready)("raw dump of /sys/kernel/btf/vmlinux", () => {
  bench(
    "baseline: bpftool btf dump file vmlinux format raw (spawned)",
    () => {
      execFileSync("bpftool", ["btf", "dump", "file", VMLINUX, "format", "raw"], { maxBuffer: 1 << 30 });
    },
    options,
  );
  bench(
    "bpfkit: read + parseBtf + dumpRaw",
    () => {
      dumpRaw(parseBtf(new Uint8Array(readFileSync(VMLINUX))));
    },
    options,
  );
});

describe.skipIf(!existsSync(VMLINUX))("open vmlinux BTF", () => {
  const bytes = new Uint8Array(readFileSync(VMLINUX));
  bench("baseline: copy the 5.5 MB blob", () => {
    bytes.slice();
  });
  bench("parseBtf (lazy index)", () => {
    parseBtf(bytes);
  });
});
