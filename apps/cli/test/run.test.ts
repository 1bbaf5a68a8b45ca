import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../src/cli.js";

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

const dir = mkdtempSync(join(tmpdir(), "bpfkit-run-"));
const snapshot = join(dir, "snap.json");
writeFileSync(snapshot, JSON.stringify({ tasks: [{ pid: 1, tgid: 1, comm: "init" }] }));

describe("bpfkit run", () => {
  it("refuses bad options with exit 2 naming the option", async () => {
    for (const [args, msg] of [
      [["--ctx-hex", "xyz"], /--ctx-hex xyz: expected hex bytes/],
      [["--data-hex", "abc"], /--data-hex abc: expected hex bytes/],
      [["--repeat", "0"], /--repeat 0: expected a positive integer/],
      [["--pid", "-4"], /--pid -4: expected a process id/],
      [["--pid", "77", "--snapshot", snapshot], /--pid 77: no such task/],
    ] as const) {
      const { io, err } = capture();
      expect(await main(["run", "x.o", "--prog", "p", ...args], io)).toBe(2);
      expect(err.join("")).toMatch(msg);
    }
  });

  it("a malformed snapshot file is bad input", async () => {
    const bad = join(dir, "bad.json");
    writeFileSync(bad, "{}");
    const { io, err } = capture();
    expect(await main(["run", "x.o", "--prog", "p", "--snapshot", bad], io)).toBe(2);
    expect(err.join("")).toMatch(/bad.json: expected an object with a "tasks" array/);
  });

  it("says which missing piece keeps an object from running (the object loader, issue 5)", async () => {
    const { io, err } = capture();
    const obj = join(import.meta.dirname, "..", "..", "..", "fixtures", "bpf", "example.bpf.o");
    expect(await main(["run", obj, "--prog", "count_vmas", "--snapshot", snapshot, "--no-verify"], io)).toBe(
      2,
    );
    expect(err.join("")).toMatch(/needs the object loader of @bpfkit\/object \(issue 5\)/);
  });
});
