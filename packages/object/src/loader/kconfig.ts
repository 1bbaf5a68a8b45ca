/**
 * Parses a kernel `.config` (`/proc/config.gz` decompressed, `/boot/config-*`) into the values
 * `__kconfig` externs read: `CONFIG_X=y|m|number|"string"`; `# CONFIG_X is not set` becomes "n".
 */
export function parseKconfig(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const unset = /^# (CONFIG_\w+) is not set$/.exec(line);
    if (unset) {
      out[unset[1]!] = "n";
      continue;
    }
    const eq = line.indexOf("=");
    if (!line.startsWith("CONFIG_") || eq < 0) continue;
    out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

/** `LINUX_KERNEL_VERSION` as libbpf computes it from a release string: a<<16 | b<<8 | min(c, 255). */
export function kernelVersionCode(release: string): number {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release);
  if (!m) return 0;
  return (Number(m[1]) << 16) + (Number(m[2]) << 8) + Math.min(Number(m[3] ?? 0), 255);
}
