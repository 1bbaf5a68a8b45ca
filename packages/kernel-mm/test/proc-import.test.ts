import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  buildMm,
  importSaved,
  KernelMmError,
  parseMapsLine,
  parseStat,
  VM,
  vmFlagsFromSmaps,
  vmFlagsTableFor,
} from "../src/index.js";
import { importLive } from "../src/proc.js";

const pad = (head: string, name: string) => (name ? `${head.padEnd(73, " ")}${name}` : `${head} `);

/** A small recorded smaps, written for these tests. */
const smaps = [
  pad("555555554000-555555556000 r--p 00000000 fe:00 260875", "/usr/bin/my tool"),
  "Size:                  8 kB",
  "Anonymous:             0 kB",
  "VmFlags: rd mr mw me ",
  pad("555555556000-55555555b000 r-xp 00002000 fe:00 260875", "/usr/bin/my tool"),
  "VmFlags: rd ex mr mw me ",
  pad("555555560000-555555581000 rw-p 00000000 00:00 0", "[heap]"),
  "Anonymous:           132 kB",
  "VmFlags: rd wr mr mw me ac ",
  pad("7f0000000000-7f0000004000 rw-p 00000000 00:00 0", ""),
  "ProtectionKey:         3",
  "VmFlags: rd wr mr mw me lo ac ",
  pad("7f0000004000-7f0000006000 rw-s 00000000 00:01 1234", "/dev/zero (deleted)"),
  "VmFlags: rd wr sh mr mw me ms ",
  pad("7f0000006000-7f0000007000 r--p 00000000 00:00 0", "[anon:my buffer]"),
  "VmFlags: rd mr mw me sl ",
  pad("7ffff7fc1000-7ffff7fc5000 r--p 00000000 00:00 0", "[vvar]"),
  "VmFlags: rd mr pf io de dd ",
  pad("7ffff7fc5000-7ffff7fc7000 r-xp 00000000 00:00 0", "[vdso]"),
  "VmFlags: rd ex mr mw me de ",
  pad("7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0", "[stack]"),
  "VmFlags: rd wr mr mw me gd ac ",
  pad("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0", "[vsyscall]"),
  "VmFlags: ex ",
  "",
].join("\n");

describe("/proc import", () => {
  it("reconstructs vm_flags and vm_pgoff from a recorded smaps (spec 6.2, 6.3)", () => {
    const space = importSaved({ smaps, release: "6.18.44" });
    expect(space.vsyscall).toBe(true);
    const byStart = new Map(space.vmas.map((v) => [v.start, v]));
    expect(space.vmas).toHaveLength(9);
    expect(byStart.get(0x555555554000n)).toMatchObject({ flags: 0x71n, pgoff: 0n, path: "/usr/bin/my tool" });
    expect(byStart.get(0x555555556000n)).toMatchObject({ flags: 0x75n, pgoff: 2n, pgoffSource: "file" });
    expect(byStart.get(0x555555560000n)).toMatchObject({
      flags: 0x100073n,
      pgoff: 0x555555560n,
      anonVma: true,
    });
    expect(byStart.get(0x7f0000000000n)).toMatchObject({
      flags: 0x100073n | VM.LOCKED | (3n << 32n),
      pgoff: 0x7f0000000n,
    });
    expect(byStart.get(0x7f0000004000n)).toMatchObject({ flags: 0xfbn, pgoff: 0n, inode: 1234n });
    expect(byStart.get(0x7f0000006000n)?.flags).toBe(0x71n | VM.SEALED);
    expect(byStart.get(0x7ffff7fc1000n)).toMatchObject({ pgoff: 0n, pgoffSource: "special" });
    const stack = byStart.get(0x7ffffffde000n);
    expect(stack?.flags).toBe(0x100173n);
    expect(stack && stack.pgoff + ((stack.end - stack.start) >> 12n)).toBe(0x7ffffffffn);
  });

  it("uses the 6.12 numbering of the high bits for a 6.12 kernel and rejects unknown codes", () => {
    expect(vmFlagsTableFor("6.12.117-amd64")).toBe("6.12");
    expect(vmFlagsTableFor("6.18.44")).toBe("6.18");
    expect(vmFlagsFromSmaps(["rd", "ui", "sl"], 0, "6.12")).toBe(1n | (1n << 38n) | (1n << 63n));
    expect(vmFlagsFromSmaps(["rd", "ui", "sl"], 0, "6.18")).toBe(1n | (1n << 41n) | (1n << 42n));
    expect(() => vmFlagsFromSmaps(["rd", "??"], 0, "6.18")).toThrow(KernelMmError);
    expect(() => vmFlagsFromSmaps(["gu"], 0, "6.12")).toThrow(/unknown VmFlags code "gu"/);
  });

  it("builds an mm_struct that leaves [vsyscall] out of the tree and prints maps lines back", () => {
    const mm = buildMm(importSaved({ smaps, release: "6.18.44" }));
    expect(mm.mapCount).toBe(9);
    expect(mm.findVma(0xffffffffff600000n)).toBeNull();
    expect(mm.vmas()[0]?.toMapsLine()).toBe(
      pad("555555554000-555555556000 r--p 00000000 fe:00 260875", "/usr/bin/my tool"),
    );
    expect(mm.vmas()[5]?.anonName).toBe("my buffer");
    expect(mm.vmas()[5]?.vmOps).toBe("anonymous");
    expect(mm.vmas()[6]?.vmOps).toBe("special");
  });

  it("parses maps lines with and without names, and stat with a spaced command", () => {
    expect(parseMapsLine("7f0000000000-7f0000001000 ---p 00000000 00:00 0 ")).toMatchObject({
      name: "",
      perms: "---p",
    });
    expect(parseMapsLine(pad("1000-2000 r--s 00001000 08:01 42", "/tmp/a b  c")).name).toBe("/tmp/a b  c");
    expect(() => parseMapsLine("nonsense")).toThrow(/malformed maps line/);
    const stat =
      "1234 (my (odd) cmd) S 1 1234 1234 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 3 0 100 1000 200 18446744073709551615 1 1 140737488347136 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 93824992247808 93824992382976 93825000000000 0 0 0 0 0";
    expect(parseStat(stat)).toMatchObject({
      startStack: 140737488347136n,
      startBrk: 93825000000000n,
      // Field 48 is arg_start, not brk: stat has no brk, so start_brk stands in until buildMm.
      brk: 93825000000000n,
      threads: 3,
    });
  });

  it("takes brk from the end of the [heap] VMA, since /proc/PID/stat does not carry it", () => {
    const heap = { start: 0x555555560000n, end: 0x555555581000n };
    const mm = buildMm({
      ...importSaved({ smaps: "", release: "6.18.44" }),
      vmas: [
        {
          start: heap.start,
          end: heap.end,
          perms: "rw-p",
          major: 0,
          minor: 0,
          inode: 0n,
          path: "[heap]",
          flags: 0x100073n,
          pgoff: heap.start >> 12n,
          pgoffSource: "anon-inferred",
          flagsExact: true,
          anonVma: true,
        },
      ],
      stat: { startBrk: heap.start, brk: heap.start, startStack: 0x7ffffffde000n },
    });
    expect(mm.startBrk).toBe(heap.start);
    expect(mm.brk).toBe(heap.end);
  });

  it("reproduces a live process's /proc/PID/maps byte for byte from the imported mm", async () => {
    const child = spawn("sleep", ["30"]);
    try {
      await new Promise((r) => setTimeout(r, 200));
      const pid = child.pid as number;
      const mm = buildMm(importLive(pid));
      const maps = readFileSync(`/proc/${pid}/maps`, "utf8")
        .split("\n")
        .filter((l) => l.length > 0 && !l.endsWith("[vsyscall]"));
      expect(mm.vmas().map((v) => v.toMapsLine())).toEqual(maps);
      expect(mm.mmMt.flags & ~0x7c).toBe(0x303);
    } finally {
      child.kill();
    }
  });
});
