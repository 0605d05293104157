#!/usr/bin/env bun
/** indexer: `embeddings` → the sharded kNN layout in Redis (pipeline/contracts/redis-layout.ts). */
import { ConfigError } from "../config.ts";
import { type IndexedRecord, IndexStage, indexSink } from "../index/stage.ts";
import { helpIfAsked } from "./help.ts";
import { runWorker } from "./runtime.ts";

helpIfAsked(
  "bun pipeline/workers/indexer.ts",
  "Consumes embedded records and keeps the sharded kNN layout in Redis: embvec:{doc_id}, shard:{n}:ids (newest\n" +
    "EMB_SHARD_MAX_IDS per shard, evicted vectors deleted with their ids), and the change stream the backend follows.",
  { sections: ["kafka", "topics", "worker", "dlq", "redis", "index", "logging"] },
);

await runWorker<IndexedRecord>({
  name: "indexer",
  stage: "index",
  groupId: (cfg) => cfg.index.group,
  topics: (cfg) => [cfg.index.topic],
  batch: (cfg) => ({
    maxItems: cfg.index.batchSize,
    maxBytes: cfg.index.maxBatchBytes,
    maxWaitMs: cfg.index.maxWaitSec * 1000,
  }),
  listen: (cfg) => ({ host: cfg.index.metricsHost, port: cfg.index.metricsPort }),
  async setup({ cfg, redis, metrics }) {
    if (!redis) throw new ConfigError("REDDB_URL", "the indexer needs a redis:// URL");
    const layout = { namespace: cfg.redis.namespace, stream: cfg.index.stream, shards: cfg.index.shards };
    const stage = new IndexStage(redis, layout);
    return {
      process: (records) => stage.process(records),
      sinks: [
        indexSink(
          redis,
          layout,
          {
            maxIdsPerShard: cfg.index.maxIdsPerShard,
            streamMaxLen: cfg.redis.streamMaxLen,
            textMaxChars: cfg.index.textMaxChars,
          },
          metrics,
        ),
      ],
      metrics: () => ({ shards: cfg.index.shards, max_ids_per_shard: cfg.index.maxIdsPerShard }),
    };
  },
});
