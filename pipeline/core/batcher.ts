/**
 * Collects items from concurrent producers into batches, flushed when a batch reaches
 * `maxItems` or `maxBytes`, or when its oldest item is `maxWaitMs` old — by a timer, so
 * a partial batch flushes on time even when nothing else arrives. Flushes run one at a
 * time, in arrival order. `submit` resolves when every submitted item has been flushed.
 */
export interface BatcherOptions<T> {
  maxItems: number;
  /** A lower limit that may change between batches (adaptive batching); capped by maxItems. */
  limit?: () => number;
  maxBytes?: number;
  maxWaitMs: number;
  sizeOf?: (item: T) => number;
  /** Handles one batch; a rejection rejects the submissions of that batch. */
  flush: (items: T[]) => Promise<void>;
  /** Injected timers for tests. */
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

interface Pending<T> {
  item: T;
  ticket: Ticket;
}

interface Ticket {
  remaining: number;
  failed: boolean;
  resolve(): void;
  reject(err: unknown): void;
}

export class Batcher<T> {
  private buffer: Pending<T>[] = [];
  private bytes = 0;
  private timer: unknown;
  private chain: Promise<void> = Promise.resolve();
  private inFlight = 0;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;

  constructor(private readonly opts: BatcherOptions<T>) {
    this.setTimer = opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = opts.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));
  }

  /** Items per batch now. */
  get maxItems(): number {
    const limit = this.opts.limit?.();
    return limit === undefined ? this.opts.maxItems : Math.max(1, Math.min(this.opts.maxItems, limit));
  }

  /** Items waiting for a flush. */
  get pending(): number {
    return this.buffer.length;
  }

  /** Items handed to `flush` and not yet finished. */
  get flushing(): number {
    return this.inFlight;
  }

  submit(items: T[]): Promise<void> {
    if (items.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const ticket: Ticket = { remaining: items.length, failed: false, resolve, reject };
      const maxItems = this.maxItems;
      for (const item of items) {
        this.buffer.push({ item, ticket });
        this.bytes += this.opts.sizeOf?.(item) ?? 0;
        if (this.buffer.length >= maxItems || (this.opts.maxBytes && this.bytes >= this.opts.maxBytes)) {
          this.cut();
        }
      }
      if (this.buffer.length > 0 && this.timer === undefined) {
        this.timer = this.setTimer(() => {
          this.timer = undefined;
          this.cut();
        }, this.opts.maxWaitMs);
      }
    });
  }

  /** Flushes whatever is buffered now and waits for every flush to finish. */
  async drain(): Promise<void> {
    this.cut();
    await this.chain;
  }

  private cut(): void {
    if (this.timer !== undefined) {
      this.clearTimer(this.timer);
      this.timer = undefined;
    }
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    this.bytes = 0;
    this.inFlight += batch.length;
    this.chain = this.chain.then(async () => {
      try {
        await this.opts.flush(batch.map((p) => p.item));
        for (const p of batch) {
          if (--p.ticket.remaining === 0 && !p.ticket.failed) p.ticket.resolve();
        }
      } catch (err) {
        for (const p of batch) {
          if (!p.ticket.failed) {
            p.ticket.failed = true;
            p.ticket.reject(err);
          }
        }
      } finally {
        this.inFlight -= batch.length;
      }
    });
  }
}
