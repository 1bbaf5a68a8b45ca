/** `rw_semaphore.count` bits on 64-bit kernels (spec 4.2). */
export const RWSEM_WRITER_LOCKED = 1n << 0n;
export const RWSEM_FLAG_WAITERS = 1n << 1n;
export const RWSEM_FLAG_HANDOFF = 1n << 2n;
export const RWSEM_READER_BIAS = 1n << 8n;
export const RWSEM_FLAG_READFAIL = 1n << 63n;

/** A task queued on the semaphore; `granted` flips when the lock is handed to it. */
export interface RwsemWaiter {
  readonly kind: "read" | "write";
  readonly owner: string;
  granted: boolean;
}

/**
 * A deterministic `struct rw_semaphore`: FIFO wait queue, a waiting writer blocks new readers
 * (trylock fails while anyone is queued), a writer at the head gets the lock when it is free,
 * queued readers are woken together, HANDOFF forbids lock stealing. No time passes by itself: a
 * simulation calls the operations in the order it wants and polls `granted`.
 */
export class RwSemaphore {
  private readers = 0;
  private writer: string | null = null;
  private handoff = false;
  readonly queue: RwsemWaiter[] = [];
  /** Counters for contention studies. */
  readonly stats = { readTrylockFail: 0, writeTrylockFail: 0, queued: 0 };

  /** The `count` word as the kernel holds it. */
  get count(): bigint {
    let c = BigInt(this.readers) * RWSEM_READER_BIAS;
    if (this.writer !== null) c |= RWSEM_WRITER_LOCKED;
    if (this.queue.length > 0) c |= RWSEM_FLAG_WAITERS;
    if (this.handoff) c |= RWSEM_FLAG_HANDOFF;
    return c;
  }

  get owner(): string | null {
    return this.writer;
  }

  get readerCount(): number {
    return this.readers;
  }

  get writeLocked(): boolean {
    return this.writer !== null;
  }

  /** `rwsem_is_contended` / `mmap_lock_is_contended`. */
  get contended(): boolean {
    return this.queue.length > 0;
  }

  /** `down_read_trylock`: fails on a writer, any queued task, or a pending handoff; never sleeps. */
  readTrylock(): boolean {
    if (this.writer !== null || this.queue.length > 0 || this.handoff) {
      this.stats.readTrylockFail++;
      return false;
    }
    this.readers++;
    return true;
  }

  /** `down_read`: takes the lock or queues the caller. */
  readLock(owner: string): RwsemWaiter {
    if (this.writer === null && this.queue.length === 0 && !this.handoff) {
      this.readers++;
      return { kind: "read", owner, granted: true };
    }
    return this.enqueue("read", owner);
  }

  /** `down_write_trylock`: only from a completely free, uncontended semaphore. */
  writeTrylock(owner: string): boolean {
    if (this.writer !== null || this.readers > 0 || this.queue.length > 0) {
      this.stats.writeTrylockFail++;
      return false;
    }
    this.writer = owner;
    return true;
  }

  /** `down_write`. */
  writeLock(owner: string): RwsemWaiter {
    if (this.writeTrylock(owner)) return { kind: "write", owner, granted: true };
    this.stats.writeTrylockFail--;
    return this.enqueue("write", owner);
  }

  /** `up_read`. */
  readUnlock(): void {
    if (this.readers === 0) throw new Error("rwsem: read unlock without a reader");
    this.readers--;
    if (this.readers === 0) this.wake();
  }

  /** `up_write`. */
  writeUnlock(): void {
    if (this.writer === null) throw new Error("rwsem: write unlock without the writer");
    this.writer = null;
    this.wake();
  }

  /** `downgrade_write`: the writer becomes a reader; queued readers may join. */
  downgrade(): void {
    if (this.writer === null) throw new Error("rwsem: downgrade without the writer");
    this.writer = null;
    this.readers++;
    this.wake();
  }

  /** Marks the head waiter as having waited too long: no more lock stealing (RWSEM_FLAG_HANDOFF). */
  setHandoff(): void {
    if (this.queue.length > 0) this.handoff = true;
  }

  private enqueue(kind: "read" | "write", owner: string): RwsemWaiter {
    const w: RwsemWaiter = { kind, owner, granted: false };
    this.queue.push(w);
    this.stats.queued++;
    return w;
  }

  private wake(): void {
    const head = this.queue[0];
    if (!head || this.writer !== null) return;
    if (head.kind === "write") {
      if (this.readers > 0) return;
      this.queue.shift();
      this.writer = head.owner;
      head.granted = true;
      this.handoff = false;
      return;
    }
    // Readers at the head wake every queued reader (up to the kernel's 256), skipping writers.
    let woken = 0;
    for (let i = 0; i < this.queue.length && woken < 256; ) {
      const w = this.queue[i] as RwsemWaiter;
      if (w.kind === "read") {
        this.queue.splice(i, 1);
        w.granted = true;
        this.readers++;
        woken++;
      } else i++;
    }
    this.handoff = false;
  }
}
