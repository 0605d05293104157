/**
 * The console's state: what the sources last heard from the backend (per stream and per
 * HTTP feed, with link state and "down since"), rolling series for the charts, and the UI
 * state driven by the keys. Plain data; only the reducer changes it.
 */

import type { DlqReplayAnswer, DlqReplayRequest } from "../../pipeline/contracts/dlq-replay.ts";
import type {
  KnnResult as KnnAnswer,
  Neighbor as KnnNeighbor,
  ShardStats,
} from "../../pipeline/contracts/knn.ts";
import type {
  FolderEventStats,
  InfermeshEvent,
  SparkEvent,
  SparkStreaming,
  StreamName,
  WorkerRates,
} from "../../pipeline/contracts/streams.ts";
import type { UncheckedMetrics } from "../../pipeline/contracts/worker-metrics.ts";

export {
  STREAM_PATHS,
  STREAMS,
  type StreamName,
  WORKERS,
  type WorkerName,
  type WorkerRates,
} from "../../pipeline/contracts/streams.ts";

/** A wire shape as the decoder hands it on: the fields `K`, when missing or mistyped, are null. */
type OrNull<T, K extends keyof T> = Omit<T, K> & { [P in K]: T[P] | null };

/** State of one connection (an event stream or an HTTP feed). */
export interface Link {
  status: "connecting" | "up" | "down";
  /** When the current status began, epoch ms. */
  since: number;
  /** Last error while down. */
  error?: string;
  /** Next reconnect attempt, epoch ms (while down). */
  retryAt?: number;
}

/**
 * Figures the sources derive from successive worker snapshots (the backend only sends the
 * four `rates`): rates of other counters and ratios over the last interval.
 */
export interface WorkerDerived {
  retries_per_sec: number | null;
  infermesh_failures_per_sec: number | null;
  /** Cache hits / lookups since the previous snapshot; null without lookups. */
  cache_hit_ratio_recent: number | null;
  /** Cache hits / lookups since the worker started. */
  cache_hit_ratio_total: number | null;
  parquet_rows_per_sec: number | null;
  parquet_bytes_per_sec: number | null;
  truncated_per_sec: number | null;
  indexed_per_sec: number | null;
  evicted_per_sec: number | null;
  /** `retries_by_kind` keys that grew since the previous snapshot (what is failing now). */
  retrying: string[];
}

/** A worker stream event as the console keeps it. */
export type WorkerSnapshot =
  | {
      reachable: true;
      /** As the worker sent it: each figure is checked where it is read. */
      metrics: UncheckedMetrics;
      rates: WorkerRates;
      derived: WorkerDerived;
      timestamp: number | null;
    }
  | { reachable: false; detail: string | null; timestamp: number | null };

export interface InfermeshSnapshot {
  status: InfermeshEvent["infermesh"]["status"];
  rtt_ms: number | null;
  http_status: number | null;
  error: string | null;
  rows_est: number | null;
  rows_per_sec: number | null;
  timestamp: number | null;
}

export type FolderStats = OrNull<
  Omit<FolderEventStats, "unreadable" | "error"> & { error: string },
  "files" | "bytes" | "rows_est" | "error"
>;

export interface VectorizerSnapshot {
  stats: FolderStats;
  rate_rows_per_sec: number | null;
  rate_bytes_per_sec: number | null;
  folders: Record<string, FolderStats>;
  timestamp: number | null;
}

export interface SparkExecutor {
  id: string;
  hostPort: string;
  totalCores: number | null;
  maxMemory: number | null;
  memoryUsed: number | null;
  activeTasks: number | null;
  completedTasks: number | null;
  failedTasks: number | null;
}

export interface SparkJob {
  jobId: number | null;
  name: string;
  status: string;
  numTasks: number | null;
  numCompletedTasks: number | null;
  numFailedTasks: number | null;
}

export type SparkSnapshot =
  | {
      status: Exclude<SparkEvent["status"], "unreachable">;
      applicationId: string | null;
      applicationName: string | null;
      master: string | null;
      applications: number;
      executors: SparkExecutor[];
      jobs: SparkJob[];
      stages: number;
      cluster: { cores_total: number | null; memory_max: number | null; memory_used: number | null };
      streaming: Pick<SparkStreaming, "input_rate" | "processing_rate" | "batch_duration_ms">;
      timestamp: number | null;
    }
  | { status: "unreachable"; error: string; timestamp: number | null };

/** Payload of each stream after decoding. */
export interface StreamData {
  infermesh: InfermeshSnapshot;
  vectorizer: VectorizerSnapshot;
  "embed-worker": WorkerSnapshot;
  parse: WorkerSnapshot;
  indexer: WorkerSnapshot;
  spark: SparkSnapshot;
}

export interface StreamSlot<K extends StreamName> {
  link: Link;
  last?: StreamData[K];
  /** When `last` arrived, epoch ms. */
  at?: number;
  /** When the component behind this stream was first seen down in the current outage, epoch ms. */
  componentDownSince?: number;
}

export type Streams = { [K in StreamName]: StreamSlot<K> };

/** `GET /api/knn/shards`. */
export type ShardsInfo = OrNull<ShardStats, "total_ids" | "nonempty">;

/** One DLQ entry (`GET /api/embed-worker/dlq`), fields as sent. */
export type DlqEntry = Record<string, unknown>;

/** A result of an HTTP feed. */
export interface Fetched<T> {
  link: Link;
  data?: T;
  /** When `data` arrived, epoch ms. */
  at?: number;
}

/** A kNN neighbour (`POST /api/knn/query`). */
export type Neighbor = OrNull<KnnNeighbor, "model">;

export type KnnResult = OrNull<Omit<KnnAnswer, "neighbors">, "count_scored" | "took_ms" | "model"> & {
  neighbors: Neighbor[];
};

/** Names of the rolling series behind charts and sparklines. */
export type SeriesKey =
  | "embed.in"
  | "embed.out"
  | "embed.rtt"
  | "parse.in"
  | "parse.out"
  | "index.out"
  | "vec.rows"
  | "vec.bytes"
  | "spark.input"
  | "spark.processing";

export interface Point {
  /** Epoch ms. */
  t: number;
  v: number;
}

export type ViewId = "overview" | "spark" | "vectorizer" | "embed" | "index" | "dlq" | "knn";

export const VIEWS: readonly { id: ViewId; key: string; title: string; short: string }[] = [
  { id: "overview", key: "1", title: "Overview", short: "Ovw" },
  { id: "spark", key: "2", title: "Spark", short: "Spk" },
  { id: "vectorizer", key: "3", title: "Vectorizer", short: "Vec" },
  { id: "embed", key: "4", title: "Embed", short: "Emb" },
  { id: "index", key: "5", title: "Index", short: "Idx" },
  { id: "dlq", key: "6", title: "DLQ", short: "DLQ" },
  { id: "knn", key: "7", title: "kNN", short: "kNN" },
];

export interface KnnState {
  status: "idle" | "pending" | "done" | "error";
  /** The prompt text that produced the current result. */
  query: string;
  result?: KnnResult;
  error?: string;
  selected: number;
  /** Sequence number of the newest query; older answers are ignored. */
  seq: number;
}

/** A DLQ replay the operator asked for (only with actions allowed), until it is done or cancelled. */
export interface ReplayUi {
  /** `preview`: asking the backend for a dry run; `confirm`: waiting for y/n; `running`: replaying. */
  phase: "preview" | "confirm" | "running";
  /** What is replayed, in words ("the selected entry …", "stage embed, reason rejected"). */
  label: string;
  request: DlqReplayRequest;
  /** The dry run's answer: what would be sent, skipped, already replayed. */
  preview?: DlqReplayAnswer;
}

export interface UiState {
  view: ViewId;
  help: { open: boolean; scroll: number };
  focus: "none" | "prompt";
  prompt: string;
  /** Submitted prompts, oldest first (no consecutive duplicates). */
  history: string[];
  /** Position while browsing history (index into `history`), null when editing. */
  historyIndex: number | null;
  /** What was typed before browsing history began. */
  draft: string;
  k: number;
  knn: KnnState;
  dlq: {
    selected: number;
    /** Identity of the selected entry, so the selection follows it as new entries arrive. */
    selectedKey: string | null;
    /** The entry opened in full (a copy: later refreshes do not change it). */
    detail: { scroll: number; entry: DlqEntry } | null;
    /** The replay being confirmed or run, else null. */
    replay: ReplayUi | null;
  };
  index: { selected: number };
  notice?: { text: string; kind: "info" | "error"; at: number };
}

export interface State {
  /** The backend's address, for messages. */
  backendUrl: string;
  /** Started with `--allow-actions` (or TUI_ALLOW_ACTIONS=1): actions that change the pipeline are offered. */
  allowActions: boolean;
  /** Latest clock reading seen by the reducer, epoch ms. */
  now: number;
  /** `GET /health`. */
  backend: Fetched<{ rtt_ms: number }>;
  streams: Streams;
  shards: Fetched<ShardsInfo>;
  dlq: Fetched<{ items: DlqEntry[]; count: number }>;
  series: Record<SeriesKey, Point[]>;
  ui: UiState;
}
