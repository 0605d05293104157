/**
 * What every worker process shares: config, logger, metrics, Kafka producer, optional
 * Redis, the DLQ, the `/health` + `/metrics` server, signal handling and the runner.
 * A worker supplies only its stage (process + sinks) and its checks.
 */
import type { Kafka, Producer } from "kafkajs";
import { type Config, loadConfig } from "../config.ts";
import { createKafka } from "../io/kafka.ts";
import { createRedis, type RedisLayout } from "../io/redis-store.ts";
import { createDlqWriter } from "./dlq.ts";
import { type HealthReport, serveStatus } from "./http.ts";
import { createLogger, type Logger } from "./log.ts";
import { Metrics } from "./metrics.ts";
import { type ProcessResult, Runner, type Sink, type SourceRecord } from "./runner.ts";

export interface WorkerContext {
  cfg: Config;
  log: Logger;
  metrics: Metrics;
  kafka: Kafka;
  producer: Producer;
  redis: ReturnType<typeof createRedis> | undefined;
  redisLayout: RedisLayout;
}

export interface StageSetup<T> {
  process: (records: SourceRecord[], signal: AbortSignal) => Promise<ProcessResult<T>>;
  sinks: Sink<T>[];
  /** Extra health checks (name → probe). */
  checks?: Record<string, () => Promise<boolean>>;
  /** Extra fields for /metrics. */
  metrics?: () => Record<string, unknown>;
  close?: () => Promise<void>;
}

export interface WorkerSpec<T> {
  name: string;
  groupId: (cfg: Config) => string;
  topics: (cfg: Config) => string[];
  batch: (cfg: Config) => { maxItems: number; maxBytes: number; maxWaitMs: number };
  listen: (cfg: Config) => { host: string; port: number };
  setup: (ctx: WorkerContext) => Promise<StageSetup<T>>;
}

async function probe(fn: () => Promise<boolean>, ms = 2000): Promise<boolean> {
  return Promise.race([fn().catch(() => false), Bun.sleep(ms).then(() => false)]);
}

export async function runWorker<T>(
  spec: WorkerSpec<T>,
  env: Record<string, string | undefined> = process.env,
) {
  const cfg = loadConfig(env);
  const log = createLogger(spec.name);
  const metrics = new Metrics(["batches", "records_in", "records_out", "dlq_records", "retries", "commits"]);
  const kafka = createKafka(cfg.kafka.brokers, `${cfg.kafka.clientId}-${spec.name}`);
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  });
  const redisLayout: RedisLayout = {
    namespace: cfg.redis.namespace,
    stream: cfg.redis.stream,
    dlqStream: cfg.redis.dlqStream,
    mode: cfg.redis.mode,
    streamMaxLen: cfg.redis.streamMaxLen,
    dedupTtlSec: cfg.redis.dedupTtlSec,
  };
  const redis = cfg.redis.url.startsWith("redis") ? createRedis(cfg.redis.url) : undefined;
  await producer.connect();
  await redis?.connect();

  const ctx: WorkerContext = { cfg, log, metrics, kafka, producer, redis, redisLayout };
  const stage = await spec.setup(ctx);
  const dlq = createDlqWriter({
    producer,
    topic: cfg.topics.dlq,
    ...(redis ? { redis: { client: redis, layout: redisLayout } } : {}),
  });
  const admin = kafka.admin();
  await admin.connect();

  let fatal: unknown;
  const runner = new Runner<T>({
    name: spec.name,
    kafka,
    groupId: spec.groupId(cfg),
    topics: spec.topics(cfg),
    batch: spec.batch(cfg),
    process: stage.process,
    sinks: stage.sinks,
    dlq,
    backoff: { baseSec: cfg.embed.backoffSec || 0.5, maxSec: cfg.embed.maxBackoffSec },
    metrics,
    log,
    onFatal: (err) => {
      fatal = err;
      log.error("records could not be made durable; exiting so they are redelivered", {
        error: err as Error,
      });
      void shutdown(70);
    },
  });

  const checks: Record<string, () => Promise<boolean>> = {
    kafka: async () => (await admin.describeCluster()).brokers.length > 0,
    ...(redis ? { redis: async () => (await redis.ping()) === "PONG" } : {}),
    ...stage.checks,
  };
  const listen = spec.listen(cfg);
  const server = serveStatus({
    ...listen,
    health: async (): Promise<HealthReport> => {
      const results = await Promise.all(
        Object.entries(checks).map(async ([n, fn]) => [n, await probe(fn)] as const),
      );
      const out: HealthReport["checks"] = {};
      for (const [n, ok] of results) out[n] = { ok };
      return { ok: results.every(([, ok]) => ok), checks: out };
    },
    metrics: () => ({ ...metrics.snapshot(), ...stage.metrics?.() }),
  });
  log.info("status server listening", { url: `http://${listen.host}:${server.port}` });

  let stopping: Promise<void> | undefined;
  const shutdown = (code: number) => {
    stopping ??= (async () => {
      await runner.stop();
      await stage.close?.();
      await producer.disconnect().catch(() => {});
      await admin.disconnect().catch(() => {});
      redis?.disconnect();
      server.stop(true);
      process.exit(fatal ? 70 : code);
    })();
    return stopping;
  };
  process.on("SIGTERM", () => void shutdown(0));
  process.on("SIGINT", () => void shutdown(0));

  await runner.start();
  return { runner, server, shutdown };
}
