/**
 * Selectors several views share: why a stream or a worker has nothing to show (and since
 * when), which worker snapshots are reporting, the DLQ totals. Pure, no React: the views turn
 * these into lines.
 */
import { clock, duration } from "../format.ts";
import { live } from "./health.ts";
import {
  type Link,
  type State,
  type StreamName,
  WORKERS,
  type WorkerName,
  type WorkerSnapshot,
} from "./types.ts";

/** "down since 12:03:04 · retry in 4s". */
export function downText(link: Link, now: number): string {
  const retry =
    link.retryAt !== undefined ? ` · retry in ${duration(Math.max(0, (link.retryAt - now) / 1000))}` : "";
  return `since ${clock(link.since)}${retry}`;
}

/**
 * Why a stream has nothing to show yet (waiting, or down with its error), or undefined when
 * it has data.
 */
export function noStreamData(state: State, stream: StreamName): string[] | undefined {
  const slot = state.streams[stream];
  if (slot.last !== undefined) return undefined;
  if (slot.link.status === "down") {
    return [
      `no data from the ${stream} stream: ${slot.link.error ?? "down"}`,
      `disconnected ${downText(slot.link, state.now)} — backend ${state.backendUrl}`,
    ];
  }
  return [`waiting for the ${stream} stream from ${state.backendUrl} …`];
}

/** A one-line warning when a stream is down but older data is still shown, else undefined. */
export function staleText(state: State, stream: StreamName): string | undefined {
  const slot = state.streams[stream];
  if (slot.link.status !== "down" || slot.at === undefined) return undefined;
  return `stale: ${stream} stream down ${downText(slot.link, state.now)} (data from ${clock(slot.at)})`;
}

/** A worker snapshot from a worker that answered. */
export type Reporting = WorkerSnapshot & { reachable: true };

/** The worker snapshot when it is reporting, else a one-line explanation. */
export function workerOrWhy(
  state: State,
  name: WorkerName,
): { w: Reporting } | { why: string; tone: "bad" | "muted" } {
  const slot = state.streams[name];
  const last = slot.last;
  if (last === undefined) {
    return slot.link.status === "down"
      ? {
          why: `${name}: no data, stream down since ${clock(slot.link.since)} (${slot.link.error ?? "?"})`,
          tone: "bad",
        }
      : { why: `${name}: waiting for data …`, tone: "muted" };
  }
  if (!last.reachable) {
    const since = slot.componentDownSince;
    return {
      why: `${name} unreachable${since ? ` since ${clock(since)}` : ""}${last.detail ? `: ${last.detail}` : ""}`,
      tone: "bad",
    };
  }
  return { w: last };
}

/** Whether a worker has seen no record yet. */
export const noRecords = (w: Reporting): boolean => (w.metrics.records_in ?? 0) === 0;

/** The snapshot when its worker answered, else undefined. */
export function reachable(w: WorkerSnapshot | undefined): Reporting | undefined {
  return w?.reachable ? w : undefined;
}

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

/** DLQ totals from the workers' counters (`dlq_records`, `dlq_by_reason`). */
export function dlqTotals(state: State): {
  total: number | null;
  byWorker: [WorkerName, number][];
} {
  const byWorker: [WorkerName, number][] = [];
  for (const w of WORKERS) {
    const n = num(reachable(live(state, w))?.metrics.dlq_records);
    if (n !== null) byWorker.push([w, n]);
  }
  return { total: byWorker.length ? byWorker.reduce((s, [, n]) => s + n, 0) : null, byWorker };
}
