/**
 * Pure text helpers of the console: display width, fitting a string into a number of
 * terminal cells, and the number/time formats and short texts every view shares. Nothing here
 * knows React.
 */
import { formatShardList } from "../pipeline/contracts/knn.ts";

const segmenter = new Intl.Segmenter();

/** Terminal cells taken by `s` (East Asian wide characters count 2, combining marks 0). */
export function cellWidth(s: string): number {
  return Bun.stringWidth(s);
}

/**
 * `s` made safe to print on one line: ANSI escape sequences and other control characters are
 * removed, tabs and line breaks become spaces (a DLQ payload must not drive the terminal).
 */
export function oneLine(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x1b) {
      const next = s[i + 1];
      if (next === "[") {
        // CSI: parameters and intermediates up to a final byte 0x40–0x7e.
        i += 2;
        while (i < s.length && !(s.charCodeAt(i) >= 0x40 && s.charCodeAt(i) <= 0x7e)) i++;
      } else if (next === "]") {
        // OSC: up to BEL or ESC \.
        i += 2;
        while (i < s.length && s.charCodeAt(i) !== 0x07 && !(s.charCodeAt(i) === 0x1b && s[i + 1] === "\\"))
          i++;
        if (s.charCodeAt(i) === 0x1b) i++;
      }
      continue;
    }
    if (c >= 0x09 && c <= 0x0d) {
      if (!out.endsWith(" ")) out += " ";
      continue;
    }
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) continue;
    out += s[i];
  }
  return out;
}

/** `s` cut to at most `width` cells; an ellipsis marks a cut. */
export function truncate(s: string, width: number): string {
  if (width <= 0) return "";
  if (cellWidth(s) <= width) return s;
  let out = "";
  let used = 0;
  for (const { segment } of segmenter.segment(s)) {
    const w = cellWidth(segment);
    if (used + w > width - 1) break;
    out += segment;
    used += w;
  }
  return `${out}…`;
}

/** `s` truncated and padded with spaces to exactly `width` cells. */
export function fit(s: string, width: number, align: "left" | "right" = "left"): string {
  const t = truncate(s, width);
  const pad = " ".repeat(Math.max(0, width - cellWidth(t)));
  return align === "left" ? t + pad : pad + t;
}

const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/** An integer count with thousands separators; "–" when unknown. */
export function count(v: unknown): string {
  return isNum(v) ? Math.round(v).toLocaleString("en-US") : "–";
}

/** A rate per second: 3 significant digits, "–" when unknown. */
export function rate(v: unknown, unit = "/s"): string {
  if (!isNum(v)) return "–";
  const a = Math.abs(v);
  const s = a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
  return `${Number(s).toLocaleString("en-US", { maximumFractionDigits: 2 })}${unit}`;
}

/** Milliseconds: "2.4 ms", "1.2 s"; "–" when unknown. */
export function ms(v: unknown): string {
  if (!isNum(v)) return "–";
  return v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ms`;
}

/** Bytes with binary units ("8.0 MiB"); "–" when unknown. */
export function bytes(v: unknown): string {
  if (!isNum(v)) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let x = v;
  let i = 0;
  while (Math.abs(x) >= 1024 && i < units.length - 1) {
    x /= 1024;
    i += 1;
  }
  return i === 0 ? `${Math.round(x)} B` : `${x.toFixed(1)} ${units[i]}`;
}

/** A ratio 0..1 as a percentage; "–" when unknown. */
export function percent(v: unknown): string {
  return isNum(v) ? `${(v * 100).toFixed(v >= 0.995 || v === 0 ? 0 : 1)}%` : "–";
}

const two = (n: number) => String(n).padStart(2, "0");

/** Local wall-clock time HH:MM:SS of an epoch in milliseconds. */
export function clock(epochMs: number): string {
  const d = new Date(epochMs);
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/** Local date and time "YYYY-MM-DD HH:MM:SS" of an epoch in milliseconds. */
export function dateTime(epochMs: number): string {
  const d = new Date(epochMs);
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${clock(epochMs)}`;
}

/** A duration in seconds as "42s", "3m12s", "2h05m". */
export function duration(sec: number): string {
  const s = Math.max(0, Math.round(sec));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  return `${Math.floor(s / 3600)}h${two(Math.floor((s % 3600) / 60))}m`;
}

/** Label + value pairs on one line: "in 12/s · out 11/s". */
export const pairs = (items: [string, string][]): string => items.map(([k, v]) => `${k} ${v}`).join(" · ");

export const REPLAY_HINT = "no records yet — replay a fixture: bun run replay fixtures/agent-results.jsonl";

/** "reason n · reason n", largest first; a friendly text when there is none. */
export function reasonsText(byReason: unknown): string {
  const entries = Object.entries(typeof byReason === "object" && byReason !== null ? byReason : {})
    .filter((e): e is [string, number] => typeof e[1] === "number" && e[1] > 0)
    .sort((a, b) => b[1] - a[1]);
  return entries.length === 0 ? "none" : entries.map(([k, n]) => `${k} ${count(n)}`).join(" · ");
}

/** What a partial kNN answer lacks: the shards no backend answered for. */
export function partialNote(missing: readonly number[] | undefined): string {
  const list = formatShardList(missing ?? []);
  return `partial: shard${missing?.length === 1 ? "" : "s"} ${list || "?"} not searched (an owner did not answer)`;
}
