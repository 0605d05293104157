/**
 * One typed, validated view of the environment. Every variable is declared once, in
 * {@link VARIABLES}: its parser with the default, its section and one line of help. The
 * workers' `--help` and the README's configuration table are generated from it
 * (`bun scripts/gen-docs.ts`; a test fails when the README is stale).
 *
 * Names and defaults follow the seed (`reference-behaviour.md`); where the seed assumed
 * containers (`kafka:9092`, `http://infermesh:9000`) the embedded defaults are loopback
 * addresses instead. `loadConfig()` fails fast with a {@link ConfigError} naming the variable.
 */
import { availableParallelism, homedir } from "node:os";
import { join, resolve } from "node:path";
import { DEFAULT_LABEL_FIELDS, DEFAULT_TEXT_FIELDS } from "./contracts/extract.ts";
import { DEFAULT_RESCORE_FACTOR, parseShardList } from "./contracts/knn.ts";

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

/** Sections of the configuration, in the order the docs list them. */
export const SECTIONS = {
  kafka: "Kafka",
  topics: "Topics",
  worker: "Every worker (runner)",
  dlq: "DLQ",
  redis: "Redis",
  parse: "parse worker",
  spark: "Spark parse job",
  embed: "embed worker",
  infermesh: "InferMesh client (embed worker, backend)",
  infermeshServer: "InferMesh server",
  parquet: "Parquet",
  index: "indexer",
  backend: "backend",
  local: "Local stack (`up`, scripts)",
  logging: "Logging",
} as const;
export type Section = keyof typeof SECTIONS;

/** Reads the value of one variable; `get` reads another (for defaults that follow one). */
type Read<T> = (raw: string | undefined, name: string, get: Getter) => T;
// biome-ignore lint/suspicious/noExplicitAny: the getter is typed at its use in loadConfig
type Getter = (name: any) => any;

export interface Variable<T = unknown> {
  section: Section;
  /** The default as the docs show it. */
  doc: string;
  help: string;
  /** What `up` sets for the processes it starts, when it differs (`<state>` = EMBED_STATE_DIR). */
  up?: string;
  /** Older names read when this one is unset or blank. */
  aliases?: string[];
  read: Read<T>;
}

interface Common {
  section: Section;
  help: string;
  up?: string;
  aliases?: string[];
  /** Docs default when the default is computed. */
  doc?: string;
}

const blank = (v: string | undefined): boolean => v === undefined || v.trim() === "";
const show = (v: string) => (v === "" ? "" : `\`${v}\``);

function variable<T>(c: Common, doc: string, read: Read<T>): Variable<T> {
  return { section: c.section, help: c.help, doc: c.doc ?? doc, up: c.up, aliases: c.aliases, read };
}

/** A string; unset or blank gives the default (a function of other variables when computed). */
function str(def: string | ((get: Getter) => string), c: Common): Variable<string> {
  return variable(c, typeof def === "string" ? show(def) : "", (raw, _n, get) =>
    blank(raw) ? (typeof def === "string" ? def : def(get)) : (raw as string).trim(),
  );
}

/** A folder, made absolute; unset or blank gives the (computed) default. */
function path(def: (get: Getter) => string, c: Common): Variable<string> {
  return variable(c, "", (raw, _n, get) => resolve(blank(raw) ? def(get) : (raw as string).trim()));
}

/** A string where an explicitly empty value means "off" (returned as ""). */
function optional(def: string, c: Common): Variable<string> {
  return variable(c, def === "" ? "_(empty)_" : show(def), (raw) => (raw === undefined ? def : raw.trim()));
}

function int(
  def: number | ((get: Getter) => number),
  c: Common & { min?: number; max?: number },
): Variable<number> {
  const min = c.min ?? Number.MIN_SAFE_INTEGER;
  const max = c.max ?? Number.MAX_SAFE_INTEGER;
  return variable(c, typeof def === "number" ? show(String(def)) : "", (raw, name, get) => {
    if (blank(raw)) return typeof def === "number" ? def : def(get);
    const n = Number((raw as string).trim());
    if (!Number.isInteger(n)) throw new ConfigError(name, `expected an integer, got ${JSON.stringify(raw)}`);
    if (n < min || n > max) throw new ConfigError(name, `expected ${min}..${max}, got ${n}`);
    return n;
  });
}

function num(def: number, c: Common & { min?: number }): Variable<number> {
  const min = c.min ?? 0;
  return variable(c, show(String(def)), (raw, name) => {
    if (blank(raw)) return def;
    const n = Number((raw as string).trim());
    if (!Number.isFinite(n)) throw new ConfigError(name, `expected a number, got ${JSON.stringify(raw)}`);
    if (n < min) throw new ConfigError(name, `expected at least ${min}, got ${n}`);
    return n;
  });
}

function bool(def: boolean, c: Common): Variable<boolean> {
  return variable(c, show(def ? "1" : "0"), (raw, name) => {
    if (blank(raw)) return def;
    const s = (raw as string).trim().toLowerCase();
    if (["1", "true", "yes", "on"].includes(s)) return true;
    if (["0", "false", "no", "off"].includes(s)) return false;
    throw new ConfigError(name, `expected 1/0/true/false, got ${JSON.stringify(raw)}`);
  });
}

/** A comma list; each item may be checked (and rewritten) by `item`. */
function list(def: string[], c: Common & { item?: (s: string, name: string) => string }): Variable<string[]> {
  const check = c.item ?? ((s: string) => s);
  return variable(c, show(def.join(",")), (raw, name) => {
    if (blank(raw)) return def.map((s) => check(s, name));
    const items = (raw as string)
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    if (items.length === 0) throw new ConfigError(name, "expected a comma-separated list");
    return items.map((s) => check(s, name));
  });
}

function oneOf<T extends string>(def: T, allowed: readonly T[], c: Common): Variable<T> {
  return variable(c, show(def), (raw, name) => {
    const v = (blank(raw) ? def : (raw as string).trim().toLowerCase()) as T;
    if (!allowed.includes(v)) throw new ConfigError(name, `expected one of ${allowed.join("|")}, got ${v}`);
    return v;
  });
}

/** A name safe in file names and Kafka ids: letters, digits, `.` and `_`. */
function ident(def: string, c: Common): Variable<string> {
  return variable(c, show(def), (raw, name) => {
    const v = blank(raw) ? def : (raw as string).trim();
    if (!/^[A-Za-z0-9_.]{1,64}$/.test(v))
      throw new ConfigError(
        name,
        `expected letters, digits, '.' or '_' (at most 64), got ${JSON.stringify(v)}`,
      );
    return v;
  });
}

function checkUrl(name: string, value: string, protocols: string[]): string {
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

function checkBroker(b: string, name: string): string {
  if (!/^[^\s:]+:\d{1,5}$/.test(b))
    throw new ConfigError(name, `expected host:port, got ${JSON.stringify(b)}`);
  return b;
}

const HTTP = ["http:", "https:"];

/** `min.insync.replicas` for a replication factor: one replica may be lost, at most 2 required. */
export function minInsync(replicationFactor: number): number {
  return Math.max(1, Math.min(2, replicationFactor - 1));
}

/**
 * The brokers to bootstrap from: with `KAFKA_BROKERS=N` > 1 and a single address `host:p`,
 * the embedded cluster's `host:p` … `host:p+N-1`; otherwise the list as given.
 */
function bootstrapList(list: string[], brokers: number): string[] {
  const [first] = list;
  if (brokers === 1 || list.length !== 1 || first === undefined) return list;
  const at = first.lastIndexOf(":");
  const port = Number(first.slice(at + 1));
  if (port + brokers - 1 > 65535)
    throw new ConfigError("KAFKA_BROKERS", `${brokers} brokers from port ${port} pass 65535`);
  return Array.from({ length: brokers }, (_, i) => `${first.slice(0, at)}:${port + i}`);
}

/** Every variable the pipeline, the scripts and the local stack read. */
export const VARIABLES = {
  // Kafka
  KAFKA_BOOTSTRAP_SERVERS: list(["127.0.0.1:9092"], {
    section: "kafka",
    help: "brokers, comma list (`KAFKA_BOOTSTRAP` is read when this is unset or blank)",
    aliases: ["KAFKA_BOOTSTRAP"],
    item: checkBroker,
  }),
  KAFKA_CLIENT_ID: str("rl-embeddings", { section: "kafka", help: "client id prefix" }),
  KAFKA_TOPIC_PARTITIONS: int(3, {
    section: "kafka",
    min: 1,
    max: 1000,
    help: "partitions of the topics the project creates",
  }),
  KAFKA_REPLICATION_FACTOR: int((get) => Math.min(3, get("KAFKA_BROKERS")), {
    section: "kafka",
    min: 1,
    max: 10,
    doc: "`1`; `3` with `KAFKA_BROKERS=3`",
    help: "their replication factor (at most the number of brokers)",
  }),
  KAFKA_MIN_INSYNC_REPLICAS: int((get) => minInsync(get("KAFKA_REPLICATION_FACTOR")), {
    section: "kafka",
    min: 1,
    max: 10,
    doc: "`1`; `2` from replication factor 3",
    help: "their `min.insync.replicas`: replicas an `acks=all` write needs (at most the replication factor)",
  }),
  KAFKA_SESSION_TIMEOUT_MS: int(6_000, {
    section: "kafka",
    min: 1_000,
    max: 300_000,
    help: "how long a worker that died without leaving holds its partitions (broker minimum 6000)",
  }),
  KAFKA_HEARTBEAT_INTERVAL_MS: int(1_000, {
    section: "kafka",
    min: 100,
    max: 60_000,
    help: "heartbeats to the group coordinator; well under the session timeout",
  }),
  KAFKA_LAG_POLL_SEC: num(3, {
    section: "kafka",
    min: 0.1,
    help: "how often workers read their group's lag (committed offsets against high watermarks)",
  }),
  // Topics
  SPARK_KAFKA_TOPICS: list(["agent.results"], { section: "topics", help: "source topics (comma list)" }),
  SINK_INPUT_TOPIC: str("embedding_input", {
    section: "topics",
    help: "parsed records (`EMBED_INPUT_TOPIC` is read when this is unset or blank)",
    aliases: ["EMBED_INPUT_TOPIC"],
  }),
  EMBED_OUTPUT_TOPIC: str("embeddings", { section: "topics", help: "embedded records" }),
  EMBED_DLQ_TOPIC: optional("", {
    section: "topics",
    help: "Kafka DLQ topic of every worker (empty = off)",
    up: "embeddings_dlq",
  }),
  // Every worker
  WORKER_BACKOFF_SEC: num(0.5, {
    section: "worker",
    min: 0.01,
    help: "first backoff of a stage or sink retried on a transient fault (doubled per attempt, jittered)",
  }),
  WORKER_MAX_BACKOFF_SEC: num(10, {
    section: "worker",
    help: "longest backoff while a worker waits out an outage (retries are unbounded)",
  }),
  WORKER_INSTANCE_ID: ident("0", {
    section: "worker",
    help: "this process's id within its stage; with exactly-once it names the transactional id `<group>-<id>`, so every running instance needs its own and a restarted one keeps it (it fences its predecessor)",
  }),
  PIPELINE_EXACTLY_ONCE: bool(false, {
    section: "worker",
    help: "exactly-once: outputs and Kafka DLQ entries commit with the input offsets in one Kafka transaction; Parquet files appear only once their transaction committed",
  }),
  PIPELINE_TXN_INTERVAL_MS: int(1_000, {
    section: "worker",
    min: 10,
    max: 600_000,
    help: "exactly-once: how long a transaction gathers batches before it commits (so also how often Parquet files roll, and the delay read_committed consumers see)",
  }),
  PIPELINE_TXN_TIMEOUT_MS: int(60_000, {
    section: "worker",
    min: 1_000,
    max: 900_000,
    help: "exactly-once: the broker aborts a transaction open longer; a crashed worker's open transaction holds back read_committed consumers of its outputs until then, or until it restarts",
  }),
  // DLQ
  DLQ_MAX_ENTRY_BYTES: int(900_000, {
    section: "dlq",
    min: 65_536,
    max: 64 * 1024 * 1024,
    help: "largest DLQ entry (JSON bytes); a larger original is cut and marked; lowered to the DLQ topic's `max.message.bytes`",
  }),
  DLQ_REPLAY_LEDGER_TOPIC: str("embeddings_dlq_replayed", {
    section: "dlq",
    help: "compacted topic recording each replayed DLQ entry (`replay --from-dlq`), so none is replayed twice by accident; created on first replay",
  }),
  // Redis
  REDDB_URL: variable<string>(
    { section: "redis", help: "Redis; an empty string turns the Redis sinks off" },
    "`redis://127.0.0.1:6379`",
    (raw, name) => {
      const v = raw === undefined ? "redis://127.0.0.1:6379" : raw.trim();
      return v === "" ? "" : checkUrl(name, v, ["redis:", "rediss:", "http:", "https:"]);
    },
  ),
  REDDB_NAMESPACE: str("dspy", { section: "redis", help: "key namespace" }),
  REDDB_TOKEN: optional("", { section: "redis", help: "token for an HTTP RedDB" }),
  REDDB_STREAM: str("embeddings", { section: "redis", help: "stream of embedded records" }),
  REDDB_DLQ_STREAM: str("embeddings_dlq", { section: "redis", help: "DLQ stream" }),
  REDDB_MODE: oneOf("stream", ["stream", "kv", "both"] as const, {
    section: "redis",
    help: "`stream`, `kv` or `both`",
  }),
  REDDB_STREAM_MAXLEN: int(100_000, { section: "redis", min: 1, help: "approximate cap of each stream" }),
  REDDB_DEDUP_TTL_SEC: int(7 * 24 * 3600, {
    section: "redis",
    min: 1,
    help: "how long a doc_id's last stream append is remembered, so redeliveries are not appended twice",
  }),
  // parse
  PARSE_GROUP: str("parse", { section: "parse", help: "consumer group" }),
  PARSE_TEXT_FIELDS: list([...DEFAULT_TEXT_FIELDS], {
    section: "parse",
    help: "JSON fields tried for the text, in order; dotted paths allowed",
  }),
  PARSE_LABEL_FIELDS: list([...DEFAULT_LABEL_FIELDS], {
    section: "parse",
    help: "outcome fields copied into `labels` (scalars only, strings cut to 256 characters; dotted paths allowed; not all digits; rules in pipeline/contracts/extract.ts)",
    // JavaScript orders integer-like keys first, Python keeps insertion order: refuse them so
    // both engines write the same bytes.
    item: (f, name) => {
      if (/^\d+$/.test(f)) throw new ConfigError(name, `a label field cannot be all digits (${f})`);
      return f;
    },
  }),
  PARSE_MAX_TEXT_CHARS: int(8192, {
    section: "parse",
    min: 1,
    help: "longer texts are truncated to this many characters and marked `truncated`",
  }),
  VEC_OUTPUT_DIR: optional("", {
    section: "parse",
    help: "Parquet of parsed rows, both engines (empty = off)",
    up: "<state>/parquet/parsed",
  }),
  PARSE_BATCH_SIZE: int(500, { section: "parse", min: 1, help: "records per batch" }),
  PARSE_MAX_WAIT_SEC: num(0.2, { section: "parse", help: "a partial batch flushes after this long" }),
  PARSE_MAX_BATCH_BYTES: int(8 * 1024 * 1024, {
    section: "parse",
    min: 1024,
    help: "hard ceiling of a batch's input bytes",
  }),
  PARSE_METRICS_HOST: str("127.0.0.1", {
    section: "parse",
    help: "`/health`, `/metrics` address (either engine)",
  }),
  PARSE_METRICS_PORT: int(9102, { section: "parse", min: 0, max: 65535, help: "`/health`, `/metrics` port" }),
  PARSE_ENGINE: oneOf("bun", ["bun", "spark"] as const, {
    section: "parse",
    help: "`bun` (the parse worker) or `spark` (the Spark job; what `up --spark` sets)",
  }),
  // Spark
  SPARK_VERSION: str("4.1.1", {
    section: "spark",
    help: "pyspark (PyPI) and `spark-sql-kafka-0-10_2.13` (Maven Central) release",
  }),
  SPARK_MASTER: str("local[2]", {
    section: "spark",
    help: "Spark master of the job: `local[N]` in the job's process, or `spark://host:port` of a standalone cluster (on 127.0.0.1 `up --spark` starts its master and one worker)",
  }),
  SPARK_DRIVER_MEMORY: str("1g", { section: "spark", help: "driver memory" }),
  SPARK_EXECUTOR_MEMORY: str("512m", {
    section: "spark",
    help: "memory of each executor on a standalone cluster",
  }),
  SPARK_MASTER_WEBUI_PORT: int(8088, {
    section: "spark",
    min: 1,
    max: 65535,
    help: "the local standalone master's web UI (`/json/` lists its workers and applications)",
  }),
  SPARK_WORKER_WEBUI_PORT: int(8089, {
    section: "spark",
    min: 1,
    max: 65535,
    help: "the local standalone worker's web UI",
  }),
  SPARK_WORKER_CORES: int(2, {
    section: "spark",
    min: 1,
    max: 1024,
    help: "cores the local standalone worker offers",
  }),
  SPARK_WORKER_MEMORY: str("1g", {
    section: "spark",
    help: "memory the local standalone worker offers its executors",
  }),
  SPARK_UI_PORT: int(4041, {
    section: "spark",
    min: 1,
    max: 65535,
    help: "the driver's UI and REST API on 127.0.0.1 (no fallback to the next port)",
  }),
  VEC_CHECKPOINT: str((get) => join(get("EMBED_STATE_DIR"), "spark", "checkpoint"), {
    section: "spark",
    doc: "`<state>/spark/checkpoint`",
    help: "the job's checkpoint folder",
  }),
  SPARK_TRIGGER_SEC: num(1, { section: "spark", help: "micro-batch interval (0 = back to back)" }),
  SPARK_STARTING_OFFSETS: optional("", {
    section: "spark",
    help: "where a job without a checkpoint starts: `earliest`, `latest` or Spark's per-partition JSON; empty = the parse group's committed offsets, else earliest",
  }),
  SPARK_MAX_OFFSETS_PER_TRIGGER: int(0, {
    section: "spark",
    min: 0,
    help: "records per micro-batch at most (0 = no limit)",
  }),
  // embed worker
  EMBED_GROUP: str("embed-worker", { section: "embed", help: "consumer group" }),
  EMBED_MODEL: str("sentence-transformers/all-MiniLM-L6-v2", {
    section: "embed",
    help: "model requested (one of `INFERMESH_MODELS`)",
  }),
  EMBED_BATCH_SIZE: int(512, {
    section: "embed",
    min: 1,
    max: 100_000,
    help: "records per batch; 512 since a batch's produce, not InferMesh, bounds the rate (hash-384, Kafka only: ~2× the records/s and ~25 % less CPU per record than 64; docs/benchmark-notes.md)",
  }),
  EMBED_BATCH_ADAPTIVE: bool(false, {
    section: "embed",
    help: "batch size follows InferMesh's round trip and errors (AIMD) between EMBED_BATCH_MIN and EMBED_BATCH_MAX, starting at EMBED_BATCH_SIZE",
  }),
  EMBED_BATCH_MIN: int(8, { section: "embed", min: 1, max: 100_000, help: "smallest adaptive batch" }),
  EMBED_BATCH_MAX: int(1024, { section: "embed", min: 1, max: 100_000, help: "largest adaptive batch" }),
  EMBED_BATCH_TARGET_MS: num(500, {
    section: "embed",
    min: 1,
    help: "adaptive batching: a slower InferMesh round trip shrinks the batch",
  }),
  EMBED_MAX_WAIT_SEC: num(0.5, { section: "embed", help: "a partial batch flushes after this long" }),
  EMBED_MAX_BATCH_BYTES: int(4 * 1024 * 1024, {
    section: "embed",
    min: 1024,
    help: "hard ceiling of a batch's input bytes",
  }),
  EMBED_NORMALIZE: bool(false, { section: "embed", help: "scale vectors to unit length" }),
  EMBED_CACHE_TTL: num(300, { section: "embed", help: "cache lifetime, seconds" }),
  EMBED_CACHE_MAX: int(200_000, { section: "embed", min: 0, help: "cache size, entries" }),
  EMBED_CACHE_WARMUP: int(0, {
    section: "embed",
    min: 0,
    help: "rows loaded from the worker's Parquet at start",
  }),
  EMBED_WRITE_PARQUET: bool(false, { section: "embed", help: "Parquet sink on/off", up: "1" }),
  EMBED_PARQUET_DIR: str("/workspace/vectorized/embeddings_imesh", {
    section: "embed",
    help: "Parquet folder",
    up: "<state>/parquet/embeddings",
  }),
  EMBED_METRICS_HOST: str("127.0.0.1", { section: "embed", help: "`/health`, `/metrics` address" }),
  EMBED_METRICS_PORT: int(9100, {
    section: "embed",
    min: 0,
    max: 65535,
    help: "`/health`, `/metrics` port",
    up: "9101",
  }),
  // InferMesh
  INFERMESH_URL: list(["http://127.0.0.1:9000"], {
    section: "infermesh",
    help: "embedding service of the embed worker; a comma list spreads requests over several",
    item: (u, name) => checkUrl(name, u, HTTP),
  }),
  INFERMESH_CONCURRENCY: int(2, {
    section: "infermesh",
    min: 1,
    max: 256,
    help: "requests in flight per embed batch (the batch is split across them and the URLs)",
  }),
  INFERMESH_API_KEY: optional("", { section: "infermesh", help: "bearer token (client and server)" }),
  INFERMESH_TIMEOUT_SEC: num(30, { section: "infermesh", min: 0.001, help: "per-call timeout" }),
  INFERMESH_RETRIES: int(2, {
    section: "infermesh",
    min: 0,
    max: 100,
    help: "quick retries per call (3 attempts)",
  }),
  INFERMESH_BACKOFF_SEC: num(0.5, {
    section: "infermesh",
    help: "first backoff of a call's quick retries, doubled per attempt, with jitter",
  }),
  INFERMESH_MAX_BACKOFF_SEC: num(10, {
    section: "infermesh",
    help: "longest backoff of a call's quick retries",
  }),
  INFERMESH_HOST: str("127.0.0.1", { section: "infermeshServer", help: "where the local InferMesh listens" }),
  INFERMESH_PORT: int(9000, {
    section: "infermeshServer",
    min: 0,
    max: 65535,
    help: "its port (0 = any free one)",
  }),
  INFERMESH_MODELS: list(
    [
      "sentence-transformers/all-MiniLM-L6-v2",
      "sentence-transformers/all-MiniLM-L6-v2-int8",
      "glove-100d-sif",
      "hash-384",
    ],
    { section: "infermeshServer", help: "models it serves (the first is its default)" },
  ),
  INFERMESH_PROCESSES: int(1, {
    section: "infermeshServer",
    min: 1,
    max: 64,
    help: "server processes sharing its port (SO_REUSEPORT), each with every model",
  }),
  INFERMESH_THREADS: int(
    (get) => Math.max(1, Math.floor(availableParallelism() / get("INFERMESH_PROCESSES"))),
    {
      section: "infermeshServer",
      min: 1,
      max: 1024,
      doc: "cores ÷ `INFERMESH_PROCESSES`",
      help: "onnxruntime intra-op threads per process (MiniLM models)",
    },
  ),
  INFERMESH_MAX_BATCH: int(32, {
    section: "infermeshServer",
    min: 1,
    max: 100_000,
    help: "texts per model batch (concurrent requests share batches)",
  }),
  INFERMESH_MAX_BATCH_TOKENS: int(8192, {
    section: "infermeshServer",
    min: 256,
    help: "padded tokens (texts × longest) per model batch",
  }),
  INFERMESH_MAX_INPUTS: int(512, {
    section: "infermeshServer",
    min: 1,
    help: "inputs per request (more → 413)",
  }),
  INFERMESH_MAX_BODY_BYTES: int(8 * 1024 * 1024, {
    section: "infermeshServer",
    min: 1024,
    help: "request body (more → 413)",
  }),
  INFERMESH_MAX_TEXT_CHARS: int(32_768, {
    section: "infermeshServer",
    min: 1,
    help: "characters per input (more → 400)",
  }),
  // Parquet
  PARQUET_ROLL_ROWS: int(10_000, {
    section: "parquet",
    min: 1,
    help: "a Parquet file rolls at this many rows …",
  }),
  PARQUET_ROLL_SEC: num(10, {
    section: "parquet",
    min: 0.01,
    help: "… or at this age, whichever comes first",
  }),
  // indexer
  EMB_INDEX_TOPIC: str((get) => get("EMBED_OUTPUT_TOPIC"), {
    section: "index",
    doc: "`EMBED_OUTPUT_TOPIC`",
    help: "indexer input",
  }),
  EMB_INDEX_GROUP: str("emb-indexer", { section: "index", help: "consumer group" }),
  REDDB_INDEX_STREAM: str("emb_index", { section: "index", help: "the index's change stream" }),
  EMB_INDEX_SHARDS: int(32, { section: "index", min: 1, max: 4096, help: "shards" }),
  EMB_SHARD_MAX_IDS: int(5000, {
    section: "index",
    min: 1,
    help: "ids kept per shard (the oldest are evicted)",
  }),
  EMB_INDEX_TEXT_MAX_CHARS: int(2000, {
    section: "index",
    min: 0,
    help: "text kept with each indexed vector",
  }),
  EMB_INDEX_BATCH_SIZE: int(256, { section: "index", min: 1, help: "records per batch" }),
  EMB_INDEX_MAX_WAIT_SEC: num(0.2, { section: "index", help: "a partial batch flushes after this long" }),
  EMB_INDEX_MAX_BATCH_BYTES: int(16 * 1024 * 1024, {
    section: "index",
    min: 1024,
    help: "hard ceiling of a batch's input bytes",
  }),
  INDEX_METRICS_HOST: str("127.0.0.1", { section: "index", help: "`/health`, `/metrics` address" }),
  INDEX_METRICS_PORT: int(9103, { section: "index", min: 0, max: 65535, help: "`/health`, `/metrics` port" }),
  // backend
  BACKEND_HOST: str("127.0.0.1", { section: "backend", help: "address to bind" }),
  BACKEND_PORT: int(8080, { section: "backend", min: 0, max: 65535, help: "port" }),
  BACKEND_TOKEN: optional("", {
    section: "backend",
    help: "bearer token required on every backend endpoint (empty = open); the console sends it",
  }),
  BACKEND_MAX_BODY_BYTES: int(1024 * 1024, {
    section: "backend",
    min: 1024,
    help: "larger request bodies → 413",
  }),
  SPARK_VECTOR_UI_URL: str((get) => `http://127.0.0.1:${get("SPARK_UI_PORT")}/api/v1`, {
    section: "backend",
    doc: "`http://127.0.0.1:<SPARK_UI_PORT>/api/v1`",
    help: "Spark REST API polled by the backend",
  }),
  BACKEND_ALLOW_DLQ_REPLAY: bool(false, {
    section: "backend",
    help: "serve `POST /api/dlq/replay` (the console's replay action); off: it answers 403",
  }),
  REDDB_DLQ_HTTP_PATH: optional("", {
    section: "backend",
    help: "DLQ read path on an HTTP RedDB (placeholders `{ns}`, `{stream}`, `{limit}`)",
  }),
  KNN_QUANTIZED: bool(true, {
    section: "backend",
    help: "keep an int8 copy of the vectors (per-vector scale) and search it first, rescoring the best KNN_RESCORE_FACTOR × k exactly in float32; a query with `exact: true` scans the float32 vectors",
  }),
  KNN_RESCORE_FACTOR: int(DEFAULT_RESCORE_FACTOR, {
    section: "backend",
    min: 1,
    max: 100,
    help: "candidates per neighbour rescored exactly after the int8 scan (recall@10 against exact search: `npm run bench -- --only knn`)",
  }),
  BACKEND_ROLE: oneOf("node", ["node", "router"] as const, {
    section: "backend",
    help: "`node`: holds the vectors of BACKEND_SHARDS and answers from them; `router`: holds none, fans each kNN query and the shard stats out to BACKEND_OWNERS and merges them",
  }),
  BACKEND_SHARDS: variable<number[] | null>(
    {
      section: "backend",
      help: "the shards this node loads and answers for, e.g. `0-15` or `0-3,7` (empty = every shard); its answers are marked `partial` with the others as `missing_shards`",
    },
    "_(empty)_",
    (raw, name, get) => {
      if (blank(raw)) return null;
      let shards: number[];
      try {
        shards = parseShardList(raw as string);
      } catch (err) {
        throw new ConfigError(name, (err as Error).message);
      }
      const n = get("EMB_INDEX_SHARDS") as number;
      const over = shards.filter((x) => x >= n);
      if (over.length > 0)
        throw new ConfigError(name, `shard ${over[0]} is not below EMB_INDEX_SHARDS (${n})`);
      return shards;
    },
  ),
  BACKEND_OWNERS: list([], {
    section: "backend",
    help: "router: base URLs of the nodes that own the shards, comma list (e.g. `http://10.0.0.5:8080,http://10.0.0.6:8080`)",
    item: (u, name) => checkUrl(name, u, HTTP),
  }),
  BACKEND_OWNER_TIMEOUT_MS: int(3000, {
    section: "backend",
    min: 50,
    max: 600_000,
    help: "router: how long it waits for each owner; an owner that fails or takes longer is reported, with its shards in `missing_shards`",
  }),
  // Local stack
  EMBED_STATE_DIR: path(
    (get) => join(get("XDG_STATE_HOME") || join(homedir(), ".local", "state"), "rl-embeddings"),
    {
      section: "local",
      doc: "`~/.local/state/rl-embeddings`",
      help: "state, data, logs, pid records, Parquet under `up` (`<state>`)",
    },
  ),
  EMBED_CACHE_DIR: path((get) => join(get("XDG_CACHE_HOME") || join(homedir(), ".cache"), "rl-embeddings"), {
    section: "local",
    doc: "`~/.cache/rl-embeddings`",
    help: "downloaded jars, model cache, Spark venv, test venv",
  }),
  KAFKA_VERSION: str("4.1.1", {
    section: "local",
    help: "Kafka release fetched from Maven Central for the embedded broker",
  }),
  KAFKA_HEAP: str("512m", { section: "local", help: "its JVM heap (`-Xms`/`-Xmx`), per broker" }),
  KAFKA_BROKERS: int(1, {
    section: "local",
    min: 1,
    max: 9,
    help: "brokers of the embedded KRaft cluster (`up --brokers`); with one `KAFKA_BOOTSTRAP_SERVERS` address `host:p`, they listen on `p` … `p+N-1`",
  }),
  EMBED_START_TIMEOUT_SEC: num(90, {
    section: "local",
    min: 1,
    help: "how long `up` waits for each component's health",
  }),
  // Logging
  LOG_LEVEL: oneOf("info", ["debug", "info", "warn", "error"] as const, {
    section: "logging",
    help: "`debug`, `info`, `warn`, `error`",
  }),
} satisfies Record<string, Variable>;

export type VariableName = keyof typeof VARIABLES;
type ValueOf<N extends VariableName> = (typeof VARIABLES)[N] extends Variable<infer T> ? T : never;

/** Environment variables read only to compute defaults (not the project's own). */
const AMBIENT = new Set(["XDG_STATE_HOME", "XDG_CACHE_HOME"]);

export function loadConfig(env: Env = process.env) {
  const cache = new Map<string, unknown>();
  const v = <N extends VariableName>(name: N): ValueOf<N> => {
    if (AMBIENT.has(name)) return (env[name] ?? "") as ValueOf<N>;
    if (cache.has(name)) return cache.get(name) as ValueOf<N>;
    const spec = VARIABLES[name] as Variable<ValueOf<N>>;
    // An alias is read when the name is unset or blank.
    const used = [name, ...(spec.aliases ?? [])].find((n) => !blank(env[n])) ?? name;
    const value = spec.read(env[used], used, v);
    cache.set(name, value);
    return value;
  };

  const infermeshUrls = v("INFERMESH_URL");
  if (v("EMBED_BATCH_ADAPTIVE") && v("EMBED_BATCH_MIN") > v("EMBED_BATCH_MAX")) {
    throw new ConfigError(
      "EMBED_BATCH_MIN",
      `${v("EMBED_BATCH_MIN")} is above EMBED_BATCH_MAX (${v("EMBED_BATCH_MAX")})`,
    );
  }
  if (v("BACKEND_ROLE") === "router" && v("BACKEND_OWNERS").length === 0)
    throw new ConfigError("BACKEND_OWNERS", "BACKEND_ROLE=router needs the owners' URLs");
  if (v("KAFKA_MIN_INSYNC_REPLICAS") > v("KAFKA_REPLICATION_FACTOR")) {
    throw new ConfigError(
      "KAFKA_MIN_INSYNC_REPLICAS",
      `${v("KAFKA_MIN_INSYNC_REPLICAS")} is above KAFKA_REPLICATION_FACTOR (${v("KAFKA_REPLICATION_FACTOR")}): no write could succeed`,
    );
  }
  const stateDir = v("EMBED_STATE_DIR");
  return {
    kafka: {
      brokers: bootstrapList(v("KAFKA_BOOTSTRAP_SERVERS"), v("KAFKA_BROKERS")),
      clientId: v("KAFKA_CLIENT_ID"),
      /** Partitions for topics the project creates. */
      partitions: v("KAFKA_TOPIC_PARTITIONS"),
      replicationFactor: v("KAFKA_REPLICATION_FACTOR"),
      minInsyncReplicas: v("KAFKA_MIN_INSYNC_REPLICAS"),
      sessionTimeoutMs: v("KAFKA_SESSION_TIMEOUT_MS"),
      heartbeatIntervalMs: v("KAFKA_HEARTBEAT_INTERVAL_MS"),
      lagPollSec: v("KAFKA_LAG_POLL_SEC"),
    },
    topics: {
      source: v("SPARK_KAFKA_TOPICS"),
      input: v("SINK_INPUT_TOPIC"),
      output: v("EMBED_OUTPUT_TOPIC"),
      dlq: v("EMBED_DLQ_TOPIC"),
    },
    /** The runner of every worker: backoff of transient faults (retries are unbounded). */
    worker: {
      backoffSec: v("WORKER_BACKOFF_SEC"),
      maxBackoffSec: v("WORKER_MAX_BACKOFF_SEC"),
      instanceId: v("WORKER_INSTANCE_ID"),
      exactlyOnce: {
        on: v("PIPELINE_EXACTLY_ONCE"),
        intervalMs: v("PIPELINE_TXN_INTERVAL_MS"),
        timeoutMs: v("PIPELINE_TXN_TIMEOUT_MS"),
      },
    },
    dlq: { maxEntryBytes: v("DLQ_MAX_ENTRY_BYTES"), replayLedgerTopic: v("DLQ_REPLAY_LEDGER_TOPIC") },
    /** The local InferMesh-compatible server (pipeline/infermesh). */
    infermeshServer: {
      host: v("INFERMESH_HOST"),
      port: v("INFERMESH_PORT"),
      models: v("INFERMESH_MODELS"),
      apiKey: v("INFERMESH_API_KEY"),
      maxInputs: v("INFERMESH_MAX_INPUTS"),
      maxBodyBytes: v("INFERMESH_MAX_BODY_BYTES"),
      maxTextChars: v("INFERMESH_MAX_TEXT_CHARS"),
      processes: v("INFERMESH_PROCESSES"),
      threads: v("INFERMESH_THREADS"),
      maxBatch: v("INFERMESH_MAX_BATCH"),
      maxBatchTokens: v("INFERMESH_MAX_BATCH_TOKENS"),
    },
    /** The embed worker (client side of InferMesh, batching, cache, sinks). */
    embed: {
      group: v("EMBED_GROUP"),
      infermeshUrl: infermeshUrls[0] as string,
      infermeshUrls,
      concurrency: v("INFERMESH_CONCURRENCY"),
      model: v("EMBED_MODEL"),
      apiKey: v("INFERMESH_API_KEY"),
      timeoutSec: v("INFERMESH_TIMEOUT_SEC"),
      retries: v("INFERMESH_RETRIES"),
      backoffSec: v("INFERMESH_BACKOFF_SEC"),
      maxBackoffSec: v("INFERMESH_MAX_BACKOFF_SEC"),
      batchSize: v("EMBED_BATCH_SIZE"),
      adaptive: {
        on: v("EMBED_BATCH_ADAPTIVE"),
        min: v("EMBED_BATCH_MIN"),
        max: v("EMBED_BATCH_MAX"),
        targetMs: v("EMBED_BATCH_TARGET_MS"),
      },
      maxWaitSec: v("EMBED_MAX_WAIT_SEC"),
      maxBatchBytes: v("EMBED_MAX_BATCH_BYTES"),
      writeParquet: v("EMBED_WRITE_PARQUET"),
      parquetDir: v("EMBED_PARQUET_DIR"),
      normalize: v("EMBED_NORMALIZE"),
      cacheTtlSec: v("EMBED_CACHE_TTL"),
      cacheMax: v("EMBED_CACHE_MAX"),
      cacheWarmup: v("EMBED_CACHE_WARMUP"),
      metricsHost: v("EMBED_METRICS_HOST"),
      metricsPort: v("EMBED_METRICS_PORT"),
    },
    /** The indexer: `embeddings` → sharded kNN layout in Redis. */
    index: {
      topic: v("EMB_INDEX_TOPIC"),
      group: v("EMB_INDEX_GROUP"),
      stream: v("REDDB_INDEX_STREAM"),
      shards: v("EMB_INDEX_SHARDS"),
      maxIdsPerShard: v("EMB_SHARD_MAX_IDS"),
      textMaxChars: v("EMB_INDEX_TEXT_MAX_CHARS"),
      batchSize: v("EMB_INDEX_BATCH_SIZE"),
      maxWaitSec: v("EMB_INDEX_MAX_WAIT_SEC"),
      maxBatchBytes: v("EMB_INDEX_MAX_BATCH_BYTES"),
      metricsHost: v("INDEX_METRICS_HOST"),
      metricsPort: v("INDEX_METRICS_PORT"),
    },
    /** The backend: kNN queries, shard stats, DLQ tail, SSE streams. */
    backend: {
      host: v("BACKEND_HOST"),
      port: v("BACKEND_PORT"),
      token: v("BACKEND_TOKEN"),
      sparkUiUrl: checkUrl("SPARK_VECTOR_UI_URL", v("SPARK_VECTOR_UI_URL"), HTTP),
      dlqHttpPath: v("REDDB_DLQ_HTTP_PATH"),
      maxBodyBytes: v("BACKEND_MAX_BODY_BYTES"),
      allowDlqReplay: v("BACKEND_ALLOW_DLQ_REPLAY"),
      role: v("BACKEND_ROLE"),
      /** The shards a node owns; null = every shard. */
      shards: v("BACKEND_SHARDS"),
      owners: v("BACKEND_OWNERS"),
      ownerTimeoutMs: v("BACKEND_OWNER_TIMEOUT_MS"),
      knn: { quantized: v("KNN_QUANTIZED"), rescoreFactor: v("KNN_RESCORE_FACTOR") },
    },
    /** Parquet files (embed worker and parse) roll at this many rows or this age, whichever comes first. */
    parquet: { rollRows: v("PARQUET_ROLL_ROWS"), rollSec: v("PARQUET_ROLL_SEC") },
    /** The parse worker (Bun replacement of the seed's Spark job). */
    parse: {
      group: v("PARSE_GROUP"),
      textFields: v("PARSE_TEXT_FIELDS"),
      labelFields: v("PARSE_LABEL_FIELDS"),
      maxTextChars: v("PARSE_MAX_TEXT_CHARS"),
      outputDir: v("VEC_OUTPUT_DIR"),
      batchSize: v("PARSE_BATCH_SIZE"),
      maxWaitSec: v("PARSE_MAX_WAIT_SEC"),
      maxBatchBytes: v("PARSE_MAX_BATCH_BYTES"),
      metricsHost: v("PARSE_METRICS_HOST"),
      metricsPort: v("PARSE_METRICS_PORT"),
    },
    /**
     * The Spark parse job (`up --spark`, pipeline/spark/spark_vectorize.py): the same rules,
     * topics, DLQ and Parquet settings as the Bun parse worker, and its /health and /metrics
     * on the parse worker's address.
     */
    spark: {
      engine: v("PARSE_ENGINE"),
      version: v("SPARK_VERSION"),
      master: v("SPARK_MASTER"),
      driverMemory: v("SPARK_DRIVER_MEMORY"),
      executorMemory: v("SPARK_EXECUTOR_MEMORY"),
      standalone: {
        masterWebUiPort: v("SPARK_MASTER_WEBUI_PORT"),
        workerWebUiPort: v("SPARK_WORKER_WEBUI_PORT"),
        workerCores: v("SPARK_WORKER_CORES"),
        workerMemory: v("SPARK_WORKER_MEMORY"),
      },
      uiPort: v("SPARK_UI_PORT"),
      checkpoint: v("VEC_CHECKPOINT"),
      triggerSec: v("SPARK_TRIGGER_SEC"),
      startingOffsets: v("SPARK_STARTING_OFFSETS"),
      maxOffsetsPerTrigger: v("SPARK_MAX_OFFSETS_PER_TRIGGER"),
    },
    redis: {
      url: v("REDDB_URL"),
      namespace: v("REDDB_NAMESPACE"),
      token: v("REDDB_TOKEN"),
      stream: v("REDDB_STREAM"),
      dlqStream: v("REDDB_DLQ_STREAM"),
      mode: v("REDDB_MODE"),
      streamMaxLen: v("REDDB_STREAM_MAXLEN"),
      dedupTtlSec: v("REDDB_DEDUP_TTL_SEC"),
    },
    local: {
      stateDir,
      cacheDir: v("EMBED_CACHE_DIR"),
      kafkaVersion: v("KAFKA_VERSION"),
      kafkaHeap: v("KAFKA_HEAP"),
      /** Brokers of the embedded cluster `up` starts. */
      kafkaBrokers: v("KAFKA_BROKERS"),
      startTimeoutSec: v("EMBED_START_TIMEOUT_SEC"),
    },
    logLevel: v("LOG_LEVEL"),
  } as const;
}

export type Config = ReturnType<typeof loadConfig>;

/** What `up` sets for the processes it starts (variables declaring `up`), `<state>` filled in. */
export function stackDefaults(stateDir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, spec] of Object.entries(VARIABLES) as [string, Variable][]) {
    if (spec.up !== undefined) out[name] = spec.up.replace("<state>", stateDir);
  }
  return out;
}

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

/** One documented variable: what the docs and `--help` show. */
export interface VariableDoc {
  name: string;
  section: Section;
  default: string;
  up?: string;
  help: string;
}

/** Every variable, in declaration order, as documented. */
export function variableDocs(sections?: readonly Section[]): VariableDoc[] {
  return (Object.entries(VARIABLES) as [string, Variable][])
    .filter(([, s]) => !sections || sections.includes(s.section))
    .map(([name, s]) => ({ name, section: s.section, default: s.doc, up: s.up, help: s.help }));
}

/**
 * The `Environment` part of a process's `--help`: the variables of its sections (and the
 * single variables `also` names), with their defaults.
 */
export function environmentHelp(sections: readonly Section[], also: readonly VariableName[] = []): string {
  const docs = variableDocs().filter(
    (d) => sections.includes(d.section) || also.includes(d.name as VariableName),
  );
  const w = Math.max(...docs.map((d) => d.name.length));
  const plain = (s: string) => s.replace(/`/g, "").replace(/_\((.*)\)_/, "$1");
  const lines: string[] = [];
  for (const section of Object.keys(SECTIONS) as Section[]) {
    const rows = docs.filter((d) => d.section === section);
    if (rows.length === 0) continue;
    lines.push(`  ${plain(SECTIONS[section])}:`);
    for (const d of rows) {
      const def = d.default ? ` (default ${plain(d.default)}${d.up ? `; up: ${plain(d.up)}` : ""})` : "";
      lines.push(`    ${d.name.padEnd(w)}  ${plain(d.help)}${def}`);
    }
  }
  return lines.join("\n");
}
