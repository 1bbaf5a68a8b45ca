import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseBtf } from "@bpfkit/btf";
import { loadVmlinux618 } from "@bpfkit/btf/vmlinux-6.18";
import { bench, describe } from "vitest";
import { hasTool, repoRoot } from "../../../scripts/test-env.js";
import { loadObject, openObject, readElf } from "../src/index.js";

// The worked example (maps, globals, kfuncs, a subprogram, CO-RE): what a loader does per object,
// against bpftool opening the same object (a process per run, libbpf's open without a kernel) and
// against the bare parse that any loader pays (ELF + .BTF).
const path = join(repoRoot, "fixtures", "bpf", "example.bpf.o");
const bytes = new Uint8Array(readFileSync(path));
const kernelBtf = loadVmlinux618();
const out = join(tmpdir(), `bpfkit-bench-${process.pid}.o`);

describe(`load ${path.slice(repoRoot.length + 1)} (${bytes.length} bytes)`, () => {
  if (hasTool("bpftool", ["version"])) {
    bench("baseline: bpftool gen object (spawned libbpf open + link)", () => {
      execFileSync("bpftool", ["gen", "object", out, path], { stdio: "ignore" });
    });
  }
  bench("baseline: readElf + parseBtf", () => {
    const elf = readElf(bytes);
    const btf = elf.sections.find((s) => s.name === ".BTF");
    if (btf) parseBtf(btf.data);
  });
  bench("openObject + loadObject (CO-RE, kfuncs against 6.18 BTF)", () => {
    loadObject(openObject(bytes, { fileName: path }), { kernelBtf });
  });
});
