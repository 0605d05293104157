/**
 * What every worker process shares: config, logger, metrics, Kafka producer, optional
 * Redis, the DLQ, the `/health` + `/metrics` server, signal handling and the runner.
 * A worker supplies only its stage (process + sinks) and its checks.
 */
import type { Kafka } from "kafkajs";
import { type Config, loadConfig } from "../config.ts";
import type { Stage } from "../contracts/dlq.ts";
import { type HealthReport, serveStatus } from "../core/http.ts";
import { createLogger, type Logger } from "../core/log.ts";
import { Metrics } from "../core/metrics.ts";
import { Runner } from "../core/runner.ts";
import type { ProcessResult, Sink, SourceRecord } from "../core/source.ts";
import { createDlqSinks, dlqEntryLimit } from "../io/dlq-sinks.ts";
import { createKafka } from "../io/kafka.ts";
import { groupLag } from "../io/kafka-lag.ts";
import { KafkaSource } from "../io/kafka-source.ts";
import { type KafkaSender, KafkaTransactions } from "../io/kafka-transactions.ts";
import { createRedis, type RedisLayout } from "../io/redis-store.ts";

export interface WorkerContext {
  cfg: Config;
  log: Logger;
  metrics: Metrics;
  kafka: Kafka;
  /** What Kafka sinks send through: the idempotent producer, or the worker's transaction. */
  producer: KafkaSender;
  /** Set with PIPELINE_EXACTLY_ONCE: two-phase sinks (Parquet) publish with the transactions. */
  exactlyOnce: { instanceId: string } | undefined;
  redis: ReturnType<typeof createRedis> | undefined;
  redisLayout: RedisLayout;
}

export interface StageSetup<T> {
  process: (records: SourceRecord[], signal: AbortSignal) => Promise<ProcessResult<T>>;
  sinks: Sink<T>[];
  /** Extra health checks (name → probe). */
  checks?: Record<string, () => Promise<boolean>>;
  /** Records per batch now, when the stage adapts it (capped by the spec's batch.maxItems). */
  batchLimit?: () => number;
  /** Extra fields for /metrics. */
  metrics?: () => Record<string, unknown>;
  close?: () => Promise<void>;
}

export interface WorkerSpec<T> {
  name: string;
  /** The stage its DLQ entries name. */
  stage: Stage;
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
  const admin = kafka.admin();
  const eos = cfg.worker.exactlyOnce;
  const topics = spec.topics(cfg);
  const txns = eos.on
    ? new KafkaTransactions({
        kafka,
        admin,
        groupId: spec.groupId(cfg),
        instanceId: cfg.worker.instanceId,
        witnessTopic: topics[0] as string,
        timeoutMs: eos.timeoutMs,
        log,
      })
    : undefined;
  // Exactly-once sends through the transactions' producer only.
  const producer = txns
    ? undefined
    : kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  const sender: KafkaSender = txns?.sender ?? (producer as KafkaSender);
  metrics.set("exactly_once", eos.on);
  const redisLayout: RedisLayout = {
    namespace: cfg.redis.namespace,
    stream: cfg.redis.stream,
    dlqStream: cfg.redis.dlqStream,
    mode: cfg.redis.mode,
    streamMaxLen: cfg.redis.streamMaxLen,
    dedupTtlSec: cfg.redis.dedupTtlSec,
  };
  const redis = cfg.redis.url.startsWith("redis") ? createRedis(cfg.redis.url) : undefined;
  await producer?.connect();
  await redis?.connect();
  await admin.connect();

  const ctx: WorkerContext = {
    cfg,
    log,
    metrics,
    kafka,
    producer: sender,
    exactlyOnce: txns ? { instanceId: cfg.worker.instanceId } : undefined,
    redis,
    redisLayout,
  };
  const stage = await spec.setup(ctx);
  const maxEntryBytes = await dlqEntryLimit(admin, cfg.topics.dlq, cfg.dlq.maxEntryBytes, log);
  metrics.set("dlq_max_entry_bytes", maxEntryBytes);
  const dlq = createDlqSinks({
    producer: sender,
    topic: cfg.topics.dlq,
    maxEntryBytes,
    ...(redis ? { redis: { client: redis, layout: redisLayout } } : {}),
  });

  let fatal: unknown;
  const runner = new Runner<T>({
    name: spec.name,
    stage: spec.stage,
    group: {
      sessionTimeoutMs: cfg.kafka.sessionTimeoutMs,
      heartbeatIntervalMs: cfg.kafka.heartbeatIntervalMs,
    },
    source: new KafkaSource({
      kafka,
      groupId: spec.groupId(cfg),
      topics,
      sessionTimeoutMs: cfg.kafka.sessionTimeoutMs,
      heartbeatIntervalMs: cfg.kafka.heartbeatIntervalMs,
    }),
    batch: spec.batch(cfg),
    ...(txns
      ? {
          exactlyOnce: {
            txns,
            intervalMs: eos.intervalMs,
            maxRecords: Math.max(cfg.parquet.rollRows, spec.batch(cfg).maxItems),
          },
        }
      : {}),
    ...(stage.batchLimit ? { batchLimit: stage.batchLimit } : {}),
    process: stage.process,
    sinks: stage.sinks,
    dlq,
    backoff: { baseSec: cfg.worker.backoffSec, maxSec: cfg.worker.maxBackoffSec },
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
      const consuming = runner.health();
      out.consuming = consuming;
      return { ok: consuming.ok && results.every(([, ok]) => ok), checks: out };
    },
    metrics: () => ({ ...metrics.snapshot(), ...stage.metrics?.() }),
  });
  log.info("status server listening", { url: `http://${listen.host}:${server.port}` });

  let stopping: Promise<void> | undefined;
  const shutdown = (code: number) => {
    stopping ??= (async () => {
      await runner.stop();
      await stage.close?.();
      await txns?.close();
      await producer?.disconnect().catch(() => {});
      await admin.disconnect().catch(() => {});
      redis?.disconnect();
      server.stop(true);
      process.exit(fatal ? 70 : code);
    })();
    return stopping;
  };
  process.on("SIGTERM", () => void shutdown(0));
  process.on("SIGINT", () => void shutdown(0));
  // Every exit path leaves the group cleanly, so its partitions move at once, not after the session.
  const crash = (what: string) => (err: unknown) => {
    fatal ??= err;
    log.error(`${what}; leaving the group and exiting`, { error: err as Error });
    void shutdown(70);
  };
  process.on("uncaughtException", crash("uncaught exception"));
  process.on("unhandledRejection", crash("unhandled rejection"));

  // Lag as the group sees it: committed offsets against the high watermark of every partition.
  metrics.set("lag", null);
  const pollLag = async () => {
    try {
      const lag = await groupLag(admin, spec.groupId(cfg), topics);
      metrics.set("lag", lag.total);
      metrics.setLabeled("lag_by_partition", lag.byPartition);
      metrics.set("lag_error", null);
    } catch (err) {
      metrics.set("lag", null);
      metrics.set("lag_error", (err as Error).message);
    }
  };
  const lagTimer = setInterval(() => void pollLag(), cfg.kafka.lagPollSec * 1000);
  process.on("exit", () => clearInterval(lagTimer));

  await runner.start();
  void pollLag();
  return { runner, server, shutdown };
}
