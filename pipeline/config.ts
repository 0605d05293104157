/**
 * One typed, validated view of the environment. Names and defaults follow the seed
 * (`reference-behaviour.md`); where the seed assumed containers (`kafka:9092`,
 * `http://infermesh:9000`) the embedded defaults are loopback addresses instead.
 *
 * `loadConfig()` fails fast with a {@link ConfigError} naming the variable.
 */
import { availableParallelism, homedir } from "node:os";
import { join, resolve } from "node:path";

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = "ConfigError";
  }
}

type Env = Record<string, string | undefined>;

/** Reads typed values out of an env map; every error names the variable. */
class EnvReader {
  constructor(private readonly env: Env) {}

  /** Value when set (even to ""), else undefined. */
  raw(name: string): string | undefined {
    return this.env[name];
  }

  str(name: string, fallback: string): string {
    const v = this.env[name];
    return v === undefined || v.trim() === "" ? fallback : v.trim();
  }

  /** Like str, but an explicitly empty value means "off" and is returned as "". */
  optional(name: string, fallback: string): string {
    const v = this.env[name];
    return v === undefined ? fallback : v.trim();
  }

  int(name: string, fallback: number, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.env[name];
    if (v === undefined || v.trim() === "") return fallback;
    const n = Number(v.trim());
    if (!Number.isInteger(n)) throw new ConfigError(name, `expected an integer, got ${JSON.stringify(v)}`);
    if (n < min || n > max) throw new ConfigError(name, `expected ${min}..${max}, got ${n}`);
    return n;
  }

  num(name: string, fallback: number, min = 0): number {
    const v = this.env[name];
    if (v === undefined || v.trim() === "") return fallback;
    const n = Number(v.trim());
    if (!Number.isFinite(n)) throw new ConfigError(name, `expected a number, got ${JSON.stringify(v)}`);
    if (n < min) throw new ConfigError(name, `expected at least ${min}, got ${n}`);
    return n;
  }

  bool(name: string, fallback: boolean): boolean {
    const v = this.env[name];
    if (v === undefined || v.trim() === "") return fallback;
    const s = v.trim().toLowerCase();
    if (["1", "true", "yes", "on"].includes(s)) return true;
    if (["0", "false", "no", "off"].includes(s)) return false;
    throw new ConfigError(name, `expected 1/0/true/false, got ${JSON.stringify(v)}`);
  }

  list(name: string, fallback: string[]): string[] {
    const v = this.env[name];
    if (v === undefined || v.trim() === "") return fallback;
    const items = v
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    if (items.length === 0) throw new ConfigError(name, "expected a comma-separated list");
    return items;
  }

  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const v = this.str(name, fallback).toLowerCase() as T;
    if (!allowed.includes(v)) throw new ConfigError(name, `expected one of ${allowed.join("|")}, got ${v}`);
    return v;
  }
}

/** "host:port" list → validated array. */
function parseBrokers(name: string, value: string): string[] {
  const brokers = value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (const b of brokers) {
    if (!/^[^\s:]+:\d{1,5}$/.test(b))
      throw new ConfigError(name, `expected host:port, got ${JSON.stringify(b)}`);
  }
  if (brokers.length === 0) throw new ConfigError(name, "expected at least one host:port");
  return brokers;
}

function parseUrl(name: string, value: string, protocols: string[]): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(name, `not a URL: ${JSON.stringify(value)}`);
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigError(name, `expected ${protocols.join(" or ")} URL, got ${url.protocol}`);
  }
  return value.replace(/\/+$/, "");
}

export function loadConfig(env: Env = process.env) {
  const e = new EnvReader(env);

  const stateDir = resolve(
    e.str("EMBED_STATE_DIR", join(env.XDG_STATE_HOME || join(homedir(), ".local", "state"), "rl-embeddings")),
  );
  const cacheDir = resolve(
    e.str("EMBED_CACHE_DIR", join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "rl-embeddings")),
  );

  const bootstrapVar =
    e.raw("KAFKA_BOOTSTRAP_SERVERS") !== undefined ? "KAFKA_BOOTSTRAP_SERVERS" : "KAFKA_BOOTSTRAP";
  const brokers = parseBrokers(bootstrapVar, e.str(bootstrapVar, "127.0.0.1:9092"));

  // REDDB_URL: unset → the embedded local Redis; explicitly empty → Redis sinks off (seed behaviour).
  const reddbRaw = e.optional("REDDB_URL", "redis://127.0.0.1:6379");
  const reddbUrl =
    reddbRaw === "" ? "" : parseUrl("REDDB_URL", reddbRaw, ["redis:", "rediss:", "http:", "https:"]);

  const kafka = {
    brokers,
    clientId: e.str("KAFKA_CLIENT_ID", "rl-embeddings"),
    /** Partitions for topics the project creates. */
    partitions: e.int("KAFKA_TOPIC_PARTITIONS", 3, 1, 1000),
    replicationFactor: e.int("KAFKA_REPLICATION_FACTOR", 1, 1, 10),
    /** A worker that dies without leaving its group holds its partitions this long (broker minimum 6000). */
    sessionTimeoutMs: e.int("KAFKA_SESSION_TIMEOUT_MS", 6_000, 1_000, 300_000),
    /** Heartbeats to the group coordinator; well under the session timeout. */
    heartbeatIntervalMs: e.int("KAFKA_HEARTBEAT_INTERVAL_MS", 1_000, 100, 60_000),
    /** How often workers read their group's lag (committed offsets against high watermarks). */
    lagPollSec: e.num("KAFKA_LAG_POLL_SEC", 3, 0.1),
  };

  const topics = {
    /** Upstream agent results (comma list). */
    source: e.list("SPARK_KAFKA_TOPICS", ["agent.results"]),
    input: e.str("SINK_INPUT_TOPIC", e.str("EMBED_INPUT_TOPIC", "embedding_input")),
    output: e.str("EMBED_OUTPUT_TOPIC", "embeddings"),
    /** Kafka DLQ topic. Seed default is off (""); `up` turns it on as `embeddings_dlq`. */
    dlq: e.optional("EMBED_DLQ_TOPIC", ""),
  };

  const dlq = {
    /**
     * Largest DLQ entry, bytes of JSON: a larger original value is cut to a prefix (marked, with
     * its length and sha256). Lowered at start to what the DLQ topic accepts (max.message.bytes).
     */
    maxEntryBytes: e.int("DLQ_MAX_ENTRY_BYTES", 900_000, 65_536, 64 * 1024 * 1024),
  };

  const local = {
    stateDir,
    cacheDir,
    /** Kafka release fetched from Maven Central for the embedded broker. */
    kafkaVersion: e.str("KAFKA_VERSION", "4.1.1"),
    kafkaHeap: e.str("KAFKA_HEAP", "512m"),
    /** Seconds `up` waits for each component's health. */
    startTimeoutSec: e.num("EMBED_START_TIMEOUT_SEC", 90, 1),
  };

  /** The Spark job's UI / REST port; the backend's SPARK_VECTOR_UI_URL follows it by default. */
  const sparkUiPort = e.int("SPARK_UI_PORT", 4041, 1, 65535);

  /** INFERMESH_URL may list several servers (comma list); the embed worker spreads requests over them. */
  const infermeshUrls = e
    .list("INFERMESH_URL", ["http://127.0.0.1:9000"])
    .map((u) => parseUrl("INFERMESH_URL", u, ["http:", "https:"]));
  const infermeshUrl = infermeshUrls[0] as string;
  const infermeshProcesses = e.int("INFERMESH_PROCESSES", 1, 1, 64);

  return {
    kafka,
    topics,
    dlq,
    /** The local InferMesh-compatible server (pipeline/infermesh). */
    infermeshServer: {
      host: e.str("INFERMESH_HOST", "127.0.0.1"),
      port: e.int("INFERMESH_PORT", 9000, 0, 65535),
      /**
       * Models served, comma list, the first is the default: `sentence-transformers/all-MiniLM-L6-v2`
       * (fp32) and `…-int8`, `glove-100d-sif` (word vectors + SIF), `hash-<dim>`.
       */
      models: e.list("INFERMESH_MODELS", [
        "sentence-transformers/all-MiniLM-L6-v2",
        "sentence-transformers/all-MiniLM-L6-v2-int8",
        "glove-100d-sif",
        "hash-384",
      ]),
      apiKey: e.optional("INFERMESH_API_KEY", ""),
      maxInputs: e.int("INFERMESH_MAX_INPUTS", 512, 1),
      maxBodyBytes: e.int("INFERMESH_MAX_BODY_BYTES", 8 * 1024 * 1024, 1024),
      maxTextChars: e.int("INFERMESH_MAX_TEXT_CHARS", 32_768, 1),
      /** Server processes on the one port (SO_REUSEPORT), each with every model; the first starts the others. */
      processes: infermeshProcesses,
      /** onnxruntime intra-op threads per process (MiniLM models); default: the cores shared by the processes. */
      threads: e.int(
        "INFERMESH_THREADS",
        Math.max(1, Math.floor(availableParallelism() / infermeshProcesses)),
        1,
        1024,
      ),
      /** Texts per model batch at most; concurrent requests are batched together up to this. */
      maxBatch: e.int("INFERMESH_MAX_BATCH", 32, 1, 100_000),
      /** Padded tokens (texts × longest) per model batch at most. */
      maxBatchTokens: e.int("INFERMESH_MAX_BATCH_TOKENS", 8192, 256),
    },
    /** The embed worker (client side of InferMesh, batching, cache, sinks). */
    embed: {
      group: e.str("EMBED_GROUP", "embed-worker"),
      infermeshUrl,
      infermeshUrls,
      /** Requests in flight per batch: a batch is split across them (and across the URLs). */
      concurrency: e.int("INFERMESH_CONCURRENCY", 2, 1, 256),
      model: e.str("EMBED_MODEL", "sentence-transformers/all-MiniLM-L6-v2"),
      apiKey: e.optional("INFERMESH_API_KEY", ""),
      timeoutSec: e.num("INFERMESH_TIMEOUT_SEC", 30, 0.001),
      retries: e.int("INFERMESH_RETRIES", 2, 0, 100),
      backoffSec: e.num("INFERMESH_BACKOFF_SEC", 0.5, 0),
      /** Longest single backoff while waiting out an outage. */
      maxBackoffSec: e.num("INFERMESH_MAX_BACKOFF_SEC", 10, 0),
      batchSize: e.int("EMBED_BATCH_SIZE", 64, 1, 100_000),
      maxWaitSec: e.num("EMBED_MAX_WAIT_SEC", 0.5, 0),
      /** Hard ceiling of one batch's input bytes. */
      maxBatchBytes: e.int("EMBED_MAX_BATCH_BYTES", 4 * 1024 * 1024, 1024),
      writeParquet: e.bool("EMBED_WRITE_PARQUET", false),
      parquetDir: e.str("EMBED_PARQUET_DIR", "/workspace/vectorized/embeddings_imesh"),
      normalize: e.bool("EMBED_NORMALIZE", false),
      cacheTtlSec: e.num("EMBED_CACHE_TTL", 300, 0),
      cacheMax: e.int("EMBED_CACHE_MAX", 200_000, 0),
      cacheWarmup: e.int("EMBED_CACHE_WARMUP", 0, 0),
      metricsHost: e.str("EMBED_METRICS_HOST", "127.0.0.1"),
      metricsPort: e.int("EMBED_METRICS_PORT", 9100, 0, 65535),
    },
    /** The indexer: `embeddings` → sharded kNN layout in Redis. */
    index: {
      topic: e.str("EMB_INDEX_TOPIC", e.str("EMBED_OUTPUT_TOPIC", "embeddings")),
      group: e.str("EMB_INDEX_GROUP", "emb-indexer"),
      stream: e.str("REDDB_INDEX_STREAM", "emb_index"),
      shards: e.int("EMB_INDEX_SHARDS", 32, 1, 4096),
      maxIdsPerShard: e.int("EMB_SHARD_MAX_IDS", 5000, 1),
      /** Text kept with each indexed vector (characters). */
      textMaxChars: e.int("EMB_INDEX_TEXT_MAX_CHARS", 2000, 0),
      batchSize: e.int("EMB_INDEX_BATCH_SIZE", 256, 1),
      maxWaitSec: e.num("EMB_INDEX_MAX_WAIT_SEC", 0.2, 0),
      metricsHost: e.str("INDEX_METRICS_HOST", "127.0.0.1"),
      metricsPort: e.int("INDEX_METRICS_PORT", 9103, 0, 65535),
    },
    /** The backend: kNN queries, shard stats, DLQ tail, SSE streams. */
    backend: {
      host: e.str("BACKEND_HOST", "127.0.0.1"),
      port: e.int("BACKEND_PORT", 8080, 0, 65535),
      token: e.optional("BACKEND_TOKEN", ""),
      sparkUiUrl: parseUrl(
        "SPARK_VECTOR_UI_URL",
        e.str("SPARK_VECTOR_UI_URL", `http://127.0.0.1:${sparkUiPort}/api/v1`),
        ["http:", "https:"],
      ),
      dlqHttpPath: e.optional("REDDB_DLQ_HTTP_PATH", ""),
      maxBodyBytes: e.int("BACKEND_MAX_BODY_BYTES", 1024 * 1024, 1024),
    },
    /** Parquet files (embed worker and parse) roll at this many rows or this age, whichever comes first. */
    parquet: {
      rollRows: e.int("PARQUET_ROLL_ROWS", 10_000, 1),
      rollSec: e.num("PARQUET_ROLL_SEC", 10, 0.01),
    },
    /** The parse worker (Bun replacement of the seed's Spark job). */
    parse: {
      group: e.str("PARSE_GROUP", "parse"),
      /** JSON fields tried for the text, in order; dotted paths allowed. */
      textFields: e.list("PARSE_TEXT_FIELDS", ["text", "message", "content", "prompt", "body"]),
      /** Longer texts are truncated to this many characters and marked `truncated`. */
      maxTextChars: e.int("PARSE_MAX_TEXT_CHARS", 8192, 1),
      outputDir: e.optional("VEC_OUTPUT_DIR", ""),
      batchSize: e.int("PARSE_BATCH_SIZE", 500, 1),
      maxWaitSec: e.num("PARSE_MAX_WAIT_SEC", 0.2, 0),
      metricsHost: e.str("PARSE_METRICS_HOST", "127.0.0.1"),
      metricsPort: e.int("PARSE_METRICS_PORT", 9102, 0, 65535),
    },
    /**
     * The Spark parse job (`up --spark`, pipeline/spark/spark_vectorize.py): the same rules,
     * topics, DLQ and Parquet settings as the Bun parse worker, and its /health and /metrics
     * on the parse worker's address.
     */
    spark: {
      /** `bun` (the default parse worker) or `spark` (the Structured Streaming job). */
      engine: e.oneOf("PARSE_ENGINE", "bun", ["bun", "spark"] as const),
      /** pyspark (PyPI) and spark-sql-kafka-0-10_2.13 (Maven Central) release. */
      version: e.str("SPARK_VERSION", "4.1.1"),
      master: e.str("SPARK_MASTER", "local[2]"),
      driverMemory: e.str("SPARK_DRIVER_MEMORY", "1g"),
      /** The driver's UI and REST API port (on 127.0.0.1); the backend reads SPARK_VECTOR_UI_URL. */
      uiPort: sparkUiPort,
      checkpoint: e.str("VEC_CHECKPOINT", join(stateDir, "spark", "checkpoint")),
      triggerSec: e.num("SPARK_TRIGGER_SEC", 1, 0),
      /** Where a job without a checkpoint starts: `earliest`, `latest` or Spark's per-partition JSON; empty = the parse group's committed offsets, else earliest. */
      startingOffsets: e.optional("SPARK_STARTING_OFFSETS", ""),
      /** Records per micro-batch at most (0 = no limit). */
      maxOffsetsPerTrigger: e.int("SPARK_MAX_OFFSETS_PER_TRIGGER", 0, 0),
    },
    redis: {
      url: reddbUrl,
      namespace: e.str("REDDB_NAMESPACE", "dspy"),
      token: e.optional("REDDB_TOKEN", ""),
      stream: e.str("REDDB_STREAM", "embeddings"),
      dlqStream: e.str("REDDB_DLQ_STREAM", "embeddings_dlq"),
      mode: e.oneOf("REDDB_MODE", "stream", ["stream", "kv", "both"] as const),
      /** Streams are capped at about this many entries (XADD MAXLEN ~). */
      streamMaxLen: e.int("REDDB_STREAM_MAXLEN", 100_000, 1),
      /** How long a doc_id's last stream append is remembered, so redeliveries are not appended twice. */
      dedupTtlSec: e.int("REDDB_DEDUP_TTL_SEC", 7 * 24 * 3600, 1),
    },
    local,
  } as const;
}

export type Config = ReturnType<typeof loadConfig>;

/** Names of every topic the project creates on its broker. */
export function projectTopics(cfg: Config, dlqTopic = cfg.topics.dlq || "embeddings_dlq"): string[] {
  return [...new Set([...cfg.topics.source, cfg.topics.input, cfg.topics.output, dlqTopic])];
}

/** Folders where the stack's Parquet output lands, by producer (keys end in `_parquet`). */
export function parquetDirs(cfg: Config): Record<string, string> {
  const dirs: Record<string, string> = {};
  if (cfg.embed.writeParquet) dirs.embed_worker_parquet = cfg.embed.parquetDir;
  if (cfg.parse.outputDir) dirs.parse_parquet = cfg.parse.outputDir;
  return dirs;
}
