/**
 * Turning the backend's JSON into the console's snapshots, tolerantly (a field of the wrong
 * type becomes null, never a crash), plus the figures derived from successive worker
 * snapshots (see {@link WorkerDecoder}).
 */

import { RateTracker } from "../../pipeline/contracts/rates.ts";
import type {
  DlqEntry,
  FolderStats,
  InfermeshSnapshot,
  KnnResult,
  Neighbor,
  ShardsInfo,
  SparkExecutor,
  SparkJob,
  SparkSnapshot,
  StreamData,
  StreamName,
  VectorizerSnapshot,
  WorkerDerived,
  WorkerSnapshot,
} from "../state/types.ts";

type Json = Record<string, unknown>;

export const isRecord = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
export const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === "string" ? v : null);
const rec = (v: unknown): Json => (isRecord(v) ? v : {});
const numRecord = (v: unknown): Record<string, number> =>
  Object.fromEntries(Object.entries(rec(v)).filter((e): e is [string, number] => num(e[1]) !== null));

/** Thrown for a payload that is not a JSON object. */
export class DecodeError extends Error {}

function object(raw: unknown, what: string): Json {
  if (!isRecord(raw)) throw new DecodeError(`${what}: not a JSON object`);
  return raw;
}

export function decodeInfermesh(raw: unknown): InfermeshSnapshot {
  const o = object(raw, "infermesh");
  const im = rec(o.infermesh);
  const status = im.status === "healthy" || im.status === "unhealthy" ? im.status : "unreachable";
  return {
    status,
    rtt_ms: num(im.rtt_ms),
    http_status: num(im.http_status),
    error: str(im.error),
    rows_est: num(o.rows_est),
    rows_per_sec: num(o.rows_per_sec),
    timestamp: num(o.timestamp),
  };
}

function folder(raw: unknown): FolderStats {
  const f = rec(raw);
  return {
    enabled: f.enabled !== false,
    path: str(f.path) ?? "",
    files: num(f.files),
    bytes: num(f.bytes),
    rows_est: num(f.rows_est),
    latest_ts: num(f.latest_ts),
    rate_rows_per_sec: num(f.rate_rows_per_sec),
    rate_bytes_per_sec: num(f.rate_bytes_per_sec),
    error: str(f.error),
  };
}

export function decodeVectorizer(raw: unknown): VectorizerSnapshot {
  const o = object(raw, "vectorizer");
  return {
    stats: folder(o.stats),
    rate_rows_per_sec: num(o.rate_rows_per_sec),
    rate_bytes_per_sec: num(o.rate_bytes_per_sec),
    folders: Object.fromEntries(Object.entries(rec(o.folders)).map(([k, v]) => [k, folder(v)])),
    timestamp: num(o.timestamp),
  };
}

function executor(raw: unknown): SparkExecutor {
  const e = rec(raw);
  return {
    id: str(e.id) ?? String(e.id ?? "?"),
    hostPort: str(e.hostPort) ?? "",
    totalCores: num(e.totalCores),
    maxMemory: num(e.maxMemory),
    memoryUsed: num(e.memoryUsed),
    activeTasks: num(e.activeTasks),
    completedTasks: num(e.completedTasks),
    failedTasks: num(e.failedTasks),
  };
}

function job(raw: unknown): SparkJob {
  const j = rec(raw);
  return {
    jobId: num(j.jobId),
    name: str(j.name) ?? "",
    status: str(j.status) ?? "?",
    numTasks: num(j.numTasks),
    numCompletedTasks: num(j.numCompletedTasks),
    numFailedTasks: num(j.numFailedTasks),
  };
}

export function decodeSpark(raw: unknown): SparkSnapshot {
  const o = object(raw, "spark");
  if (o.status !== "running" && o.status !== "no_application") {
    return { status: "unreachable", error: str(o.error) ?? "unreachable", timestamp: num(o.timestamp) };
  }
  const apps = Array.isArray(o.applications) ? o.applications : [];
  const id = str(o.application_id);
  const app =
    apps.filter(isRecord).find((a) => a.id === id) ?? (apps.filter(isRecord)[0] as Json | undefined);
  const cm = rec(o.cluster_metrics);
  const st = rec(o.streaming);
  return {
    status: o.status,
    applicationId: id ?? str(app?.id),
    applicationName: str(app?.name),
    master: str(o.master),
    applications: apps.length,
    executors: (Array.isArray(o.executors) ? o.executors : []).map(executor),
    jobs: (Array.isArray(o.jobs) ? o.jobs : []).map(job),
    stages: Array.isArray(o.stages) ? o.stages.length : 0,
    cluster: {
      cores_total: num(cm.cores_total),
      memory_max: num(cm.memory_max),
      memory_used: num(cm.memory_used),
    },
    streaming: {
      input_rate: num(st.input_rate),
      processing_rate: num(st.processing_rate),
      batch_duration_ms: num(st.batch_duration_ms),
    },
    timestamp: num(o.timestamp),
  };
}

const ratio = (hits: number | null, misses: number | null): number | null =>
  hits === null || misses === null || hits + misses <= 0 ? null : hits / (hits + misses);

/**
 * Decodes a worker stream and derives, from successive snapshots, the rates the backend does
 * not send (retries, InferMesh failures, Parquet rows and bytes, truncations, index writes),
 * the recent cache hit ratio, and which `retries_by_kind` entries grew. Forgets its history
 * when the worker is unreachable or restarted.
 */
export class WorkerDecoder {
  private readonly counters = new RateTracker([
    "retries",
    "infermesh_failures",
    "cache_hits",
    "cache_misses",
    "parquet_rows",
    "parquet_bytes",
    "truncated",
    "indexed",
    "evicted",
  ] as const);
  private prevRetries: Record<string, number> | undefined;
  private prevStarted: number | null = null;

  decode(raw: unknown, atMs: number): WorkerSnapshot {
    const o = object(raw, "worker");
    const timestamp = num(o.timestamp);
    if (!isRecord(o.metrics)) {
      this.counters.reset();
      this.prevRetries = undefined;
      return { reachable: false, detail: str(o.detail) ?? str(o.error), timestamp };
    }
    const m = o.metrics;
    const started = num(m.started_ts);
    if (started !== this.prevStarted) {
      this.counters.reset();
      this.prevRetries = undefined;
      this.prevStarted = started;
    }
    const parquet = rec(m.parquet);
    const cache = rec(m.cache);
    const hits = num(cache.hits);
    const misses = num(cache.misses);
    const prevHits = this.counters.previous("cache_hits");
    const prevMisses = this.counters.previous("cache_misses");
    const atSec = num(m.ts) ?? timestamp ?? atMs / 1000;
    const r = this.counters.update(
      {
        retries: num(m.retries),
        infermesh_failures: num(m.infermesh_failures),
        cache_hits: hits,
        cache_misses: misses,
        parquet_rows: num(parquet.rows_written),
        parquet_bytes: num(parquet.bytes_written),
        truncated: num(m.truncated),
        indexed: num(m.indexed),
        evicted: num(m.evicted),
      },
      atSec * 1000,
    );
    const retries = numRecord(m.retries_by_kind);
    const retrying = this.prevRetries
      ? Object.keys(retries).filter(
          (k) => (retries[k] ?? 0) > ((this.prevRetries as Record<string, number>)[k] ?? 0),
        )
      : [];
    this.prevRetries = retries;
    const recent =
      hits !== null && misses !== null && prevHits !== undefined && prevMisses !== undefined
        ? ratio(hits - prevHits, misses - prevMisses)
        : null;
    const derived: WorkerDerived = {
      retries_per_sec: r.retries ?? null,
      infermesh_failures_per_sec: r.infermesh_failures ?? null,
      cache_hit_ratio_recent: recent,
      cache_hit_ratio_total: ratio(hits, misses),
      parquet_rows_per_sec: r.parquet_rows ?? null,
      parquet_bytes_per_sec: r.parquet_bytes ?? null,
      truncated_per_sec: r.truncated ?? null,
      indexed_per_sec: r.indexed ?? null,
      evicted_per_sec: r.evicted ?? null,
      retrying,
    };
    const rates = rec(o.rates);
    return {
      reachable: true,
      metrics: m,
      rates: {
        records_in_per_sec: num(rates.records_in_per_sec),
        records_out_per_sec: num(rates.records_out_per_sec),
        batches_per_sec: num(rates.batches_per_sec),
        dlq_per_sec: num(rates.dlq_per_sec),
      },
      derived,
      timestamp,
    };
  }
}

/** A decoder per stream (stateful for the worker streams). */
export function createDecoder<K extends StreamName>(
  stream: K,
): (raw: unknown, atMs: number) => StreamData[K] {
  switch (stream) {
    case "infermesh":
      return decodeInfermesh as (raw: unknown) => StreamData[K];
    case "vectorizer":
      return decodeVectorizer as (raw: unknown) => StreamData[K];
    case "spark":
      return decodeSpark as (raw: unknown) => StreamData[K];
    default: {
      const d = new WorkerDecoder();
      return (raw, atMs) => d.decode(raw, atMs) as StreamData[K];
    }
  }
}

export function decodeShards(raw: unknown): ShardsInfo {
  const o = object(raw, "shards");
  const shards = (Array.isArray(o.shards) ? o.shards : []).filter(isRecord).map((s) => ({
    id: num(s.id) ?? 0,
    count: num(s.count) ?? 0,
    samples: (Array.isArray(s.samples) ? s.samples : []).map(String),
  }));
  return {
    shards,
    total_ids: num(o.total_ids),
    nonempty: num(o.nonempty),
    dims_by_model: numRecord(o.dims_by_model),
    memory: numRecord(o.memory),
  };
}

export function decodeDlq(raw: unknown): { items: DlqEntry[]; count: number } {
  const o = object(raw, "dlq");
  const items = (Array.isArray(o.items) ? o.items : []).filter(isRecord);
  return { items, count: num(o.count) ?? items.length };
}

function neighbor(raw: unknown): Neighbor {
  const n = rec(raw);
  return {
    doc_id: str(n.doc_id) ?? String(n.doc_id ?? ""),
    score: num(n.score) ?? Number.NaN,
    model: str(n.model),
    topic: str(n.topic),
    text: str(n.text) ?? "",
    labels: Object.fromEntries(
      Object.entries(rec(n.labels)).filter(
        (e): e is [string, string | number | boolean | null] =>
          e[1] === null || ["string", "number", "boolean"].includes(typeof e[1]),
      ),
    ),
    success: typeof n.success === "boolean" ? n.success : null,
  };
}

export function decodeKnn(raw: unknown): KnnResult {
  const o = object(raw, "knn");
  const missing = Array.isArray(o.missing_shards)
    ? o.missing_shards.filter((x): x is number => Number.isInteger(x))
    : [];
  return {
    neighbors: (Array.isArray(o.neighbors) ? o.neighbors : []).map(neighbor),
    count_scored: num(o.count_scored),
    took_ms: num(o.took_ms),
    model: str(o.model),
    // A router (or a node owning some shards) that could not search every shard says so.
    ...(o.partial === true ? { partial: true, missing_shards: missing } : {}),
  };
}
