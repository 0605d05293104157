/**
 * A batch size that follows the embedding service's round-trip time and errors (AIMD, as in
 * Netflix's concurrency-limits): after each batch,
 * - a failed call (timeout, 5xx, refused) halves the limit;
 * - a round trip slower than the target cuts it by 10 %;
 * - a fast round trip of a batch at least half the limit (demand for more; batches cut
 *   before the last raise are smaller than the limit) raises it by an eighth (at least 1);
 * - anything else (a small batch, fast) leaves it.
 * The limit stays within [min, max] and starts at `start`.
 */
export interface AdaptiveBatchOptions {
  min: number;
  max: number;
  start: number;
  /** Round trip (ms) above which the batch is too large. */
  targetMs: number;
}

export interface BatchObservation {
  /** No call of the batch failed. */
  ok: boolean;
  /** The slowest call of the batch, ms (ignored when not ok). */
  rttMs: number;
  /** How many records the batch held. */
  size: number;
}

export class AdaptiveBatchSize {
  private current: number;

  constructor(private readonly o: AdaptiveBatchOptions) {
    if (!(o.min >= 1 && o.max >= o.min))
      throw new Error(`adaptive batch: need 1 ≤ min ≤ max (got ${o.min}, ${o.max})`);
    this.current = Math.min(o.max, Math.max(o.min, Math.round(o.start)));
  }

  /** Records per batch now. */
  get limit(): number {
    return this.current;
  }

  /** Adjusts the limit after a batch; returns the new one. */
  observe(b: BatchObservation): number {
    const { min, max, targetMs } = this.o;
    let next = this.current;
    if (!b.ok) next = Math.floor(this.current / 2);
    else if (b.rttMs > targetMs) next = Math.floor(this.current * 0.9);
    else if (b.size * 2 >= this.current) next = this.current + Math.max(1, Math.floor(this.current / 8));
    this.current = Math.min(max, Math.max(min, next));
    return this.current;
  }
}
