/**
 * Adaptive batching of the embed stage (EMBED_BATCH_ADAPTIVE): a batch is embedded in steps
 * of the current {@link AdaptiveBatchSize} limit, and each step's InferMesh calls (their
 * slowest round trip, whether one failed) adjust the limit. A batch that failed whole is
 * retried by the runner in smaller steps; what already succeeded comes from the cache.
 */
import type { AdaptiveBatchSize } from "../core/adaptive-batch.ts";
import type { ProcessResult, SourceRecord } from "../core/source.ts";

type Process<T> = (records: SourceRecord[], signal: AbortSignal) => Promise<ProcessResult<T>>;

export class AdaptiveProcess<T> {
  private calls = { ok: true, slowestMs: 0 };

  constructor(
    private readonly size: AdaptiveBatchSize,
    private readonly inner: Process<T>,
    private readonly onLimit: (limit: number) => void = () => {},
  ) {}

  /**
   * Records one InferMesh call of the step in progress (the client's `onCall`). Only a
   * transient failure (timeout, refused, 429, 5xx) says the service is overloaded; a refusal
   * of an input (which the stage isolates by bisection) says nothing about the batch size.
   */
  call(info: { ok: boolean; rttMs: number; transient?: boolean }): void {
    if (!info.ok && info.transient === false) return;
    this.calls = { ok: this.calls.ok && info.ok, slowestMs: Math.max(this.calls.slowestMs, info.rttMs) };
  }

  /** The current limit (for the batcher). */
  get limit(): number {
    return this.size.limit;
  }

  readonly process: Process<T> = async (records, signal) => {
    const out: ProcessResult<T> = { outputs: [], dlq: [] };
    for (let i = 0; i < records.length; ) {
      const step = records.slice(i, i + this.size.limit);
      this.calls = { ok: true, slowestMs: 0 };
      try {
        const r = await this.inner(step, signal);
        out.outputs.push(...r.outputs);
        out.dlq.push(...r.dlq);
      } finally {
        // A step answered from the cache made no call and says nothing about InferMesh.
        if (!this.calls.ok || this.calls.slowestMs > 0) {
          this.onLimit(
            this.size.observe({ ok: this.calls.ok, rttMs: this.calls.slowestMs, size: step.length }),
          );
        }
      }
      i += step.length;
    }
    return out;
  };
}
