import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../src/cli.js";

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

describe("bpfkit mm", () => {
  it("prints a live process's VMAs as JSON with numbers, matching /proc/PID/maps", async () => {
    const child = spawn("sleep", ["30"]);
    try {
      await new Promise((r) => setTimeout(r, 200));
      const pid = child.pid as number;
      const { io, out } = capture();
      expect(await main(["mm", "--pid", String(pid), "--json"], io)).toBe(0);
      const { vmas } = JSON.parse(out.join("")) as {
        vmas: Array<{
          start: number;
          end: number;
          flags: number;
          pgoff: number;
          perms: string;
          path: string;
        }>;
      };
      const maps = readFileSync(`/proc/${pid}/maps`, "utf8")
        .trim()
        .split("\n")
        .filter((l) => !l.endsWith("[vsyscall]"));
      expect(vmas.length).toBe(maps.length);
      maps.forEach((line, i) => {
        const v = vmas[i] as (typeof vmas)[number];
        const [range, perms] = line.split(" ");
        expect(`${v.start.toString(16)}-${v.end.toString(16)}`).toBe(range);
        expect(v.perms).toBe(perms);
        expect(typeof v.flags).toBe("number");
      });
      const stack = vmas.find((v) => v.path === "[stack]");
      // [stack]: pgoff + pages = STACK_TOP_MAX >> 12 (4-level paging).
      expect(stack && stack.pgoff + (stack.end - stack.start) / 4096).toBe(0x7ffffffff);
    } finally {
      child.kill();
    }
  });

  it("prints text lines for self", async () => {
    const { io, out } = capture();
    expect(await main(["mm"], io)).toBe(0);
    expect(out.join("")).toMatch(/\[heap\]|\[stack\]/);
  });

  it("imports a saved smaps file (--smaps) without touching /proc", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "bpfkit-mm-")), "smaps");
    const head = "7f0000000000-7f0000004000 rw-p 00000000 00:00 0";
    writeFileSync(
      file,
      `${head.padEnd(73, " ")}[anon:buf]\nProtectionKey:         2\nVmFlags: rd wr mr mw me ac \n` +
        `${"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0".padEnd(73, " ")}[vsyscall]\nVmFlags: ex \n`,
    );
    const { io, out } = capture();
    expect(await main(["mm", "--smaps", file, "--json"], io)).toBe(0);
    expect(JSON.parse(out.join(""))).toEqual({
      vmas: [
        {
          start: 0x7f0000000000,
          end: 0x7f0000004000,
          flags: 0x200100073,
          pgoff: 0x7f0000000,
          perms: "rw-p",
          path: "[anon:buf]",
        },
      ],
    });
  });

  it("exits 2 with one line for a missing process or a bad pid", async () => {
    for (const pid of ["999999999", "abc"]) {
      const { io, err } = capture();
      expect(await main(["mm", "--pid", pid], io)).toBe(2);
      expect(err.join("").trim().split("\n")).toHaveLength(1);
    }
    const { io, err } = capture();
    await main(["mm", "--pid", "999999999"], io);
    expect(err.join("")).toContain("no process with pid 999999999");
  });
});
