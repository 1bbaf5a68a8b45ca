import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { release } from "node:os";
import { gunzipSync } from "node:zlib";
import type { Btf } from "@bpfkit/btf";
import { parseBtf } from "@bpfkit/btf";
import {
  kernelVersionCode,
  type LoadedObject,
  loadObject,
  mapTypeName,
  openObject,
  PROG_TYPE_NAMES,
  parseKconfig,
} from "@bpfkit/object";
import type { RegisterCommand } from "../context.js";

/** `bpfkit object OBJ [--json] [--btf FILE]`: the loader's view of an object (elf-object.md). */
export const registerObject: RegisterCommand = (program, context) => {
  program
    .command("object")
    .description("load a BPF ELF object like libbpf: programs, maps, externs and the relocations applied")
    .argument("<file>", "clang-built BPF object (.bpf.o)")
    .option("--btf <file>", "target kernel BTF (default: /sys/kernel/btf/vmlinux, else the bundled 6.18)")
    .option("--json", "print JSON")
    .action(async (file: string, options: { btf?: string; json?: boolean }) => {
      const bytes = new Uint8Array(await readFile(file));
      const kernelBtf = await targetBtf(options.btf);
      const loaded = withFile(file, () => {
        const obj = openObject(bytes, { fileName: file, kernelBtf });
        return loadObject(obj, {
          kernelBtf,
          kallsyms: kallsyms(),
          possibleCpus: possibleCpus(),
          kconfig: kconfig(),
        });
      });
      const view = describe(loaded);
      context.io.out(options.json ? `${JSON.stringify(view, null, 2)}\n` : formatText(view, file));
    });
};

async function targetBtf(path: string | undefined): Promise<Btf> {
  if (path) return parseBtf(new Uint8Array(await readFile(path)));
  try {
    return parseBtf(new Uint8Array(await readFile("/sys/kernel/btf/vmlinux")));
  } catch {
    const { loadVmlinux618 } = await import("@bpfkit/btf/vmlinux-6.18");
    return loadVmlinux618();
  }
}

function kallsyms(): ((name: string) => bigint | undefined) | undefined {
  let table: Map<string, bigint> | undefined;
  return (name) => {
    if (!table) {
      table = new Map();
      try {
        for (const line of readFileSync("/proc/kallsyms", "utf8").split("\n")) {
          const [addr, , sym] = line.split(" ");
          if (addr && sym && !sym.includes("\t") && !table.has(sym)) table.set(sym, BigInt(`0x${addr}`));
        }
      } catch {
        // No kallsyms (not Linux, or no permission): typeless ksyms stay unresolved.
      }
    }
    return table.get(name);
  };
}

/** The running kernel's config (for `__kconfig` externs), from /proc/config.gz or /boot. */
function kconfig(): Record<string, string> {
  let values: Record<string, string> = {};
  for (const path of ["/proc/config.gz", `/boot/config-${release()}`]) {
    try {
      const raw = readFileSync(path);
      values = parseKconfig((path.endsWith(".gz") ? gunzipSync(raw) : raw).toString("utf8"));
      break;
    } catch {
      // try the next place
    }
  }
  // libbpf 1.1 probes LINUX_HAS_BPF_COOKIE itself (true on every kernel bpfkit targets); it does
  // not know LINUX_HAS_SYSCALL_WRAPPER, so a weak one stays 0.
  return {
    ...values,
    LINUX_KERNEL_VERSION: String(kernelVersionCode(release())),
    LINUX_HAS_BPF_COOKIE: "1",
  };
}

function possibleCpus(): number | undefined {
  try {
    const text = readFileSync("/sys/devices/system/cpu/possible", "utf8").trim();
    return Math.max(...text.split(",").map((r) => Number(r.split("-").pop()))) + 1;
  } catch {
    return undefined;
  }
}

function withFile<T>(file: string, run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof Error && (error as { isInputError?: boolean }).isInputError === true)
      error.message = `${file}: ${error.message}`;
    throw error;
  }
}

/** The stable JSON shape of `bpfkit object --json`. */
export interface ObjectView {
  name: string;
  license: string;
  programs: Array<{
    name: string;
    section: string;
    type: string;
    autoload: boolean;
    insns: number;
    functions: string[];
    relocations: Array<{ insn: number; kind: string; symbol: string }>;
  }>;
  maps: Array<{
    name: string;
    type: string;
    keySize: number;
    valueSize: number;
    maxEntries: number;
    flags: number;
  }>;
  externs: Array<{
    name: string;
    kind: string;
    weak: boolean;
    resolved: boolean;
    btfId: number;
    source: string;
  }>;
  relocations: Record<string, number>;
}

function describe(loaded: LoadedObject): ObjectView {
  const obj = loaded.object;
  const byName = new Map(loaded.programs.map((p) => [p.name, p]));
  const counts: Record<string, number> = {};
  for (const p of loaded.programs) for (const r of p.relocations) counts[r.kind] = (counts[r.kind] ?? 0) + 1;
  return {
    name: obj.name,
    license: obj.license,
    programs: obj.functions
      .filter((f) => !f.isSubprogram)
      .map((f) => {
        const p = byName.get(f.name);
        return {
          name: f.name,
          section: f.section,
          type: PROG_TYPE_NAMES[f.progType] ?? String(f.progType),
          autoload: f.autoload,
          insns: p ? p.insns.byteLength / 8 : f.insnCount,
          functions: p ? p.funcs.map((x) => x.name) : [f.name],
          relocations: (p?.relocations ?? []).map((r) => ({ insn: r.insn, kind: r.kind, symbol: r.symbol })),
        };
      }),
    maps: loaded.maps.map((m) => ({
      name: m.name,
      type: mapTypeName(m.type),
      keySize: m.keySize,
      valueSize: m.valueSize,
      maxEntries: m.maxEntries,
      flags: m.flags,
    })),
    externs: loaded.externs.map((e) => ({
      name: e.extern.name,
      kind: e.extern.kind,
      weak: e.extern.weak,
      resolved: e.resolved,
      btfId: e.btfId,
      source: e.source,
    })),
    relocations: counts,
  };
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows
    .map(
      (r) =>
        `  ${r
          .map((cell, c) => cell.padEnd(widths[c]!))
          .join("  ")
          .trimEnd()}\n`,
    )
    .join("");
}

function formatText(v: ObjectView, file: string): string {
  let out = `${file}: object '${v.name}', license '${v.license}'\n`;
  out += `programs (${v.programs.length}):\n`;
  out += table([
    ["name", "section", "type", "insns", "functions"],
    ...v.programs.map((p) => [
      p.autoload ? p.name : `${p.name} (no autoload)`,
      p.section,
      p.type,
      String(p.insns),
      p.functions.join(","),
    ]),
  ]);
  out += `maps (${v.maps.length}):\n`;
  if (v.maps.length > 0)
    out += table([
      ["name", "type", "keySize", "valueSize", "maxEntries", "flags"],
      ...v.maps.map((m) => [
        m.name,
        m.type,
        String(m.keySize),
        String(m.valueSize),
        String(m.maxEntries),
        `0x${m.flags.toString(16)}`,
      ]),
    ]);
  out += `externs (${v.externs.length}):\n`;
  if (v.externs.length > 0)
    out += table([
      ["name", "kind", "weak", "resolved"],
      ...v.externs.map((e) => [
        e.name,
        e.kind,
        e.weak ? "weak" : "",
        e.resolved ? `${e.source}${e.btfId ? ` [${e.btfId}]` : ""}` : "no",
      ]),
    ]);
  const rel = Object.entries(v.relocations)
    .map(([k, n]) => `${k} ${n}`)
    .join(", ");
  out += `relocations applied: ${rel || "none"}\n`;
  return out;
}
