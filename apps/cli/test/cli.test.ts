import { describe, expect, it } from "vitest";
import { main } from "../src/cli.js";

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

describe("bpfkit cli", () => {
  it("prints help and exits 0", async () => {
    const { io, out } = capture();
    expect(await main(["--help"], io)).toBe(0);
    expect(out.join("")).toContain("Usage: bpfkit");
  });

  it("rejects an unknown command with exit code 2", async () => {
    const { io, err } = capture();
    expect(await main(["no-such-command"], io)).toBe(2);
    expect(err.join("")).toMatch(/unknown command|too many arguments/);
  });
});
