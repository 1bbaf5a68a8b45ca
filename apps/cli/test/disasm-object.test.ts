import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hasTool, repoRoot, skipReason } from "../../../scripts/test-env.js";
import { main } from "../src/cli.js";

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

const example = join(repoRoot, "fixtures", "bpf", "example.bpf.o");

describe("bpfkit disasm OBJ (ELF objects through @bpfkit/object)", () => {
  it.skipIf(skipReason("disasm parity", [[hasTool("llvm-objdump-19"), "llvm-objdump-19 not installed"]]))(
    "--syntax llvm prints exactly what llvm-objdump-19 -d -r prints",
    async () => {
      const { io, out } = capture();
      expect(await main(["disasm", example, "--syntax", "llvm"], io)).toBe(0);
      expect(out.join("")).toBe(execFileSync("llvm-objdump-19", ["-d", "-r", example], { encoding: "utf8" }));
    },
  );

  it("shows CO-RE and relocation lines in the kernel syntax too", async () => {
    const { io, out } = capture();
    expect(await main(["disasm", example], io)).toBe(0);
    const text = out.join("");
    expect(text).toContain(
      "CO-RE <byte_off> [345] struct vm_area_struct::<anon 0>.<anon 0>.vm_start (0:0:0:0)",
    );
    expect(text).toContain("R_BPF_64_32\tbpf_task_from_pid");
    expect(text).toMatch(/\tr2 = \*\(u64 \*\)\(r1 \+0\)\n/);
  });

  it("turns a corrupt object into one line naming the file, section and offset, exit 2", async () => {
    const bad = new Uint8Array(readFileSync(example)).slice(0, 0x9d000);
    const dir = mkdtempSync(join(tmpdir(), "bpfkit-cli-obj-"));
    const path = join(dir, "cut.o");
    writeFileSync(path, bad);
    const { io, err } = capture();
    expect(await main(["disasm", path, "--syntax", "llvm"], io)).toBe(2);
    const lines = err.join("").trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/cut\.o: .*section header table .* runs past the end of the file .*offset 0x28/);
  });
});
