/**
 * Pollers behind the event streams: each `create…Source` returns a function producing one
 * snapshot per call and keeping what its rates need between calls. A source that is down is
 * reported as such in the snapshot; the functions do not throw.
 */

import { RateTracker } from "../contracts/rates.ts";
import type { FolderEventStats, InfermeshEvent, VectorizerEvent, WorkerEvent } from "../contracts/streams.ts";
import { RATED_COUNTERS, type WorkerMetrics } from "../contracts/worker-metrics.ts";
import { folderStats } from "../io/parquet-read.ts";
import { errorMessage, type FetchFn, getJson, probe } from "./upstream.ts";

/** Epoch seconds, the unit of every `timestamp` in the streams. */
export const nowSec = (): number => Date.now() / 1000;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * A worker's `/metrics` (base URL such as `http://127.0.0.1:9101`) with the rates of
 * `records_in`, `records_out`, `batches` and `dlq_records`; `{error: "unreachable"}` when it
 * does not answer with a JSON object.
 */
export function createWorkerSource(
  baseUrl: string,
  fetchFn: FetchFn,
  timeoutMs: number,
): () => Promise<WorkerEvent> {
  const tracker = new RateTracker(RATED_COUNTERS);
  const url = `${baseUrl.replace(/\/+$/, "")}/metrics`;
  return async () => {
    try {
      const metrics = await getJson(fetchFn, url, timeoutMs);
      if (!isRecord(metrics)) throw new Error(`GET ${url}: not a JSON object`);
      const r = tracker.update(metrics);
      return {
        metrics: metrics as WorkerMetrics,
        rates: {
          records_in_per_sec: r.records_in,
          records_out_per_sec: r.records_out,
          batches_per_sec: r.batches,
          dlq_per_sec: r.dlq_records,
        },
        timestamp: nowSec(),
      };
    } catch (err) {
      tracker.reset();
      return { error: "unreachable", detail: errorMessage(err), timestamp: nowSec() };
    }
  };
}

/**
 * InferMesh health and round trip (`GET {infermeshUrl}/health`: 2xx healthy, another status
 * unhealthy, no answer unreachable) and the embed worker's throughput from its `records_out`
 * counter (`{embedWorkerUrl}/metrics`).
 */
export function createInfermeshSource(
  infermeshUrl: string,
  embedWorkerUrl: string,
  fetchFn: FetchFn,
  timeoutMs: number,
): () => Promise<InfermeshEvent> {
  const tracker = new RateTracker(["records_out"] as const);
  const healthUrl = `${infermeshUrl.replace(/\/+$/, "")}/health`;
  const metricsUrl = `${embedWorkerUrl.replace(/\/+$/, "")}/metrics`;

  const health = async (): Promise<InfermeshEvent["infermesh"]> => {
    const started = performance.now();
    try {
      const res = await probe(fetchFn, healthUrl, timeoutMs);
      await res.body?.cancel().catch(() => {});
      const rtt = Math.round((performance.now() - started) * 100) / 100;
      return { status: res.ok ? "healthy" : "unhealthy", rtt_ms: rtt, http_status: res.status };
    } catch (err) {
      return { status: "unreachable", rtt_ms: null, error: errorMessage(err) };
    }
  };

  const throughput = async (): Promise<{ rows_est: number | null; rows_per_sec: number | null }> => {
    try {
      const metrics = await getJson(fetchFn, metricsUrl, timeoutMs);
      const out = isRecord(metrics) ? metrics.records_out : undefined;
      if (typeof out !== "number" || !Number.isFinite(out)) throw new Error("no records_out counter");
      return { rows_est: out, rows_per_sec: tracker.update({ records_out: out }).records_out };
    } catch {
      tracker.reset();
      return { rows_est: null, rows_per_sec: null };
    }
  };

  return async () => {
    const [infermesh, rows] = await Promise.all([health(), throughput()]);
    return { infermesh, ...rows, timestamp: nowSec() };
  };
}

/**
 * Statistics of Parquet folders (`name → dir`; an empty dir means that output is off) from
 * `folderStats` (footers only, incremental), with row and byte rates per folder. `stats` is
 * the folder named `vectorizerFolder` (the parse output, the seed's "vectorizer").
 */
export function createVectorizerSource(
  dirs: Record<string, string>,
  vectorizerFolder: string,
): () => Promise<VectorizerEvent> {
  const trackers = new Map(Object.keys(dirs).map((k) => [k, new RateTracker(["rows", "bytes"] as const)]));

  const one = async (name: string, dir: string): Promise<FolderEventStats> => {
    const empty = { files: 0, bytes: 0, rows_est: 0, latest_ts: null, unreadable: 0 };
    const tracker = trackers.get(name) ?? new RateTracker(["rows", "bytes"] as const);
    if (dir === "") {
      return { enabled: false, path: "", ...empty, rate_rows_per_sec: null, rate_bytes_per_sec: null };
    }
    try {
      const s = await folderStats(dir);
      const r = tracker.update({ rows: s.rows, bytes: s.bytes });
      return {
        enabled: true,
        path: dir,
        files: s.files,
        bytes: s.bytes,
        rows_est: s.rows,
        latest_ts: s.latest_ts === null ? null : s.latest_ts / 1000,
        unreadable: s.unreadable,
        rate_rows_per_sec: r.rows,
        rate_bytes_per_sec: r.bytes,
      };
    } catch (err) {
      tracker.reset();
      return {
        enabled: true,
        path: dir,
        ...empty,
        rate_rows_per_sec: null,
        rate_bytes_per_sec: null,
        error: errorMessage(err),
      };
    }
  };

  return async () => {
    const entries = await Promise.all(
      Object.entries(dirs).map(async ([k, d]) => [k, await one(k, d)] as const),
    );
    const folders = Object.fromEntries(entries);
    const stats = folders[vectorizerFolder] ?? (await one(vectorizerFolder, ""));
    return {
      stats,
      rate_rows_per_sec: stats.rate_rows_per_sec,
      rate_bytes_per_sec: stats.rate_bytes_per_sec,
      timestamp: nowSec(),
      folders,
    };
  };
}
