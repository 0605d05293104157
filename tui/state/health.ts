/**
 * Selectors: the health of each component as the Overview shows it, derived from what the
 * backend reported. Kafka and Redis have no endpoint of their own; their health is read
 * through the workers that use them (reachability, `paused`, and which retries are growing),
 * and says so. A component whose stream is down is "unknown", never shown with stale data.
 */
import type { State, StreamName, WorkerName, WorkerSnapshot } from "./types.ts";

/** `off`: not in use by this stack (e.g. Spark while parse runs on Bun), which is no failure. */
export type HealthStatus = "up" | "warn" | "down" | "unknown" | "off";

export interface Health {
  name: string;
  status: HealthStatus;
  /** Short explanation ("healthy 2.1 ms", "paused", "unreachable", "via workers"). */
  text: string;
  /** Since when the component is down or degraded, epoch ms. */
  since?: number;
}

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

/** The current snapshot of a stream, or undefined while its stream is not up. */
export function live<K extends StreamName>(state: State, stream: K) {
  const slot = state.streams[stream];
  return slot.link.status === "up" ? slot.last : undefined;
}

function streamUnknown(state: State, stream: StreamName, name: string): Health {
  const link = state.streams[stream].link;
  if (link.status === "down")
    return { name, status: "unknown", text: "no data: stream down", since: link.since };
  return { name, status: "unknown", text: "waiting for data" };
}

/** Epoch ms of a worker's `outage_since` (epoch seconds), if any. */
function outageSince(w: WorkerSnapshot): number | undefined {
  if (!w.reachable) return undefined;
  const s = num(w.metrics.outage_since);
  return s === null ? undefined : s * 1000;
}

export function workerHealth(state: State, worker: WorkerName): Health {
  const w = live(state, worker);
  if (!w) return streamUnknown(state, worker, worker);
  if (!w.reachable) {
    return {
      name: worker,
      status: "down",
      text: "unreachable",
      since: state.streams[worker].componentDownSince,
    };
  }
  if (w.metrics.paused === true) {
    // What it retries is on the Kafka/Redis lines and in the worker's view.
    return { name: worker, status: "warn", text: "paused", since: outageSince(w) };
  }
  const lag = num(w.metrics.lag);
  // The Spark parse job serves the parse worker's /metrics with `engine: "spark"`.
  const running = w.metrics.engine === "spark" ? "running (Spark)" : "running";
  return { name: worker, status: "up", text: lag === null ? running : `${running} · lag ${lag}` };
}

export function backendHealth(state: State): Health {
  const link = state.backend.link;
  if (link.status === "up") {
    const rtt = state.backend.data?.rtt_ms;
    return { name: "backend", status: "up", text: rtt === undefined ? "ok" : `ok · ${rtt.toFixed(0)} ms` };
  }
  if (link.status === "down")
    return { name: "backend", status: "down", text: "unreachable", since: link.since };
  return { name: "backend", status: "unknown", text: "connecting" };
}

export function infermeshHealth(state: State): Health {
  const m = live(state, "infermesh");
  if (!m) return streamUnknown(state, "infermesh", "InferMesh");
  if (m.status === "healthy") {
    return {
      name: "InferMesh",
      status: "up",
      text: m.rtt_ms === null ? "healthy" : `healthy · ${m.rtt_ms.toFixed(1)} ms`,
    };
  }
  const since = state.streams.infermesh.componentDownSince;
  if (m.status === "unhealthy") {
    return {
      name: "InferMesh",
      status: "warn",
      text: `unhealthy${m.http_status ? ` (HTTP ${m.http_status})` : ""}`,
    };
  }
  return { name: "InferMesh", status: "down", text: "unreachable", since };
}

/**
 * Whether the parse stage runs on Spark, as the reachable parse worker says (the Spark job
 * serves `engine: "spark"`); undefined when parse does not report.
 */
export function parseOnSpark(state: State): boolean | undefined {
  const p = live(state, "parse");
  if (!p?.reachable) return undefined;
  return p.metrics.engine === "spark";
}

export const SPARK_NOT_IN_USE = "not in use (Bun parse)";

export function sparkHealth(state: State): Health {
  const s = live(state, "spark");
  // Spark that is not meant to run is not a failure: only show it down when parse needs it.
  if (s?.status !== "running" && parseOnSpark(state) === false)
    return { name: "Spark", status: "off", text: SPARK_NOT_IN_USE };
  if (!s) return streamUnknown(state, "spark", "Spark");
  if (s.status === "running")
    return { name: "Spark", status: "up", text: `running · ${s.executors.length} exec` };
  if (s.status === "no_application")
    return { name: "Spark", status: "unknown", text: "not running (no app)" };
  return {
    name: "Spark",
    status: "down",
    text: "unreachable",
    since: state.streams.spark.componentDownSince,
  };
}

/**
 * Health of a shared dependency (Kafka or Redis) as seen through the workers that use it:
 * up when a reporting worker runs without retrying it, degraded when a worker's retries of
 * it grow or a worker paused, unknown when no worker reports.
 */
function viaWorkers(state: State, name: string, match: RegExp, workers: WorkerName[]): Health {
  const reporting = workers
    .map((w) => [w, live(state, w)] as const)
    .filter(
      (x): x is readonly [WorkerName, WorkerSnapshot & { reachable: true }] => x[1]?.reachable === true,
    );
  if (reporting.length === 0) return { name, status: "unknown", text: "no worker reporting" };
  const failing = reporting.filter(([, w]) => w.derived.retrying.some((k) => match.test(k)));
  if (failing.length > 0) {
    const since = failing.map(([, w]) => outageSince(w)).find((x) => x !== undefined);
    return { name, status: "warn", text: `retried by ${failing.map(([n]) => n).join(", ")}`, since };
  }
  const paused = reporting.filter(([, w]) => w.metrics.paused === true);
  if (paused.length > 0) {
    return { name, status: "warn", text: `via workers: ${paused.map(([n]) => n).join(", ")} paused` };
  }
  return { name, status: "up", text: `via workers (${reporting.length}/${workers.length} ok)` };
}

export function kafkaHealth(state: State): Health {
  return viaWorkers(state, "Kafka", /kafka/i, ["parse", "embed-worker", "indexer"]);
}

export function redisHealth(state: State): Health {
  return viaWorkers(state, "Redis", /redis/i, ["embed-worker", "indexer"]);
}

/** Every component of the Overview, in display order. */
export function allHealth(state: State): Health[] {
  return [
    kafkaHealth(state),
    redisHealth(state),
    infermeshHealth(state),
    workerHealth(state, "parse"),
    workerHealth(state, "embed-worker"),
    workerHealth(state, "indexer"),
    backendHealth(state),
    sparkHealth(state),
  ];
}
