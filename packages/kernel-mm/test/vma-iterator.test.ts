import { describe, expect, it } from "vitest";
import { MAX, MaStatus, MmStruct, VmArea, VmaIterator } from "../src/index.js";

// spec 3: VMAs A = [0x1000, 0x2000) and B = [0x3000, 0x4000).
function twoVmas() {
  const mm = new MmStruct();
  const A = new VmArea({ start: 0x1000n, end: 0x2000n, flags: 0x73n });
  const B = new VmArea({ start: 0x3000n, end: 0x4000n, flags: 0x73n });
  mm.insertVma(A);
  mm.insertVma(B);
  return { mm, A, B };
}

describe("vma_iterator (spec 3 example table)", () => {
  it("init + next: the VMA containing addr, else the next one", () => {
    const { mm, A, B } = twoVmas();
    for (const addr of [0n, 0x1fffn]) {
      const it = mm.iterator(addr);
      expect(it.next()).toBe(A);
      expect([it.mas.index, it.mas.last, it.mas.status]).toEqual([0x1000n, 0x1fffn, MaStatus.active]);
    }
    expect(mm.iterator(0x2000n).next()).toBe(B);
    const end = mm.iterator(0x4000n);
    expect(end.next()).toBeNull();
    expect([end.mas.index, end.mas.last, end.mas.status]).toEqual([0x4000n, MAX, MaStatus.active]);
    const it = mm.iterator(0n);
    expect([it.next(), it.next(), it.next(), it.next()]).toEqual([A, B, null, null]);
    expect([it.mas.index, it.mas.last]).toEqual([0x4000n, MAX]);
  });

  it("find(end) only returns VMAs starting below end and continues with a larger end", () => {
    const { mm, A, B } = twoVmas();
    const it = mm.iterator(0n);
    expect(it.find(0x1000n)).toBeNull();
    expect([it.mas.index, it.mas.last, it.mas.status]).toEqual([0n, 0xfffn, MaStatus.active]);
    const it2 = mm.iterator(0x1500n);
    expect(it2.find(0x3000n)).toBe(A);
    expect(it2.find(0x3000n)).toBeNull();
    expect([it2.mas.index, it2.mas.last]).toEqual([0x2000n, 0x2fffn]);
    expect(it2.find(0x4000n)).toBe(B);
    expect([...mm.iterator(0x1800n).range(0x3001n)]).toEqual([A, B]);
  });

  it("prev: the VMA before the range containing addr", () => {
    const { mm, A, B } = twoVmas();
    for (const addr of [0x3500n, 0x2500n]) {
      const it = mm.iterator(addr);
      expect(it.prev()).toBe(A);
      expect(it.mas.status).toBe(MaStatus.active);
    }
    const it = mm.iterator(0x1500n);
    expect(it.prev()).toBeNull();
    expect([it.mas.index, it.mas.last, it.mas.status]).toEqual([0n, 0xfffn, MaStatus.underflow]);
    expect(it.next()).toBe(A);
    const zero = mm.iterator(0n);
    expect(zero.prev()).toBeNull();
    expect(zero.mas.status).toBe(MaStatus.underflow);
    const tail = mm.iterator(0n);
    tail.next();
    tail.next();
    expect(tail.next()).toBeNull();
    expect(tail.prev()).toBe(B);
  });

  it("find_vma, vma_lookup, find_vma_intersection and find_vma_prev agree with first vm_end > addr", () => {
    const { mm, A, B } = twoVmas();
    expect(mm.findVma(0n)).toBe(A);
    expect(mm.findVma(0x1fffn)).toBe(A);
    expect(mm.findVma(0x2000n)).toBe(B);
    expect(mm.findVma(0x4000n)).toBeNull();
    expect(mm.vmaLookup(0x2000n)).toBeNull();
    expect(mm.vmaLookup(0x3000n)).toBe(B);
    expect(mm.findVmaIntersection(0x2000n, 0x3000n)).toBeNull();
    expect(mm.findVmaIntersection(0x2000n, 0x3001n)).toBe(B);
    expect(mm.findVmaPrev(0x3500n)).toEqual({ vma: B, prev: A });
    expect(mm.findVmaPrev(0x2500n)).toEqual({ vma: B, prev: A });
  });

  it("invalidate (lock dropped): resumes at the old vm_end; a vanished VMA is skipped, an extended one returned again", () => {
    const { mm, A, B } = twoVmas();
    const C = new VmArea({ start: 0x5000n, end: 0x6000n, flags: 0x73n });
    mm.insertVma(C);
    const it = mm.iterator(0n);
    expect(it.next()).toBe(A);
    it.invalidate();
    mm.removeVma(B);
    expect(it.next()).toBe(C);
    const it2 = mm.iterator(0n);
    expect(it2.next()).toBe(A);
    it2.invalidate();
    // A grows over its old end (a merge): the resumed walk returns it again ("case 4").
    mm.mmMt.store(0x1000n, 0x2fffn, A);
    A.vmEnd = 0x3000n;
    expect(it2.next()).toBe(A);
    expect(it2.next()).toBe(C);
  });

  it("for_each_vma over a tree modified by an RCU writer never returns overlapping or decreasing VMAs", () => {
    const mm = new MmStruct();
    for (let i = 0; i < 500; i++)
      mm.insertVma(
        new VmArea({ start: BigInt(0x10000 + i * 0x3000), end: BigInt(0x12000 + i * 0x3000), flags: 0x73n }),
      );
    const it = new VmaIterator(mm.mmMt, 0n);
    let prevEnd = 0n;
    let n = 0;
    for (let vma = it.next(); vma !== null; vma = it.next()) {
      expect(vma.vmStart >= prevEnd).toBe(true);
      prevEnd = vma.vmEnd;
      // Interleave a writer: munmap a VMA ahead and map a new one behind.
      const victim = mm.findVma(vma.vmEnd + 0x10000n);
      if (victim) mm.removeVma(victim);
      const behind = vma.vmStart - 0x1000n;
      if (behind > 0n && !mm.vmaLookup(behind))
        mm.insertVma(new VmArea({ start: behind, end: behind + 0x1000n, flags: 0x73n }));
      n++;
    }
    expect(n).toBeGreaterThan(50);
  });
});

describe("struct layouts (spec 5)", () => {
  it("ma_state is 72 bytes on 6.12 and 88 on 6.18; vm_area_struct 176/192; the writers use those offsets", async () => {
    const { MA_STATE_LAYOUT, VM_AREA_STRUCT_LAYOUT } = await import("../src/index.js");
    expect(MA_STATE_LAYOUT["6.12"].size).toBe(72);
    expect(MA_STATE_LAYOUT["6.18"].size).toBe(88);
    // The rejected on-stack design: 24 bytes of kfunc state + the iterator vs a 96-byte budget.
    expect(24 + MA_STATE_LAYOUT["6.18"].size).toBe(112);
    expect(VM_AREA_STRUCT_LAYOUT["6.18"].size).toBe(192);
    expect(VM_AREA_STRUCT_LAYOUT["6.12"].size).toBe(176);
    const { mm, B } = twoVmas();
    const it = mm.iterator(0x3000n);
    expect(it.next()).toBe(B);
    const view = new DataView(new ArrayBuffer(88));
    it.mas.writeTo(view, 0, MA_STATE_LAYOUT["6.18"], { tree: 0xffff888100000040n });
    expect(view.getBigUint64(0, true)).toBe(0xffff888100000040n);
    expect(view.getBigUint64(8, true)).toBe(0x3000n);
    expect(view.getBigUint64(16, true)).toBe(0x3fffn);
    expect(view.getUint32(72, true)).toBe(MaStatus.active);
    const vview = new DataView(new ArrayBuffer(192));
    B.writeTo(vview, 0, VM_AREA_STRUCT_LAYOUT["6.18"]);
    expect(vview.getBigUint64(0, true)).toBe(0x3000n);
    expect(vview.getBigUint64(8, true)).toBe(0x4000n);
    expect(vview.getBigUint64(32, true)).toBe(0x73n);
    expect(vview.getBigUint64(80, true)).toBe(3n);
    expect(vview.getUint32(128, true)).toBe(1);
  });
});
