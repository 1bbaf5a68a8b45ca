interface QueuedEvent<T> {
  time: number;
  seq: number;
  payload: T;
}

/**
 * Binary min-heap of timed payloads. Ties are broken by insertion order, which keeps a run
 * deterministic when two events fall on the same nanosecond.
 */
export class EventQueue<T> {
  private readonly heap: QueuedEvent<T>[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(time: number, payload: T): void {
    const heap = this.heap;
    const event = { time, seq: this.seq++, payload };
    let i = heap.length;
    heap.push(event);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as QueuedEvent<T>;
      if (!before(event, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = event;
  }

  /** Time of the earliest event, or Infinity when empty. */
  peekTime(): number {
    return this.heap[0]?.time ?? Number.POSITIVE_INFINITY;
  }

  pop(): QueuedEvent<T> | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    let i = 0;
    const n = heap.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let child = l;
      if (r < n && before(heap[r] as QueuedEvent<T>, heap[l] as QueuedEvent<T>)) child = r;
      const c = heap[child] as QueuedEvent<T>;
      if (!before(c, last)) break;
      heap[i] = c;
      i = child;
    }
    heap[i] = last;
    return top;
  }
}

function before<T>(x: QueuedEvent<T>, y: QueuedEvent<T>): boolean {
  return x.time < y.time || (x.time === y.time && x.seq < y.seq);
}
