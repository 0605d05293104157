#!/usr/bin/env bun
/** embed-worker: `embedding_input` → InferMesh → `embeddings` + Parquet + Redis, with a DLQ. */
import { type EmbeddedOutput, encodeEmbeddedRecord, labelColumns } from "../contracts/records.ts";
import { AdaptiveBatchSize } from "../core/adaptive-batch.ts";
import { AdaptiveProcess } from "../embed/adaptive.ts";
import { EmbeddingCache } from "../embed/cache.ts";
import { EmbedStage } from "../embed/stage.ts";
import { warmCache } from "../embed/warmup.ts";
import { InfermeshClient } from "../io/infermesh-client.ts";
import { kafkaSink } from "../io/kafka-sink.ts";
import { EMBEDDINGS_SCHEMA, type EmbeddingRow } from "../io/parquet.ts";
import { parquetStageSink } from "../io/parquet-stage-sink.ts";
import { redisEmbeddingSink } from "../io/redis-store.ts";
import { helpIfAsked } from "./help.ts";
import { runWorker } from "./runtime.ts";

helpIfAsked(
  "bun pipeline/workers/embed-worker.ts",
  "Batches embedding_input records, embeds them through InferMesh POST /embed and writes the enriched records\n" +
    "to Kafka, Parquet and Redis; failures go to the DLQ with their reason. Offsets are committed after every sink.",
  { sections: ["kafka", "topics", "worker", "dlq", "redis", "embed", "infermesh", "parquet", "logging"] },
);

await runWorker<EmbeddedOutput>({
  name: "embed-worker",
  stage: "embed",
  groupId: (cfg) => cfg.embed.group,
  topics: (cfg) => [cfg.topics.input],
  batch: (cfg) => ({
    // Adaptive batching moves below this ceiling.
    maxItems: cfg.embed.adaptive.on
      ? Math.max(cfg.embed.adaptive.max, cfg.embed.batchSize)
      : cfg.embed.batchSize,
    maxBytes: cfg.embed.maxBatchBytes,
    maxWaitMs: cfg.embed.maxWaitSec * 1000,
  }),
  listen: (cfg) => ({ host: cfg.embed.metricsHost, port: cfg.embed.metricsPort }),
  async setup({ cfg, producer, exactlyOnce, redis, redisLayout, metrics, log }) {
    const e = cfg.embed;
    let adaptive: AdaptiveProcess<EmbeddedOutput> | undefined;
    metrics.set("batch_limit", e.batchSize);
    const client = new InfermeshClient({
      url: e.infermeshUrl,
      urls: e.infermeshUrls,
      concurrency: e.concurrency,
      model: e.model,
      apiKey: e.apiKey,
      timeoutSec: e.timeoutSec,
      policy: { baseSec: e.backoffSec, maxSec: e.maxBackoffSec, retries: e.retries },
      onCall: ({ ok, rttMs, transient }) => {
        metrics.set("last_infermesh_rtt_ms", Math.round(rttMs * 10) / 10);
        adaptive?.call({ ok, rttMs, transient });
      },
    });
    const cache = new EmbeddingCache(e.cacheMax, e.cacheTtlSec * 1000);
    if (e.cacheWarmup > 0 && e.writeParquet) {
      const warmed = await warmCache(cache, e.parquetDir, e.cacheWarmup, e.model, e.normalize);
      log.info("cache warmed from Parquet", { rows: warmed, dir: e.parquetDir });
    }
    const parquet = e.writeParquet
      ? parquetStageSink<EmbeddedOutput, EmbeddingRow>({
          dir: e.parquetDir,
          prefix: "embeddings",
          schema: EMBEDDINGS_SCHEMA,
          rollRows: cfg.parquet.rollRows,
          rollSec: cfg.parquet.rollSec,
          ...(exactlyOnce ? { exactlyOnce } : {}),
          toRow: (o) => ({
            ...o.value,
            ...labelColumns(o.value.labels ?? {}, o.value.success ?? null),
            labels: JSON.stringify(o.value.labels ?? {}),
          }),
        })
      : undefined;
    const stage = new EmbedStage({ client, cache, normalize: e.normalize, metrics });
    if (e.adaptive.on) {
      const size = new AdaptiveBatchSize({
        min: e.adaptive.min,
        max: e.adaptive.max,
        start: e.batchSize,
        targetMs: e.adaptive.targetMs,
      });
      adaptive = new AdaptiveProcess(
        size,
        (records, signal) => stage.process(records, signal),
        (limit) => metrics.set("batch_limit", limit),
      );
    }
    const fingerprint = (r: EmbeddedOutput) =>
      `${r.model}:${r.normalized ? 1 : 0}:${Bun.hash(r.text).toString(36)}`;
    // Kafka and Redis write the same bytes: each record is encoded once.
    const encoded = new WeakMap<EmbeddedOutput, Buffer>();
    const encode = (r: EmbeddedOutput): Buffer => {
      const known = encoded.get(r);
      if (known) return known;
      const bytes = encodeEmbeddedRecord(r);
      encoded.set(r, bytes);
      return bytes;
    };
    return {
      process: adaptive ? adaptive.process : (records, signal) => stage.process(records, signal),
      ...(adaptive ? { batchLimit: () => (adaptive as AdaptiveProcess<EmbeddedOutput>).limit } : {}),
      sinks: [
        kafkaSink<EmbeddedOutput>(producer, cfg.topics.output, (o) => ({
          key: o.value.doc_id,
          value: encode(o.value),
        })),
        ...(redis ? [redisEmbeddingSink(redis, redisLayout, fingerprint, encode)] : []),
        ...(parquet ? [parquet.sink] : []),
      ],
      checks: { infermesh: () => client.health() },
      metrics: () => ({
        model: e.model,
        batch_size: e.batchSize,
        batch_adaptive: e.adaptive.on,
        cache: cache.stats(),
        ...(parquet ? { parquet: { dir: e.parquetDir, ...parquet.stats() } } : {}),
      }),
    };
  },
});
