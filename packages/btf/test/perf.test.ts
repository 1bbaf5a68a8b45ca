import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { skipReason } from "../../../scripts/test-env.js";
import { parseBtf } from "../src/index.js";
import { hasVmlinux, VMLINUX } from "./helpers.js";

describe.skipIf(skipReason("vmlinux parse budget", [[hasVmlinux, `${VMLINUX} missing`]]))(
  "parse budget",
  () => {
    it("opens vmlinux BTF in under 150 ms and 100 MB", () => {
      const times: number[] = [];
      let kept: unknown;
      const before = process.memoryUsage();
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        kept = parseBtf(new Uint8Array(readFileSync(VMLINUX)));
        times.push(performance.now() - t0);
      }
      const after = process.memoryUsage();
      const grown = after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers);
      const best = Math.min(...times);
      console.log(
        `parse vmlinux: best ${best.toFixed(1)} ms of ${times.map((t) => t.toFixed(0)).join("/")}; heap+buffers +${(grown / 1e6).toFixed(1)} MB`,
      );
      expect(kept).toBeDefined();
      expect(best).toBeLessThan(150);
      expect(grown).toBeLessThan(100e6);
    });
  },
);
