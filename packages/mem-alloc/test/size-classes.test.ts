import { describe, expect, it } from "vitest";
import {
  BpfMemAlloc,
  checkAllocSize,
  classIndexForPadded,
  classIndexForRequest,
  E2BIG,
  MAX_PERCPU_REQUEST,
  MAX_REQUEST,
  NUM_CACHES,
  SIZE_CLASSES,
  watermarksFor,
} from "../src/index.js";

// Section 3's table: [unit, first request, last request (non-per-CPU), low, high, batch, trim, prefill].
const TABLE: Array<[number, number, number, number, number, number, number, number]> = [
  [96, 57, 88, 32, 96, 48, 64, 4],
  [192, 121, 184, 32, 96, 48, 64, 4],
  [16, 1, 8, 32, 96, 48, 64, 4],
  [32, 9, 24, 32, 96, 48, 64, 4],
  [64, 25, 56, 32, 96, 48, 64, 4],
  [128, 89, 120, 32, 96, 48, 64, 4],
  [256, 185, 248, 32, 96, 48, 64, 4],
  [512, 249, 504, 16, 48, 24, 32, 1],
  [1024, 505, 1016, 8, 24, 12, 16, 1],
  [2048, 1017, 2040, 4, 12, 6, 8, 1],
  [4096, 2041, 4088, 2, 6, 3, 4, 1],
];

describe("mem-alloc §3 size classes", () => {
  it("§3: 11 classes in the kernel's array order, 96 and 192 first", () => {
    expect(NUM_CACHES).toBe(11);
    expect(SIZE_CLASSES).toEqual(TABLE.map((row) => row[0]));
  });

  it("§3 request columns: every non-per-CPU request maps to the listed class, its neighbours do not", () => {
    TABLE.forEach(([unit, first, last], idx) => {
      for (let request = first; request <= last; request++)
        expect(classIndexForRequest(request), `request ${request}`).toBe(idx);
      expect(SIZE_CLASSES[classIndexForRequest(first - 1)]).not.toBe(unit);
      expect(SIZE_CLASSES[classIndexForRequest(last + 1)] ?? 0).not.toBe(unit);
    });
  });

  it("§3 per-CPU column: requests map without the 8-byte header (65–96 → 96, 1–16 → 16, 2049–4096 → 4096)", () => {
    expect(classIndexForRequest(65, true)).toBe(0);
    expect(classIndexForRequest(96, true)).toBe(0);
    expect(classIndexForRequest(64, true)).toBe(4);
    expect(classIndexForRequest(1, true)).toBe(2);
    expect(classIndexForRequest(16, true)).toBe(2);
    expect(classIndexForRequest(2049, true)).toBe(10);
    expect(classIndexForRequest(4096, true)).toBe(10);
    expect(classIndexForRequest(4097, true)).toBe(-1);
  });

  it("§3.1 mapping: 0 and > 4096 have no class; ≤ 192 via the 24-entry table; above, the next power of two", () => {
    expect(classIndexForPadded(0)).toBe(-1);
    expect(classIndexForPadded(4097)).toBe(-1);
    const byTable = [
      16, 16, 32, 32, 64, 64, 64, 64, 96, 96, 96, 96, 128, 128, 128, 128, 192, 192, 192, 192, 192, 192, 192,
      192,
    ];
    for (let s = 1; s <= 192; s++)
      expect(SIZE_CLASSES[classIndexForPadded(s)], `padded ${s}`).toBe(byTable[Math.floor((s - 1) / 8)]);
    for (let s = 193; s <= 4096; s++) {
      const pow = 2 ** Math.ceil(Math.log2(s));
      expect(SIZE_CLASSES[classIndexForPadded(s)], `padded ${s}`).toBe(pow);
    }
  });

  it("§3 largest requests: 4088 (normal) and 4096 (per-CPU); check_size reports -E2BIG above", () => {
    expect(MAX_REQUEST).toBe(4088);
    expect(MAX_PERCPU_REQUEST).toBe(4096);
    expect(classIndexForRequest(4088)).toBe(10);
    expect(classIndexForRequest(4089)).toBe(-1);
    expect(checkAllocSize(4088)).toBe(0);
    expect(checkAllocSize(4089)).toBe(E2BIG);
    expect(checkAllocSize(4096, true)).toBe(0);
    expect(checkAllocSize(4097, true)).toBe(E2BIG);
  });
});

describe("mem-alloc §5 watermarks, batch and prefill", () => {
  it("§3/§5: every class gets the table's low/high/batch/trim target/prefill", () => {
    for (const [unit, , , low, high, batch, trimTarget, prefill] of TABLE) {
      expect(watermarksFor(unit), `unit ${unit}`).toEqual({ low, high, batch, trimTarget, prefill });
    }
  });

  it("§5: per-CPU-data caches use 1/3/1 and prefill 1 whatever the size (6.12 on)", () => {
    for (const unit of SIZE_CLASSES)
      expect(watermarksFor(unit, true)).toEqual({ low: 1, high: 3, batch: 1, trimTarget: 2, prefill: 1 });
  });

  it("§5/§12: before the per-CPU rule (2023) per-CPU caches used the size rule", () => {
    expect(watermarksFor(4096, true, false)).toEqual(watermarksFor(4096));
  });

  it("§5: fixed-size caches use the exact unit (300-byte unit: low 27, high 81, batch 39)", () => {
    expect(watermarksFor(300)).toMatchObject({ low: 27, high: 81, batch: 39, prefill: 1 });
    const a = new BpfMemAlloc({ cpus: 1, kind: "fixed", size: 292 });
    expect(a.cache(0, 0)).toMatchObject({ unitSize: 300, low: 27, high: 81, batch: 39 });
  });

  it("§5 prefill: a fresh kmalloc-like allocator holds exactly 4 or 1 objects per cache on every CPU", () => {
    const a = new BpfMemAlloc({ cpus: 3 });
    for (let cpu = 0; cpu < 3; cpu++) {
      expect(a.cachesOf(cpu).map((c) => c.freeCount)).toEqual(TABLE.map((row) => row[7]));
    }
  });

  it("§3: prefilled memory is 10,816 bytes per CPU", () => {
    expect(new BpfMemAlloc({ cpus: 1 }).stats.bytesFromSlab).toBe(10_816);
    expect(new BpfMemAlloc({ cpus: 2 }).stats.peakBytesFromSlab).toBe(21_632);
  });
});
