/**
 * What each worker serves on `/metrics` (JSON), by name: the runner's figures every worker
 * has, plus each stage's own. Workers write them through a {@link MetricsOf} typed by these
 * names; the backend passes the object on in its worker streams, and the console reads it
 * with the same names (tolerantly: a figure may be missing or of another type in an older
 * worker's payload).
 *
 * Counters only grow while the process lives (a restart resets them, `started_ts` tells);
 * gauges are the latest value; labelled counters are `{label: count}` objects.
 */

/** Counters of the runner, every worker. */
export type RunnerCounter =
  | "batches"
  | "records_in"
  | "records_out"
  | "dlq_records"
  | "retries"
  | "commits"
  | "commit_failures"
  | "durability_failures"
  | "stale_skipped"
  /** Exactly-once: transactions committed, aborted by a rebalance, sent again after a fault. */
  | "txn_commits"
  | "txn_aborts"
  | "txn_resends";

/** Gauges of the runner, every worker. */
export type RunnerGauge =
  | "in_flight"
  | "current_batch_size"
  | "paused"
  | "outage_since"
  | "assigned_partitions"
  | "rebalancing"
  | "last_process_ms"
  | "last_sinks_ms"
  | "last_flush_ts"
  | "lag"
  | "lag_error"
  | "dlq_max_entry_bytes"
  /** Whether the worker runs exactly-once (PIPELINE_EXACTLY_ONCE). */
  | "exactly_once"
  /** Exactly-once: records in the open transaction; the last commit's duration. */
  | "txn_open_records"
  | "txn_last_commit_ms";

/** Labelled counters (and the one labelled gauge, `lag_by_partition`) of the runner. */
export type RunnerLabeled = "dlq_by_reason" | "rejected_by_sink" | "retries_by_kind" | "lag_by_partition";

/** The parse worker's own counters (records whose text was cut). */
export type ParseCounter = "truncated";
/** The embed worker's own counters and gauges. */
export type EmbedCounter = "total_infermesh_calls" | "infermesh_failures";
export type EmbedGauge = "last_infermesh_rtt_ms" | "batch_limit";
/** The indexer's own counters. */
export type IndexCounter = "indexed" | "evicted";

export type Counter = RunnerCounter | ParseCounter | EmbedCounter | IndexCounter;
export type Gauge = RunnerGauge | EmbedGauge;
export type Labeled = RunnerLabeled;

/** Names of the counters the backend turns into the `rates` of a worker stream. */
export const RATED_COUNTERS = ["records_in", "records_out", "batches", "dlq_records"] as const;

/** A Parquet sink's figures (`parquet` of the parse worker and the embed worker). */
export interface ParquetFigures {
  dir: string;
  files_written: number;
  rows_written: number;
  bytes_written: number;
  /** Epoch milliseconds of the last successful roll, or null. */
  last_roll_ts: number | null;
  /** Rows appended and not yet durable. */
  pending_rows: number;
  /** Failed rolls. */
  write_errors: number;
  /** Message of the most recent failed roll (cleared by the next successful one). */
  last_error: string | null;
}

/** The embed worker's cache (`cache`). */
export interface CacheFigures {
  size: number;
  hits: number;
  misses: number;
  evictions: number;
  expired: number;
}

/** What every worker's `/metrics` holds. */
export type RunnerMetrics = { started_ts: number; ts: number } & Record<RunnerCounter, number> & {
    in_flight: number;
    current_batch_size: number;
    paused: boolean;
    /** Epoch seconds of the earliest fault still retried, or null. */
    outage_since: number | null;
    assigned_partitions: number;
    rebalancing: boolean;
    last_process_ms: number;
    last_sinks_ms: number;
    /** Epoch seconds. */
    last_flush_ts: number;
    /** Records behind the high watermarks, as the group's committed offsets say; null when unknown. */
    lag: number | null;
    lag_error: string | null;
    dlq_max_entry_bytes: number;
  } & Record<RunnerLabeled, Record<string, number>>;

export type ParseMetrics = RunnerMetrics &
  Record<ParseCounter, number> & {
    /** `spark` when the Spark job serves the parse address. */
    engine?: "bun" | "spark";
    parquet?: ParquetFigures;
  };

export type EmbedWorkerMetrics = RunnerMetrics &
  Record<EmbedCounter, number> & {
    last_infermesh_rtt_ms: number;
    model: string;
    /** EMBED_BATCH_SIZE (the start, when adaptive). */
    batch_size: number;
    /** Adaptive batching on (EMBED_BATCH_ADAPTIVE). */
    batch_adaptive: boolean;
    /** Records per batch now (the adaptive limit, else EMBED_BATCH_SIZE). */
    batch_limit: number;
    cache: CacheFigures;
    parquet?: ParquetFigures;
  };

export type IndexerMetrics = RunnerMetrics &
  Record<IndexCounter, number> & {
    shards: number;
    max_ids_per_shard: number;
  };

/** Any worker's `/metrics`. */
export type WorkerMetrics = Partial<ParseMetrics & EmbedWorkerMetrics & IndexerMetrics>;

/**
 * The same names as a reader that trusts nothing sees them: every figure may be missing or of
 * another type (a worker of another version), so it is checked where it is used.
 */
export type UncheckedMetrics = { [K in keyof WorkerMetrics]?: unknown };
