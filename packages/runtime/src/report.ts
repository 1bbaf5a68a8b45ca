import type { DumpEntry } from "./maps/dump.js";
import type { RunOutput, Runtime } from "./runtime.js";

/** What `bpfkit run --json` prints: the fields of BPF_PROG_TEST_RUN plus every map, dumped like bpftool. */
export interface RunReport {
  retval: number;
  /** Context after the run, hex; absent when the program type has no context out. */
  ctxOut?: string;
  /** Packet after the run, hex. */
  dataOut?: string;
  maps: Record<string, DumpEntry[]>;
  /** trace_printk output, when the program printed. */
  output?: string[];
  stats: { insns: number; nsPerRun: number };
}

function toHex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

/** The report of a run, with the maps as they are now. */
export function runReport(runtime: Runtime, out: RunOutput): RunReport {
  const report: RunReport = {
    retval: out.retval,
    maps: runtime.dumpMaps(),
    stats: { insns: out.stats.insns, nsPerRun: out.stats.nsPerRun },
  };
  if (out.ctxOut) report.ctxOut = toHex(out.ctxOut);
  if (out.dataOut) report.dataOut = toHex(out.dataOut);
  if (runtime.output.length > 0) report.output = [...runtime.output];
  return report;
}

/** Parses a `--ctx-hex`/`--data-hex` argument (whitespace allowed); undefined when it is not hex. */
export function parseHex(text: string): Uint8Array | undefined {
  const clean = text.replace(/\s+/g, "").replace(/^0x/i, "");
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) return undefined;
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}
