/** Rolling time windows for charts: append a point, forget what is older than the window. */
import type { Point } from "./types.ts";

/** Default width of every rolling window, ms (3 minutes). */
export const WINDOW_MS = 3 * 60_000;

/**
 * `series` with `v` appended at `t` (skipped when `v` is null or not finite) and every point
 * older than `windowMs` before `t` dropped. Returns a new array; points stay in time order.
 */
export function pushPoint(series: Point[], t: number, v: number | null, windowMs = WINDOW_MS): Point[] {
  const from = t - windowMs;
  const kept = series.filter((p) => p.t > from && p.t <= t);
  if (typeof v === "number" && Number.isFinite(v)) kept.push({ t, v });
  return kept;
}

/** The values of the newest `n` points. */
export function lastValues(series: Point[], n: number): number[] {
  return series.slice(Math.max(0, series.length - n)).map((p) => p.v);
}
