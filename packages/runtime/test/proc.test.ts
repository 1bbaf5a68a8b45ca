import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { skipReason } from "../../../scripts/test-env.js";
import { createRuntime } from "../src/index.js";
import { parseProcStatus, readProcSnapshot, readSnapshotFile } from "../src/proc.js";

describe("system snapshots", () => {
  it("parses a status file", () => {
    const t = parseProcStatus(
      "Name:\tbash\nUmask:\t0022\nTgid:\t10\nPid:\t11\nPPid:\t1\nUid:\t1000\t1000\t1000\t1000\nGid:\t5\t5\t5\t5\nVmSize:\t 1 kB\n",
    );
    expect(t).toEqual({ pid: 11, tgid: 10, ppid: 1, comm: "bash", uid: 1000, gid: 5, hasMm: true });
    expect(parseProcStatus("Name:\tx\n")).toBeUndefined();
  });

  it.skipIf(skipReason("live /proc snapshot", [[existsSync("/proc/self/status"), "no /proc"]]))(
    "reads the live system; this process is current and its comm matches /proc",
    () => {
      const snap = readProcSnapshot();
      expect(snap.tasks.length).toBeGreaterThan(1);
      const me = snap.tasks.find((t) => t.pid === process.pid);
      expect(me?.tgid).toBe(process.pid);
      const rt = createRuntime({ snapshot: snap });
      expect(rt.tasks.current()?.pid).toBe(process.pid);
      const dir = mkdtempSync(join(tmpdir(), "snap-"));
      writeFileSync(join(dir, "s.json"), JSON.stringify(snap));
      expect(readSnapshotFile(join(dir, "s.json")).tasks.length).toBe(snap.tasks.length);
    },
  );

  it("refuses a malformed snapshot file naming it", () => {
    const dir = mkdtempSync(join(tmpdir(), "snap-"));
    writeFileSync(join(dir, "bad.json"), JSON.stringify({ tasks: [{ pid: "x" }] }));
    expect(() => readSnapshotFile(join(dir, "bad.json"))).toThrow(/bad.json: tasks\[0\]/);
  });
});
