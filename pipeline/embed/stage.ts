/**
 * The embed stage: `embedding_input` records → embedded records.
 *
 * Invalid inputs go to the DLQ (`invalid_json`, `invalid_record`). Texts are looked up in
 * the cache, the misses embedded in one request; when the service rejects a request
 * (4xx) or answers with unusable vectors, the batch is bisected so that only the inputs
 * really at fault are dead-lettered (`rejected`, `invalid_vector`). Transient faults
 * propagate as TransientError so the runner pauses and retries the batch.
 */
import type { DlqEntry, DlqReason } from "../contracts/dlq.ts";
import { type EmbeddedOutput, type EmbeddingInput, parseEmbeddingInput } from "../contracts/records.ts";
import { isUnit, normalizeVector } from "../contracts/vector.ts";
import { dlqEntry } from "../core/dlq.ts";
import type { Metrics } from "../core/metrics.ts";
import { TransientError } from "../core/retry.ts";
import type { Output, ProcessResult, SourceRecord } from "../core/source.ts";
import { type InfermeshClient, InvalidResponseError, RejectedError } from "../io/infermesh-client.ts";
import { cacheKey, type EmbeddingCache } from "./cache.ts";

export interface EmbedStageOptions {
  client: Pick<InfermeshClient, "embed" | "model">;
  cache: EmbeddingCache;
  normalize: boolean;
  metrics: Metrics;
  now?: () => number;
}

type Embedded = { ok: true; vector: Float32Array } | { ok: false; reason: DlqReason; error: string };

export class EmbedStage {
  constructor(private readonly o: EmbedStageOptions) {}

  /** Embeds unique texts; bisects on rejection so only faulty inputs fail. */
  private async embedTexts(texts: string[], signal: AbortSignal): Promise<Embedded[]> {
    const m = this.o.metrics;
    try {
      m.inc("total_infermesh_calls");
      const vectors = await this.o.client.embed(texts, signal);
      return vectors.map((vector) => ({ ok: true, vector }));
    } catch (err) {
      if (err instanceof TransientError) {
        m.inc("infermesh_failures");
        throw err;
      }
      if (!(err instanceof RejectedError) && !(err instanceof InvalidResponseError)) throw err;
      m.inc("infermesh_failures");
      if (texts.length === 1) {
        return [
          {
            ok: false,
            reason: err instanceof RejectedError ? "rejected" : "invalid_vector",
            error: err.message,
          },
        ];
      }
      const mid = Math.ceil(texts.length / 2);
      return [
        ...(await this.embedTexts(texts.slice(0, mid), signal)),
        ...(await this.embedTexts(texts.slice(mid), signal)),
      ];
    }
  }

  async process(records: SourceRecord[], signal: AbortSignal): Promise<ProcessResult<EmbeddedOutput>> {
    const { cache, normalize } = this.o;
    const model = this.o.client.model;
    const dlq: DlqEntry[] = [];
    const valid: { record: SourceRecord; input: EmbeddingInput; key: string }[] = [];
    for (const record of records) {
      const v = parseEmbeddingInput(record.value);
      if (!v.ok) dlq.push(dlqEntry(record, v.reason, v.error, { model }));
      else valid.push({ record, input: v.value, key: cacheKey(model, normalize, v.value.text) });
    }

    const found = new Map<string, { vector: Float32Array; normalized: boolean }>();
    const missing = new Map<string, string>(); // cache key → text
    for (const { input, key } of valid) {
      if (found.has(key) || missing.has(key)) continue;
      const hit = cache.get(key);
      if (hit) found.set(key, hit);
      else missing.set(key, input.text);
    }

    const failed = new Map<string, { reason: DlqReason; error: string }>();
    if (missing.size > 0) {
      const keys = [...missing.keys()];
      const results = await this.embedTexts([...missing.values()], signal);
      results.forEach((r, i) => {
        const key = keys[i] as string;
        if (!r.ok) {
          failed.set(key, r);
          return;
        }
        // `normalized` reports the vector as stored: unit length, whoever made it so.
        const entry = normalize
          ? normalizeVector(r.vector)
          : { vector: r.vector, normalized: isUnit(r.vector) };
        found.set(key, entry);
        cache.set(key, entry.vector, entry.normalized);
      });
    }

    const now = (this.o.now ?? Date.now)() / 1000;
    const outputs: Output<EmbeddedOutput>[] = [];
    for (const { record, input, key } of valid) {
      const f = failed.get(key);
      if (f) {
        dlq.push(dlqEntry(record, f.reason, f.error, { input, model }));
        continue;
      }
      const e = found.get(key) as { vector: Float32Array; normalized: boolean };
      outputs.push({
        record,
        value: {
          topic: input.topic,
          text: input.text,
          doc_id: input.doc_id,
          // Shared with the cache and every sink: nothing writes to it.
          vector: e.vector,
          kafka_ts: input.kafka_ts,
          embedded_ts: now,
          model,
          dim: e.vector.length,
          normalized: e.normalized,
          labels: input.labels ?? {},
          success: input.success ?? null,
        },
      });
    }
    return { outputs, dlq };
  }
}
