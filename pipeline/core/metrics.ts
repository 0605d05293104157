/**
 * Counters and gauges of one worker, served as JSON on `/metrics`, by the names of
 * `pipeline/contracts/worker-metrics.ts`. Rates are left to the reader (the backend computes
 * them from successive snapshots).
 */
import type { Counter, Gauge, Labeled } from "../contracts/worker-metrics.ts";

export class Metrics {
  private readonly counters: Record<string, number> = {};
  private readonly gauges: Record<string, number | string | boolean | null> = {};
  private readonly labeled: Record<string, Record<string, number>> = {};
  readonly startedTs = Date.now() / 1000;

  constructor(initialCounters: readonly Counter[] = []) {
    for (const c of initialCounters) this.counters[c] = 0;
  }

  inc(name: Counter, n = 1): void {
    this.counters[name] = (this.counters[name] ?? 0) + n;
  }

  /** Increments `name[label]`, e.g. dlq_by_reason.empty_text. */
  incBy(name: Labeled, label: string, n = 1): void {
    const m = this.labeled[name] ?? {};
    m[label] = (m[label] ?? 0) + n;
    this.labeled[name] = m;
  }

  /** Replaces the whole labelled gauge `name` (e.g. lag_by_partition). */
  setLabeled(name: Labeled, values: Record<string, number>): void {
    this.labeled[name] = { ...values };
  }

  set(name: Gauge, value: number | string | boolean | null): void {
    this.gauges[name] = value;
  }

  get(name: Counter): number {
    return this.counters[name] ?? 0;
  }

  snapshot(): Record<string, unknown> {
    return {
      started_ts: this.startedTs,
      ...this.counters,
      ...this.gauges,
      ...this.labeled,
      ts: Date.now() / 1000,
    };
  }
}
