/**
 * The Spark source: a snapshot of the first running application from Spark's monitoring REST
 * API (`{api}/applications`, then its `executors`, `jobs`, `stages`, `environment` and the
 * DStreams-only `streaming/statistics`, which answers 404 for Structured Streaming), plus the
 * driver's metrics servlet (`{ui}/metrics/json`), whose gauges carry the Structured Streaming
 * rates when `spark.sql.streaming.metricsEnabled=true`.
 *
 * When `/applications` cannot be fetched the snapshot says `unreachable`; the other calls are
 * optional and leave their fields empty when they fail. Nothing is ever simulated.
 */
import type { SparkEvent, SparkSnapshot, SparkStreaming, SparkWorker } from "../contracts/streams.ts";
import { nowSec } from "./sources.ts";
import { errorMessage, type FetchFn, getJson } from "./upstream.ts";

type Json = Record<string, unknown>;

const isRecord = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);
const finite = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const records = (v: unknown): Json[] => (Array.isArray(v) ? v.filter(isRecord) : []);

/** True when an application (an element of `/applications`) has an attempt still running. */
function isRunning(app: Json): boolean {
  return records(app.attempts).some((a) => a.completed === false);
}

/** Fields of a job and a stage passed on (Spark's own names); the rest (task metrics, tracebacks) is left out. */
const JOB_FIELDS = [
  "jobId",
  "name",
  "status",
  "submissionTime",
  "completionTime",
  "stageIds",
  "numTasks",
  "numActiveTasks",
  "numCompletedTasks",
  "numSkippedTasks",
  "numFailedTasks",
  "numActiveStages",
  "numCompletedStages",
  "numFailedStages",
];
const STAGE_FIELDS = [
  "stageId",
  "attemptId",
  "name",
  "status",
  "submissionTime",
  "completionTime",
  "numTasks",
  "numActiveTasks",
  "numCompleteTasks",
  "numFailedTasks",
  "executorRunTime",
  "inputRecords",
  "outputRecords",
  "inputBytes",
  "outputBytes",
  "failureReason",
];

/**
 * The newest `max` items by a numeric id field (Spark lists are newest first, but make sure),
 * with only `fields`: a streaming driver's full stage objects are ~3 KB each.
 */
function newest(items: Json[], idField: string, max: number, fields: string[]): Json[] {
  return [...items]
    .sort((a, b) => num(b[idField]) - num(a[idField]))
    .slice(0, max)
    .map((item) => Object.fromEntries(fields.filter((f) => f in item).map((f) => [f, item[f]])));
}

/** Executors grouped by host. */
function workersOf(executors: Json[]): SparkWorker[] {
  const byHost = new Map<string, SparkWorker>();
  for (const e of executors) {
    const hostPort = typeof e.hostPort === "string" ? e.hostPort : "";
    const host = hostPort.includes(":") ? hostPort.slice(0, hostPort.lastIndexOf(":")) : hostPort;
    const w = byHost.get(host) ?? {
      host,
      executors: 0,
      cores: 0,
      memory_max: 0,
      memory_used: 0,
      active_tasks: 0,
    };
    w.executors += 1;
    w.cores += num(e.totalCores);
    w.memory_max += num(e.maxMemory);
    w.memory_used += num(e.memoryUsed);
    w.active_tasks += num(e.activeTasks);
    byHost.set(host, w);
  }
  return [...byHost.values()];
}

const add = (a: number | null, b: number): number => (a ?? 0) + b;

/**
 * Streaming figures from the metrics servlet's gauges whose names contain `spark.streaming`
 * (Structured Streaming: `<app>.driver.spark.streaming.<query>.inputRate-total`,
 * `processingRate-total`, `latency`) or `StreamingMetrics` (DStreams:
 * `…StreamingMetrics.streaming.lastCompletedBatch_processingDelay`). Rates are summed over
 * queries, the batch duration is the slowest query's. Undefined when there is no such gauge.
 */
export function streamingFromMetrics(metrics: unknown): SparkStreaming | undefined {
  const gauges = isRecord(metrics) && isRecord(metrics.gauges) ? metrics.gauges : undefined;
  if (!gauges) return undefined;
  const out: SparkStreaming = {
    input_rate: null,
    processing_rate: null,
    batch_duration_ms: null,
    source: "metrics",
    queries: [],
  };
  const queries = new Set<string>();
  let seen = false;
  for (const [name, gauge] of Object.entries(gauges)) {
    const structured = name.indexOf("spark.streaming.");
    const dstreams = name.indexOf(".StreamingMetrics.");
    if (structured < 0 && dstreams < 0) continue;
    seen = true;
    const value = finite(isRecord(gauge) ? gauge.value : undefined);
    if (structured >= 0) {
      const rest = name.slice(structured + "spark.streaming.".length);
      const dot = rest.lastIndexOf(".");
      if (dot > 0) queries.add(rest.slice(0, dot));
    } else {
      const head = name.slice(0, dstreams);
      queries.add(head.slice(head.lastIndexOf(".") + 1));
    }
    if (value === null) continue;
    if (name.endsWith(".inputRate-total")) out.input_rate = add(out.input_rate, value);
    else if (name.endsWith(".processingRate-total")) out.processing_rate = add(out.processing_rate, value);
    else if (name.endsWith(".latency") || name.endsWith(".lastCompletedBatch_processingDelay")) {
      out.batch_duration_ms = Math.max(out.batch_duration_ms ?? 0, value);
    }
  }
  if (!seen) return undefined;
  out.queries = [...queries].sort();
  return out;
}

/** Streaming figures from the DStreams `streaming/statistics` answer. */
function streamingFromStatistics(stats: Json): SparkStreaming {
  return {
    input_rate: finite(stats.avgInputRate),
    processing_rate: null,
    batch_duration_ms: finite(stats.avgProcessingTime),
    source: "dstreams",
    queries: [],
  };
}

const NO_STREAMING: SparkStreaming = {
  input_rate: null,
  processing_rate: null,
  batch_duration_ms: null,
  source: null,
  queries: [],
};

/** `spark.master` from an `environment` answer (`sparkProperties` is a list of [name, value]). */
function masterOf(env: unknown): string | null {
  if (!isRecord(env) || !Array.isArray(env.sparkProperties)) return null;
  for (const p of env.sparkProperties) {
    if (Array.isArray(p) && p[0] === "spark.master" && typeof p[1] === "string") return p[1];
  }
  return null;
}

export interface SparkSourceOptions {
  /** Spark's REST API base, e.g. `http://127.0.0.1:4041/api/v1`. */
  apiUrl: string;
  fetch: FetchFn;
  timeoutMs: number;
  /** Jobs and stages kept (newest first); default 50. */
  maxItems?: number;
}

/** A poller of Spark (see the module comment). */
export function createSparkSource(opts: SparkSourceOptions): () => Promise<SparkEvent> {
  const api = opts.apiUrl.replace(/\/+$/, "");
  // The driver's UI root: the API URL without its `/api/v1` suffix (kept behind a proxy prefix).
  const ui = api.replace(/\/api\/v1$/, "");
  const max = opts.maxItems ?? 50;
  const get = (url: string) => getJson(opts.fetch, url, opts.timeoutMs);
  const optional = (url: string) => get(url).catch(() => undefined);
  const masters = new Map<string, string | null>();

  return async () => {
    let applications: unknown;
    try {
      applications = await get(`${api}/applications`);
      if (!Array.isArray(applications)) throw new Error(`GET ${api}/applications: not a JSON array`);
    } catch (err) {
      return { status: "unreachable", error: errorMessage(err), timestamp: nowSec() };
    }
    const app = records(applications).find(isRunning);
    const id = app && typeof app.id === "string" ? app.id : undefined;
    const snapshot: SparkSnapshot = {
      status: id ? "running" : "no_application",
      master: null,
      workers: [],
      applications,
      application_id: id ?? null,
      executors: [],
      jobs: [],
      stages: [],
      cluster_metrics: { cores_total: 0, memory_max: 0, memory_used: 0, executors: 0, active_tasks: 0 },
      streaming: NO_STREAMING,
      timestamp: nowSec(),
    };
    if (!id) return snapshot;

    const base = `${api}/applications/${encodeURIComponent(id)}`;
    const [executors, jobs, stages, statistics, metrics, environment] = await Promise.all([
      optional(`${base}/executors`),
      optional(`${base}/jobs`),
      optional(`${base}/stages`),
      optional(`${base}/streaming/statistics`),
      optional(`${ui}/metrics/json`),
      masters.has(id) ? Promise.resolve(undefined) : optional(`${base}/environment`),
    ]);
    if (environment !== undefined) masters.set(id, masterOf(environment));

    const active = records(executors).filter((e) => e.isActive !== false);
    snapshot.master = masters.get(id) ?? null;
    snapshot.executors = records(executors);
    snapshot.workers = workersOf(active);
    snapshot.jobs = newest(records(jobs), "jobId", max, JOB_FIELDS);
    snapshot.stages = newest(records(stages), "stageId", max, STAGE_FIELDS);
    snapshot.cluster_metrics = {
      cores_total: active.reduce((s, e) => s + num(e.totalCores), 0),
      memory_max: active.reduce((s, e) => s + num(e.maxMemory), 0),
      memory_used: active.reduce((s, e) => s + num(e.memoryUsed), 0),
      executors: active.length,
      active_tasks: active.reduce((s, e) => s + num(e.activeTasks), 0),
    };
    snapshot.streaming =
      streamingFromMetrics(metrics) ??
      (isRecord(statistics) ? streamingFromStatistics(statistics) : undefined) ??
      NO_STREAMING;
    snapshot.timestamp = nowSec();
    return snapshot;
  };
}
