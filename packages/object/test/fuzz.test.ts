import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { describe, expect, it } from "vitest";
import { disassembleObject, ElfError, readElf } from "../src/index.js";
import { fixtureObjects } from "./corpus.js";

/** mulberry32: a small seeded PRNG so every run mutates the same bytes. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Byte ranges worth hitting: the file header, the section table, symbols, relocations, BTF, code. */
function hotRanges(bytes: Uint8Array): Array<[number, number]> {
  const elf = readElf(bytes);
  const ranges: Array<[number, number]> = [[0, 64]];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = elf.header.endian === "little";
  const shoff = Number(view.getBigUint64(0x28, le));
  ranges.push([shoff, shoff + elf.sections.length * 64]);
  for (const s of elf.sections) {
    if (s.data.length === 0) continue;
    if (/^\.(symtab|strtab|BTF|BTF\.ext)$|^\.rel/.test(s.name) || (s.flags & 4n) !== 0n)
      ranges.push([s.offset, s.offset + Math.min(s.data.length, 4096)]);
  }
  return ranges;
}

/** Runs reader and disassembler; anything but success or an ElfError is a bug. */
function outcome(bytes: Uint8Array): "ok" | "elf-error" {
  try {
    readElf(bytes);
    disassembleObject(bytes);
    return "ok";
  } catch (error) {
    if (!(error instanceof ElfError)) throw error;
    expect(error.isInputError).toBe(true);
    expect(Number.isInteger(error.offset) && error.offset >= 0).toBe(true);
    expect(error.message).toMatch(/at offset 0x[0-9a-f]+\)$/);
    return "elf-error";
  }
}

describe("corrupted objects give ElfErrors, never crashes or hangs", () => {
  const files = fixtureObjects();

  it.each(files.map((f) => [basename(f), f]))("truncations of %s", (_name, path) => {
    const good = new Uint8Array(readFileSync(path));
    const rand = prng(0x5eed ^ good.length);
    const cuts = new Set<number>([0, 1, 4, 15, 16, 63, 64, 65, good.length - 1]);
    for (const [from, to] of hotRanges(good)) {
      cuts.add(from);
      cuts.add(Math.min(to, good.length - 1));
    }
    while (cuts.size < 60) cuts.add(Math.floor(rand() * good.length));
    const seen = { ok: 0, "elf-error": 0 };
    for (const cut of cuts) {
      const started = performance.now();
      seen[outcome(good.slice(0, cut))]++;
      expect(performance.now() - started).toBeLessThan(5000);
    }
    // Cutting away the section header table always breaks the file.
    expect(seen["elf-error"]).toBeGreaterThan(cuts.size / 2);
  });

  it.each(files.map((f) => [basename(f), f]))("bit flips in %s", (_name, path) => {
    const good = new Uint8Array(readFileSync(path));
    const rand = prng(0xb17f ^ good.length);
    const hot = hotRanges(good);
    const seen = { ok: 0, "elf-error": 0 };
    for (let round = 0; round < 150; round++) {
      const bad = good.slice();
      const flips = 1 + Math.floor(rand() * 4);
      for (let f = 0; f < flips; f++) {
        let at: number;
        if (rand() < 0.8) {
          const [from, to] = hot[Math.floor(rand() * hot.length)] as [number, number];
          at = from + Math.floor(rand() * Math.max(1, to - from));
        } else at = Math.floor(rand() * bad.length);
        if (at < bad.length) bad[at] = (bad[at] as number) ^ (1 << Math.floor(rand() * 8));
      }
      const started = performance.now();
      seen[outcome(bad)]++;
      expect(performance.now() - started).toBeLessThan(5000);
    }
    expect(seen.ok + seen["elf-error"]).toBe(150);
    expect(seen["elf-error"]).toBeGreaterThan(0);
  });
});
