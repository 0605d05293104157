/** Counters behind `GET /metrics`. */

/** Width of the window `sentences_per_sec` is measured over. */
export const RATE_WINDOW_SEC = 10;

export interface InfermeshMetricsSnapshot {
  /** Epoch seconds (float) when the server started. */
  started_ts: number;
  uptime_sec: number;
  /** Requests answered on any path (the /metrics request being answered is not yet counted). */
  requests: number;
  embed_requests: number;
  /** Error responses by HTTP status, e.g. `{"400": 2, "401": 1}`. */
  errors: Record<string, number>;
  inputs_embedded: number;
  inputs_by_model: Record<string, number>;
  /** Inputs embedded over the last `window_sec` seconds (or the uptime, if shorter), per second. */
  sentences_per_sec: number;
  window_sec: number;
  /** Wall time of the last /embed batch's embedding, in milliseconds (null before the first). */
  last_batch_ms: number | null;
  last_batch_size: number | null;
  models: string[];
  dim_by_model: Record<string, number>;
}

export class InfermeshMetrics {
  private readonly started = Date.now();

  /** Epoch milliseconds when the server started. */
  get startedMs(): number {
    return this.started;
  }
  private requests = 0;
  private embedRequests = 0;
  private readonly errors: Record<string, number> = {};
  private inputs = 0;
  private readonly inputsByModel: Record<string, number> = {};
  private lastBatchMs: number | null = null;
  private lastBatchSize: number | null = null;
  /** Recent batches as [epoch ms, inputs], oldest first. */
  private recent: [number, number][] = [];

  /** Counts one answered request and, for 4xx/5xx, its status. */
  recordResponse(status: number): void {
    this.requests++;
    if (status >= 400) this.errors[String(status)] = (this.errors[String(status)] ?? 0) + 1;
  }

  /** Counts one embedded batch. */
  recordBatch(model: string, inputs: number, ms: number): void {
    this.embedRequests++;
    this.inputs += inputs;
    this.inputsByModel[model] = (this.inputsByModel[model] ?? 0) + inputs;
    this.lastBatchMs = ms;
    this.lastBatchSize = inputs;
    const now = Date.now();
    this.recent.push([now, inputs]);
    this.prune(now);
  }

  private prune(now: number): void {
    const from = now - RATE_WINDOW_SEC * 1000;
    let drop = 0;
    while (drop < this.recent.length && (this.recent[drop] as [number, number])[0] < from) drop++;
    if (drop > 0) this.recent = this.recent.slice(drop);
  }

  snapshot(dimByModel: Record<string, number>): InfermeshMetricsSnapshot {
    const now = Date.now();
    this.prune(now);
    const uptimeSec = (now - this.started) / 1000;
    const windowSec = Math.min(RATE_WINDOW_SEC, Math.max(1, uptimeSec));
    const recentInputs = this.recent.reduce((sum, [, n]) => sum + n, 0);
    return {
      started_ts: this.started / 1000,
      uptime_sec: uptimeSec,
      requests: this.requests,
      embed_requests: this.embedRequests,
      errors: { ...this.errors },
      inputs_embedded: this.inputs,
      inputs_by_model: { ...this.inputsByModel },
      sentences_per_sec: recentInputs / windowSec,
      window_sec: RATE_WINDOW_SEC,
      last_batch_ms: this.lastBatchMs,
      last_batch_size: this.lastBatchSize,
      models: Object.keys(dimByModel),
      dim_by_model: { ...dimByModel },
    };
  }
}
