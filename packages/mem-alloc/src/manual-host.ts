import type { BpfMemAlloc } from "./allocator.js";
import type { MemCache } from "./cache.js";
import type { AllocatorHost, GracePeriodKind } from "./host.js";

/** A grace period a {@link ManualHost} was asked for and has not ended yet. */
export interface PendingGracePeriod {
  readonly kind: GracePeriodKind;
  readonly cache: MemCache;
  readonly done: () => void;
}

/**
 * A host without time, for tests and single-threaded callers. Each CPU's interrupts are enabled
 * unless a caller disables them; queued refills run on x86 terms (section 8.1): when the operation
 * restores interrupts, or when `enableIrqs` is called for a CPU that had them off. Grace periods end
 * only when `endGracePeriods` is called. Slab never fails unless `slabFails` says so.
 */
export class ManualHost implements AllocatorHost {
  /** Refills queued and not run yet, in queue order. */
  readonly queued: MemCache[] = [];
  readonly gracePeriods: PendingGracePeriod[] = [];
  /** Decides each slab allocation of a refill (and of a mid-2023 prefill). */
  slabFails: (cpu: number, bytes: number) => boolean;
  private allocator: BpfMemAlloc | undefined;
  private readonly irqsOff = new Set<number>();
  private running = false;

  constructor(options: { slabFails?: (cpu: number, bytes: number) => boolean } = {}) {
    this.slabFails = options.slabFails ?? (() => false);
  }

  /** Called by the allocator it serves. */
  attach(allocator: BpfMemAlloc): void {
    this.allocator = allocator;
  }

  /** Enter an irqs-off region on `cpu` (hard IRQ, NMI, an IPI-delivered test run...). */
  disableIrqs(cpu: number): void {
    this.irqsOff.add(cpu);
  }

  /** Leave it: pending refills of that CPU run now, as the irq_work interrupt is delivered. */
  enableIrqs(cpu: number): void {
    this.irqsOff.delete(cpu);
    this.runPending(cpu);
  }

  irqsEnabled(cpu: number): boolean {
    return !this.irqsOff.has(cpu);
  }

  queueRefill(cache: MemCache, sectionOpen: boolean): void {
    this.queued.push(cache);
    if (!sectionOpen) this.runPending(cache.cpu);
  }

  irqRestored(cpu: number): void {
    if (this.queued.length > 0) this.runPending(cpu);
  }

  /** Run `cpu`'s queued refills if its interrupts are on (any CPU's with `force`). */
  runPending(cpu: number, force = false): void {
    if (this.running || (!force && this.irqsOff.has(cpu))) return;
    const allocator = this.allocator;
    if (allocator === undefined) return;
    this.running = true;
    try {
      for (let i = 0; i < this.queued.length; ) {
        const cache = this.queued[i] as MemCache;
        if (cache.cpu !== cpu) {
          i++;
          continue;
        }
        this.queued.splice(i, 1);
        allocator.runRefill(cache);
      }
    } finally {
      this.running = false;
    }
  }

  startGracePeriod(kind: GracePeriodKind, cache: MemCache, done: () => void): void {
    this.gracePeriods.push({ kind, cache, done });
  }

  /** End every grace period of `kind` (or of both kinds) started so far; returns how many ended. */
  endGracePeriods(kind?: GracePeriodKind): number {
    const ending = this.gracePeriods.filter((gp) => kind === undefined || gp.kind === kind);
    for (const gp of ending) this.gracePeriods.splice(this.gracePeriods.indexOf(gp), 1);
    for (const gp of ending) gp.done();
    return ending.length;
  }

  slabAlloc(cpu: number, bytes: number): boolean {
    return !this.slabFails(cpu, bytes);
  }
}
