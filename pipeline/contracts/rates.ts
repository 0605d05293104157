/**
 * Per-second rates of monotonically increasing counters, from successive snapshots: the one
 * rate function of the project (the backend's streams and the console's derived figures).
 */

/** Rates by counter name; null when no rate can be given yet. */
export type Rates<K extends string> = Record<K, number | null>;

/**
 * Tracks the previous value of each counter. `update` returns, for each counter, the
 * increase per second since the previous update. A rate is null on the first observation,
 * when the counter is missing or not a finite number, when no time has passed, and when the
 * counter went down (a reset, e.g. the worker restarted): the rate restarts from that
 * observation, so it is never negative.
 */
export class RateTracker<K extends string> {
  private last: { atMs: number; values: Partial<Record<K, number>> } | undefined;

  constructor(
    private readonly keys: readonly K[],
    private readonly now: () => number = Date.now,
  ) {}

  /** Records the counters observed at `atMs` (epoch ms, default now) and returns the rates. */
  update(values: Partial<Record<K, unknown>>, atMs: number = this.now()): Rates<K> {
    const prev = this.last;
    const current: Partial<Record<K, number>> = {};
    const rates = {} as Rates<K>;
    for (const k of this.keys) {
      const v = values[k];
      const value = typeof v === "number" && Number.isFinite(v) ? v : undefined;
      if (value !== undefined) current[k] = value;
      const before = prev?.values[k];
      const dtSec = prev ? (atMs - prev.atMs) / 1000 : 0;
      rates[k] =
        value === undefined || before === undefined || dtSec <= 0 || value < before
          ? null
          : (value - before) / dtSec;
    }
    this.last = { atMs, values: current };
    return rates;
  }

  /** The previous value of a counter, if it was a number. */
  previous(key: K): number | undefined {
    return this.last?.values[key];
  }

  /** Forgets the previous snapshot (e.g. after the source was unreachable). */
  reset(): void {
    this.last = undefined;
  }
}
