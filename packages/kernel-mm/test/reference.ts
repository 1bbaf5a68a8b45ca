import { MAX } from "../src/index.js";

/** The simplest correct model: a sorted list of non-NULL ranges. Tests compare the tree with it. */
export class RangeModel {
  ranges: Array<{ start: bigint; last: bigint; entry: unknown }> = [];

  store(index: bigint, last: bigint, entry: unknown): void {
    const out: typeof this.ranges = [];
    for (const r of this.ranges) {
      if (r.last < index || r.start > last) {
        out.push(r);
        continue;
      }
      if (r.start < index) out.push({ start: r.start, last: index - 1n, entry: r.entry });
      if (r.last > last) out.push({ start: last + 1n, last: r.last, entry: r.entry });
    }
    if (entry !== null) out.push({ start: index, last, entry });
    out.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    this.ranges = out;
  }

  load(index: bigint): unknown {
    for (const r of this.ranges) if (r.start <= index && index <= r.last) return r.entry;
    return null;
  }

  erase(index: bigint): void {
    const r = this.ranges.find((x) => x.start <= index && index <= x.last);
    if (r) this.store(r.start, r.last, null);
  }
}

export { MAX };
