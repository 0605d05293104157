#!/usr/bin/env bun
/** backend: kNN queries, shard stats, the DLQ tail and live SSE metric streams, on Bun.serve. */
import Redis from "ioredis";
import { type BackendKnnQuery, createBackend, type OwnerQuery } from "../backend/app.ts";
import { DEFAULT_REDDB_DLQ_PATH, dlqTail, httpDlqTail } from "../backend/dlq-tail.ts";
import { ConfigError, loadConfig, parquetDirs } from "../config.ts";
import { redisKeys } from "../contracts/redis-layout.ts";
import { HttpError } from "../core/http-edge.ts";
import { createLogger } from "../core/log.ts";
import { replayDlq, replayOptions } from "../io/dlq-replay.ts";
import { InfermeshClient } from "../io/infermesh-client.ts";
import { KnnRouter } from "../knn/router.ts";
import { indexModels, KnnService, storedVector } from "../knn/service.ts";
import { helpIfAsked } from "./help.ts";

helpIfAsked(
  "bun pipeline/workers/backend.ts",
  "Serves POST/GET /api/knn/query (cosine top-k over an in-memory copy of the Redis index, kept current by\n" +
    "following the index stream; an int8 prefilter with exact float32 rescoring unless KNN_QUANTIZED=0 or the\n" +
    "query says exact), GET /api/knn/shards, GET /api/embed-worker/dlq, SSE streams of every component,\n" +
    "and with BACKEND_ALLOW_DLQ_REPLAY=1 POST /api/dlq/replay (what `replay --from-dlq` does).\n" +
    "Partitioned: BACKEND_SHARDS=0-15 makes a node own those shards only; BACKEND_ROLE=router with\n" +
    "BACKEND_OWNERS=http://a:8080,http://b:8080 holds no vectors and merges the owners' answers exactly.",
  {
    sections: ["backend", "redis", "index", "infermesh", "logging"],
    also: [
      "KAFKA_BOOTSTRAP_SERVERS",
      "EMBED_DLQ_TOPIC",
      "DLQ_REPLAY_LEDGER_TOPIC",
      "EMBED_METRICS_PORT",
      "PARSE_METRICS_PORT",
      "EMBED_PARQUET_DIR",
      "VEC_OUTPUT_DIR",
      "SPARK_UI_PORT",
    ],
  },
);

const cfg = loadConfig();
const log = createLogger("backend");
const viaRedis = cfg.redis.url.startsWith("redis");
if (!viaRedis && !cfg.redis.url)
  throw new ConfigError("REDDB_URL", "the backend needs Redis (redis://…) or an HTTP RedDB");
// Requests fail fast when Redis hangs; the follower blocks in XREAD, so it has no command timeout.
const redis = viaRedis
  ? new Redis(cfg.redis.url, { maxRetriesPerRequest: 3, commandTimeout: 5000 })
  : undefined;
const follower = viaRedis ? new Redis(cfg.redis.url, { maxRetriesPerRequest: null }) : undefined;
for (const r of [redis, follower]) r?.on("error", (err) => log.warn("redis", { error: err }));

const clients = new Map<string, InfermeshClient>();
const clientFor = (model: string) => {
  let c = clients.get(model);
  if (!c) {
    c = new InfermeshClient({
      url: cfg.embed.infermeshUrl,
      model,
      apiKey: cfg.embed.apiKey,
      timeoutSec: Math.min(cfg.embed.timeoutSec, 10),
      policy: { baseSec: 0.2, maxSec: 1, retries: 1 },
    });
    clients.set(model, c);
  }
  return c;
};

// The kNN index lives in Redis; with an HTTP RedDB only the DLQ tail and the streams are served.
const layout = { namespace: cfg.redis.namespace, stream: cfg.index.stream, shards: cfg.index.shards };
const embed = (model: string, texts: string[]) => clientFor(model).embed(texts);
const router = cfg.backend.role === "router";
const knnService =
  redis && follower && !router
    ? new KnnService({
        redis,
        follower,
        layout,
        embed,
        log,
        shards: cfg.backend.shards,
        engine: cfg.backend.knn,
      })
    : undefined;
await knnService?.start();
const knnRouter =
  redis && router
    ? new KnnRouter({
        owners: cfg.backend.owners,
        shards: cfg.index.shards,
        token: cfg.backend.token,
        timeoutMs: cfg.backend.ownerTimeoutMs,
        lookup: (docId) => storedVector(redis, layout, docId),
        models: () => indexModels(redis, layout),
        embed,
        log,
      })
    : undefined;
if (router) follower?.disconnect();
const noIndex = async (): Promise<never> => {
  throw new HttpError(503, "kNN needs the Redis index: set REDDB_URL=redis://… and run the indexer");
};
const knn = knnService
  ? {
      query: (q: BackendKnnQuery) => knnService.query(q),
      shards: () => knnService.shards(),
      ownerQuery: (q: OwnerQuery) => knnService.ownerQuery(q),
    }
  : (knnRouter ?? { query: noIndex, shards: noIndex });

const local = (port: number) => `http://127.0.0.1:${port}`;
const dlqStream = redisKeys.stream(cfg.redis, cfg.redis.dlqStream);
const replayDeployment = {
  brokers: cfg.kafka.brokers,
  clientId: cfg.kafka.clientId,
  dlqTopic: cfg.topics.dlq,
  ...(redis ? { redis: { client: redis, stream: dlqStream } } : {}),
  ledgerTopic: cfg.dlq.replayLedgerTopic,
  replicationFactor: cfg.kafka.replicationFactor,
};
const backend = createBackend(
  {
    knn,
    dlqTail: (limit) =>
      redis
        ? dlqTail(redis, dlqStream, limit)
        : httpDlqTail(
            {
              baseUrl: cfg.redis.url,
              path: cfg.backend.dlqHttpPath || DEFAULT_REDDB_DLQ_PATH,
              namespace: cfg.redis.namespace,
              stream: cfg.redis.dlqStream,
              token: cfg.redis.token,
            },
            limit,
          ),
    dlqReplay: (req) => replayDlq(replayOptions(req, replayDeployment, Date.now())),
    sources: {
      infermeshUrl: cfg.embed.infermeshUrl,
      embedWorkerUrl: local(cfg.embed.metricsPort),
      parseUrl: local(cfg.parse.metricsPort),
      indexerUrl: local(cfg.index.metricsPort),
      sparkUiUrl: cfg.backend.sparkUiUrl,
      parquetDirs: parquetDirs(cfg),
    },
  },
  {
    ...(cfg.backend.token ? { token: cfg.backend.token } : {}),
    maxBodyBytes: cfg.backend.maxBodyBytes,
    allowDlqReplay: cfg.backend.allowDlqReplay,
    log,
  },
);

const server = Bun.serve({
  hostname: cfg.backend.host,
  port: cfg.backend.port,
  fetch: (req, srv) => backend.fetch(req, srv),
});
log.info("listening", {
  url: `http://${cfg.backend.host}:${server.port}`,
  role: cfg.backend.role,
  ...(router ? { owners: cfg.backend.owners.join(",") } : { vectors: knnService?.engine.size ?? 0 }),
});

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  backend.close();
  server.stop(true);
  await knnService?.close();
  redis?.disconnect();
  process.exit(0);
};
process.on("SIGTERM", () => void shutdown());
process.on("SIGINT", () => void shutdown());
