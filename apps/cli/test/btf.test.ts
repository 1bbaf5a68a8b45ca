import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hasTool, skipReason } from "../../../scripts/test-env.js";
import { main } from "../src/cli.js";

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

const VMLINUX = "/sys/kernel/btf/vmlinux";

describe("bpfkit btf dump", () => {
  it("rejects bad arguments and bad files with exit 2 and one clear line", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bpfkit-cli-btf-"));
    const junk = join(dir, "junk");
    writeFileSync(junk, "not btf at all, just text");
    let c = capture();
    expect(await main(["btf", "dump", "file", junk], c.io)).toBe(2);
    expect(c.err.join("")).toContain(`${junk}: bad BTF magic`);
    c = capture();
    expect(await main(["btf", "dump", "file", junk, "format", "json"], c.io)).toBe(2);
    expect(c.err.join("")).toContain("unknown format 'json'");
    c = capture();
    expect(await main(["btf", "dump", "format", "c"], c.io)).toBe(2);
    expect(c.err.join("")).toContain("missing 'file FILE'");
    c = capture();
    expect(await main(["btf", "dump", "file", join(dir, "absent")], c.io)).toBe(2);
  });

  describe.skipIf(
    skipReason("btf dump CLI vs bpftool", [
      [existsSync(VMLINUX), `${VMLINUX} missing`],
      [hasTool("bpftool", ["version"]), "bpftool not installed"],
    ]),
  )("against bpftool", () => {
    it("dumps a split BTF with `base` like `bpftool -B`, and --sort gives the upstream layout", async () => {
      const { BtfBuilder, parseBtf } = await import("@bpfkit/btf");
      const base = parseBtf(new Uint8Array(readFileSync(VMLINUX)));
      const b = new BtfBuilder(base.length, base.header.strLen);
      b.add({ kind: "ptr", name: "", type: base.find("task_struct")! });
      const file = join(mkdtempSync(join(tmpdir(), "bpfkit-cli-split-")), "mod");
      writeFileSync(file, b.build());
      const c = capture();
      expect(await main(["btf", "dump", "file", file, "base", VMLINUX, "format", "raw"], c.io)).toBe(0);
      const ref = execFileSync("bpftool", [
        "-B",
        VMLINUX,
        "btf",
        "dump",
        "file",
        file,
        "format",
        "raw",
      ]).toString();
      expect(c.out.join("")).toBe(ref);
      const sorted = capture();
      expect(await main(["btf", "dump", "file", VMLINUX, "format", "c", "--sort"], sorted.io)).toBe(0);
      expect(sorted.out.join("")).toContain("#ifndef __bpf_fastcall\n");
      const bad = capture();
      expect(await main(["btf", "dump", "file", VMLINUX, "--sort"], bad.io)).toBe(2);
      expect(bad.err.join("")).toContain("--sort needs format c");
    }, 300_000);

    for (const format of ["raw", "c"]) {
      it(`format ${format} of vmlinux is byte-identical`, async () => {
        const c = capture();
        expect(await main(["btf", "dump", "file", VMLINUX, "format", format], c.io)).toBe(0);
        const ref = execFileSync("bpftool", ["btf", "dump", "file", VMLINUX, "format", format], {
          maxBuffer: 1 << 30,
        }).toString("utf8");
        expect(c.out.join("") === ref).toBe(true);
      });
    }
  });
});
