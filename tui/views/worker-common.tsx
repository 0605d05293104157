/** The worker part shared by views 3, 4 and 5: status line and "DLQ by reason". */
import { clock, count, REPLAY_HINT } from "../format.ts";
import type { State, WorkerName, WorkerSnapshot } from "../state/types.ts";

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

/** "reason n · reason n", largest first; a friendly text when there is none. */
export function reasonsText(byReason: unknown): string {
  const entries = Object.entries(typeof byReason === "object" && byReason !== null ? byReason : {})
    .filter((e): e is [string, number] => typeof e[1] === "number" && e[1] > 0)
    .sort((a, b) => b[1] - a[1]);
  return entries.length === 0 ? "none" : entries.map(([k, n]) => `${k} ${count(n)}`).join(" · ");
}

/** Whether a worker has seen no record yet. */
export const noRecords = (w: Reporting): boolean => (w.metrics.records_in ?? 0) === 0;

export { REPLAY_HINT };
