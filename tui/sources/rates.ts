/**
 * Rates from successive counter snapshots — the one place in the console where counters
 * become rates (components never compute them).
 */

/**
 * Remembers the previous value of each counter; `update` returns the increase per second
 * since then. A rate is null on the first observation, without elapsed time, for a missing
 * counter, and after a counter went down (a worker restart): it restarts from there.
 */
export class CounterRates {
  private prev: { atSec: number; values: Map<string, number> } | undefined;

  update(values: Record<string, number | null>, atSec: number): Record<string, number | null> {
    const prev = this.prev;
    const out: Record<string, number | null> = {};
    const current = new Map<string, number>();
    for (const [k, v] of Object.entries(values)) {
      if (v === null || !Number.isFinite(v)) {
        out[k] = null;
        continue;
      }
      current.set(k, v);
      const before = prev?.values.get(k);
      const dt = prev ? atSec - prev.atSec : 0;
      out[k] = before === undefined || dt <= 0 || v < before ? null : (v - before) / dt;
    }
    this.prev = { atSec, values: current };
    return out;
  }

  /** The previous value of a counter, if any. */
  previous(key: string): number | undefined {
    return this.prev?.values.get(key);
  }

  reset(): void {
    this.prev = undefined;
  }
}
