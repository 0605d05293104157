/**
 * The backend's event streams: their names and paths, and the payload of each (`data:` of
 * each SSE event). Field names follow the seed; extra fields are additions. Every
 * `timestamp` (and `latest_ts`) is epoch seconds (float), like the workers' `/health`.
 * The backend produces these; the console decodes them (tolerating older or partial ones).
 */
import type { WorkerMetrics } from "./worker-metrics.ts";

/** The event streams, by the name used throughout the backend and the console. */
export type StreamName = "infermesh" | "vectorizer" | "embed-worker" | "parse" | "indexer" | "spark";

export const STREAM_PATHS: Record<StreamName, string> = {
  infermesh: "/api/infermesh/stream",
  vectorizer: "/api/vectorizer/stream",
  "embed-worker": "/api/embed-worker/stream",
  parse: "/api/parse/stream",
  indexer: "/api/indexer/stream",
  spark: "/api/spark/stream",
};

export const STREAMS = Object.keys(STREAM_PATHS) as readonly StreamName[];

/** The streams of the Kafka workers (`/metrics` of each, with rates). */
export type WorkerName = "parse" | "embed-worker" | "indexer";
export const WORKERS: readonly WorkerName[] = ["parse", "embed-worker", "indexer"];

/** `/api/infermesh/stream`. */
export interface InfermeshEvent {
  infermesh: {
    status: "healthy" | "unhealthy" | "unreachable";
    /** Round trip of `GET /health`, ms; null when unreachable. */
    rtt_ms: number | null;
    /** HTTP status of `/health` when it answered. */
    http_status?: number;
    error?: string;
  };
  /** The embed worker's `records_out` (records embedded so far); null when it is unreachable. */
  rows_est: number | null;
  /** Increase of `records_out` per second since the previous poll; null when unknown. */
  rows_per_sec: number | null;
  timestamp: number;
}

/** Statistics of one Parquet folder (rows from the files' footers). */
export interface FolderEventStats {
  /** A folder is configured for this output. */
  enabled: boolean;
  path: string;
  files: number;
  bytes: number;
  rows_est: number;
  /** Newest file's modification time, epoch seconds; null without files. */
  latest_ts: number | null;
  /** Files whose footer could not be read. */
  unreadable: number;
  rate_rows_per_sec: number | null;
  rate_bytes_per_sec: number | null;
  /** Set when the folder could not be listed (e.g. permissions). */
  error?: string;
}

/** `/api/vectorizer/stream`: `stats` and the top-level rates are the parse output folder's. */
export interface VectorizerEvent {
  stats: FolderEventStats;
  rate_rows_per_sec: number | null;
  rate_bytes_per_sec: number | null;
  timestamp: number;
  folders: Record<string, FolderEventStats>;
}

/** Rates of a worker's counters (per second since the previous poll; null when unknown). */
export interface WorkerRates {
  records_in_per_sec: number | null;
  records_out_per_sec: number | null;
  batches_per_sec: number | null;
  dlq_per_sec: number | null;
}

/** `/api/embed-worker/stream`, `/api/parse/stream`, `/api/indexer/stream`. */
export type WorkerEvent =
  | { metrics: WorkerMetrics; rates: WorkerRates; timestamp: number }
  | { error: "unreachable"; detail: string; timestamp: number };

/** One host of the Spark application's executors. */
export interface SparkWorker {
  host: string;
  executors: number;
  cores: number;
  memory_max: number;
  memory_used: number;
  active_tasks: number;
}

/** Streaming rates from the driver's metrics servlet (or, failing that, the DStreams API). */
export interface SparkStreaming {
  /** Rows per second read by the streaming queries (sum over queries). */
  input_rate: number | null;
  /** Rows per second processed (sum over queries). */
  processing_rate: number | null;
  /** Duration of the last micro-batch, ms (the slowest query's). */
  batch_duration_ms: number | null;
  /** Where the figures came from. */
  source: "metrics" | "dstreams" | null;
  /** Streaming query (or DStreams source) names seen in the metrics. */
  queries: string[];
}

/** `/api/spark/stream` when the REST API answered. */
export interface SparkSnapshot {
  status: "running" | "no_application";
  /** `spark.master` of the running application (from its environment); null when unknown. */
  master: string | null;
  workers: SparkWorker[];
  /** `/applications` as Spark returns it. */
  applications: unknown[];
  /** Id of the application described (the first running one); null without one. */
  application_id: string | null;
  /** `/applications/{id}/executors` as Spark returns it (id, hostPort, totalCores, maxMemory, memoryUsed, …). */
  executors: unknown[];
  /** The newest jobs and stages (at most 50 each), with their summary fields as Spark names them. */
  jobs: unknown[];
  stages: unknown[];
  cluster_metrics: {
    cores_total: number;
    memory_max: number;
    memory_used: number;
    executors: number;
    active_tasks: number;
  };
  streaming: SparkStreaming;
  timestamp: number;
}

/** `/api/spark/stream`: a snapshot, or the REST API could not be reached (never made-up data). */
export type SparkEvent = SparkSnapshot | { status: "unreachable"; error: string; timestamp: number };
