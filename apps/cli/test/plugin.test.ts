import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assembleUbpf, encode, parseConformanceData } from "@bpfkit/bpf-isa";
import { describe, expect, it } from "vitest";
import { hasTool, repoRoot, sharedFixtures, skipReason } from "../../../scripts/test-env.js";
import { main } from "../src/cli.js";

const suite = sharedFixtures("bpf_conformance");
const files = suite
  ? readdirSync(suite)
      .filter((f) => f.endsWith(".data"))
      .sort()
  : [];

/** Space-separated byte tokens, as the bpf_conformance runner writes them. */
const hex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(" ");

async function plugin(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(["plugin", ...argv], { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join(""), err: err.join("") };
}

function caseOf(file: string) {
  const c = parseConformanceData(new Uint8Array(readFileSync(join(suite as string, file))));
  const program = c.raw ?? encode(assembleUbpf(c.asm ?? "", { firstLine: c.asmLine }));
  return { c, program: hex(program), memory: hex(c.mem) };
}

describe("bpfkit plugin", () => {
  it("prints r0 in hex and fails with the fault on stderr", async () => {
    const ok = await plugin(["01 02 03 04", "--program", "71 10 02 00 00 00 00 00 95 00 00 00 00 00 00 00"]);
    expect(ok).toEqual({ code: 0, out: "3\n", err: "" });
    const bad = await plugin(["01 02", "--program", "71 10 08 00 00 00 00 00 95 00 00 00 00 00 00 00"]);
    expect(bad.code).toBe(1);
    expect(bad.out).toBe(bad.err);
    expect(bad.err).toMatch(/read of 1 byte at 0x[0-9a-f]+ is out of bounds of region "mem" .* at insn 0/);
    const junk = await plugin(["--program", "ff 00 00 00 00 00 00 00"]);
    expect(junk.code).toBe(1);
    expect(junk.err).toContain("unknown opcode");
  });

  it("traces with --debug", async () => {
    const r = await plugin(["--program", "b7 00 00 00 2a 00 00 00 95 00 00 00 00 00 00 00", "--debug"]);
    expect(r.out).toBe("2a\n");
    expect(r.err).toContain("mov %r0, 0x2a");
    expect(r.err.trim().split("\n")).toHaveLength(2);
  });

  it("runs the compiled engine with --engine compiled and shows its JavaScript with --debug", async () => {
    const prog = "b7 00 00 00 2a 00 00 00 95 00 00 00 00 00 00 00";
    expect(await plugin(["--engine", "compiled", "--program", prog])).toEqual({
      code: 0,
      out: "2a\n",
      err: "",
    });
    const debug = await plugin(["", "--engine compiled --debug", "--program", prog]);
    expect(debug.out).toBe("2a\n");
    expect(debug.err).toContain("// 0: (b7) r0 = 42");
    expect(debug.err).toContain("r0l = 42; r0h = 0;");
    // The same fault, word for word, on both engines.
    const bad = "71 10 08 00 00 00 00 00 95 00 00 00 00 00 00 00";
    const faults = await Promise.all(
      ["interpreter", "compiled"].map((e) => plugin(["01 02", `--engine ${e}`, "--program", bad])),
    );
    expect(faults[1]).toEqual(faults[0]);
    expect(faults[0]?.code).toBe(1);
    const unknown = await plugin(["--engine", "jit", "--program", prog]);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toBe('unknown engine "jit" (expected interpreter or compiled)\n');
  });

  it("accepts the runner's argument shape: memory and options as one argument each, maybe empty", async () => {
    const prog = "b7 00 00 00 2a 00 00 00 95 00 00 00 00 00 00 00";
    expect((await plugin(["", "", "--program", prog])).out).toBe("2a\n");
    expect((await plugin(["", "--debug --interpret", "--program", prog])).err).toContain("mov %r0, 0x2a");
    const unknown = await plugin(["", "--jit", "--program", prog]);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toBe("Invalid arguments: --jit\n");
  });

  it("reads the program from stdin in a real process", () => {
    const bin = join(repoRoot, "apps/cli/src/bin.ts");
    const args = ["--conditions=source", "--import", "tsx", bin, "plugin", "05 00 00 00"];
    // The runner writes each byte as "xx" followed by two spaces.
    const input = "61 10 00 00 00 00 00 00 07 00 00 00 01 00 00 00 95 00 00 00 00 00 00 00".replaceAll(
      " ",
      "  ",
    );
    const out = execFileSync("node", [...args, ""], { cwd: repoRoot, input: `${input}  \n` });
    expect(out.toString()).toBe("6\n");
    const failed = spawnSync("node", [...args.slice(0, 4), "plugin"], { cwd: repoRoot, input: "95 00 00\n" });
    expect(failed.status).not.toBe(0);
    expect(failed.stderr.toString()).toContain("cannot decode program");
  });
});

describe.skipIf(skipReason("bpfkit plugin --elf", [[hasTool("clang-19"), "clang-19 not installed"]]))(
  "bpfkit plugin --elf",
  () => {
    it("runs the first executable section of a clang-built object", async () => {
      const dir = mkdtempSync(join(tmpdir(), "bpfkit-plugin-"));
      const src = join(dir, "fnv.c");
      writeFileSync(
        src,
        "unsigned long long f(unsigned char *p, unsigned long long n) {\n" +
          "  unsigned int h = 2166136261u;\n" +
          "  for (unsigned long long i = 0; i < n; i++) { h ^= p[i]; h *= 16777619u; }\n" +
          "  return h;\n}\n",
      );
      execFileSync("clang-19", ["-O2", "-target", "bpf", "-mcpu=v3", "-c", src, "-o", join(dir, "fnv.o")]);
      const elf = hex(new Uint8Array(readFileSync(join(dir, "fnv.o"))));
      const r = await plugin(["61 62 63", "--elf", "--program", elf]);
      expect(r).toEqual({ code: 0, out: "1a47e90b\n", err: "" });
      const notElf = await plugin(["", "--elf", "--program", "95 00 00 00 00 00 00 00"]);
      expect(notElf.err).toContain("not a little-endian ELF64 object");
    });
  },
);

describe.skipIf(
  skipReason("bpf_conformance through bpfkit plugin", [
    [suite !== undefined, "../shared/fixtures not found"],
  ]),
)("bpf_conformance through bpfkit plugin", () => {
  const cases = ["interpreter", "compiled"].flatMap((engine) => files.map((file) => [engine, file]));
  it.each(cases)("%s engine: %s", async (engine, file) => {
    const { c, program, memory } = caseOf(file as string);
    const r = await plugin([memory, `--engine ${engine}`, "--program", program]);
    if (c.error !== undefined) expect(r.code).not.toBe(0);
    else {
      expect(r.err).toBe("");
      expect(r.code).toBe(0);
      expect(r.out).toBe(`${c.result?.toString(16)}\n`);
    }
  });
});
