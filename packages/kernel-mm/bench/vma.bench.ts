import { bench, describe } from "vitest";
import { MAX, MapleTree, MaState, MM_MT_FLAGS, VmArea, VmaIterator } from "../src/index.js";

// VMA-like workloads on the maple tree beside a sorted-array baseline (binary search over a
// Float64Array of starts, splice to insert/remove) in the same process. Each bench iteration does
// BATCH operations (lookups/stores) or one full walk, so per-operation time = mean / BATCH and
// per-entry iterate time = mean / VMAs. Targets at 1,000 VMAs: lookup <= 500 ns, iterate <= 40 ns
// per entry (the kernel's C tree: ~250 ns and ~19 ns on the reference machine).
const BATCH = 1000;

/** Address-space-like layout: VMAs of 1..13 pages, a gap after every third one. */
function layout(n: number): VmArea[] {
  const out: VmArea[] = [];
  let addr = 0x5555_0000_0000;
  for (let i = 0; i < n; i++) {
    const pages = 1 + ((i * 7) % 13);
    out.push(new VmArea({ start: BigInt(addr), end: BigInt(addr + pages * 4096), flags: 0x100073n }));
    addr += pages * 4096 + (i % 3 === 0 ? 4096 : 0);
  }
  return out;
}

class SortedVmas {
  starts: number[] = [];
  ends: number[] = [];
  vmas: VmArea[] = [];
  startsF = new Float64Array(0);
  endsF = new Float64Array(0);
  constructor(vmas: VmArea[]) {
    for (const v of vmas) this.insert(v);
    this.freeze();
  }
  freeze(): void {
    this.startsF = Float64Array.from(this.starts);
    this.endsF = Float64Array.from(this.ends);
  }
  /** First VMA with end > addr (find_vma) by binary search. */
  find(addr: number): VmArea | null {
    const ends = this.endsF;
    let lo = 0;
    let hi = ends.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((ends[mid] as number) <= addr) lo = mid + 1;
      else hi = mid;
    }
    return lo < ends.length && (this.startsF[lo] as number) <= addr ? (this.vmas[lo] as VmArea) : null;
  }
  indexOf(addr: number): number {
    let lo = 0;
    let hi = this.starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.starts[mid] as number) < addr) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
  insert(v: VmArea): void {
    const s = Number(v.vmStart);
    const i = this.indexOf(s);
    this.starts.splice(i, 0, s);
    this.ends.splice(i, 0, Number(v.vmEnd));
    this.vmas.splice(i, 0, v);
  }
  remove(v: VmArea): void {
    const i = this.indexOf(Number(v.vmStart));
    this.starts.splice(i, 1);
    this.ends.splice(i, 1);
    this.vmas.splice(i, 1);
  }
}

for (const n of [64, 1000, 10_000, 100_000]) {
  const vmas = layout(n);
  const tree = new MapleTree(MM_MT_FLAGS);
  for (const v of vmas) tree.store(v.vmStart, v.vmEnd - 1n, v);
  const sorted = new SortedVmas(vmas);
  const first = Number((vmas[0] as VmArea).vmStart);
  const span = Number((vmas.at(-1) as VmArea).vmEnd) - first;
  const probes = new Float64Array(BATCH);
  let seed = 12345;
  for (let i = 0; i < BATCH; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    probes[i] = first + Math.floor((seed / 2 ** 32) * span);
  }
  const bigProbes = Array.from(probes, (p) => BigInt(p));
  let sink = 0;

  describe(`lookup x${BATCH}, ${n} VMAs`, () => {
    bench("baseline: sorted array binary search", () => {
      for (let i = 0; i < BATCH; i++) if (sorted.find(probes[i] as number)) sink++;
    });
    bench("maple tree: mtree_load (number index)", () => {
      for (let i = 0; i < BATCH; i++) if (tree.loadNumber(probes[i] as number) !== null) sink++;
    });
    bench("maple tree: mtree_load (bigint index)", () => {
      for (let i = 0; i < BATCH; i++) if (tree.load(bigProbes[i] as bigint) !== null) sink++;
    });
  });

  describe(`iterate all ${n} VMAs (for_each_vma)`, () => {
    const it = new VmaIterator(tree, 0n);
    bench("baseline: sorted array loop", () => {
      const list = sorted.vmas;
      for (let i = 0; i < list.length; i++) if (list[i] !== null) sink++;
    });
    bench("maple tree: vma_iter_init(0) + vma_next", () => {
      it.set(0n);
      for (let v = it.next(); v !== null; v = it.next()) sink++;
    });
  });

  if (n <= 10_000) {
    const victims = Array.from({ length: Math.min(BATCH, n) }, (_, i) => vmas[(i * 7919) % n] as VmArea);
    describe(`erase + re-store x${victims.length}, ${n} VMAs (munmap/mmap of one VMA)`, () => {
      bench("baseline: sorted array splice", () => {
        for (const v of victims) {
          sorted.remove(v);
          sorted.insert(v);
        }
      });
      bench("maple tree: store NULL + store", () => {
        for (const v of victims) {
          tree.store(v.vmStart, v.vmEnd - 1n, null);
          tree.store(v.vmStart, v.vmEnd - 1n, v);
        }
      });
    });
  }

  describe(`find + prev around random addresses x${BATCH}, ${n} VMAs`, () => {
    const mas = new MaState(tree, 0n);
    bench("maple tree: mas_find + mas_prev", () => {
      for (let i = 0; i < BATCH; i++) {
        mas.set(bigProbes[i] as bigint);
        if (mas.find(MAX) !== null) sink++;
        if (mas.prev(0n) !== null) sink++;
      }
    });
  });
  if (sink < 0) console.log(sink);
}
