/**
 * Pure line builders behind the components: every function returns strings that are
 * exactly (or at most) the width it was given, so layout can be tested without React.
 */
import asciichart from "asciichart";
import { cellWidth, fit, oneLine } from "../format.ts";

const BLOCKS = "▁▂▃▄▅▆▇█";

/** A sparkline of the newest values that fit in `width` cells (scaled 0..max). */
export function sparkline(values: number[], width: number): string {
  if (width <= 0) return "";
  const v = values.slice(-width);
  if (v.length === 0) return "";
  const max = Math.max(...v);
  return v
    .map((x) => (max <= 0 ? BLOCKS[0] : BLOCKS[Math.min(7, Math.round((x / max) * 7))]) as string)
    .join("");
}

/** A horizontal bar of `width` cells filled to `ratio` (0..1). */
export function bar(ratio: number | null, width: number): string {
  if (width <= 0) return "";
  if (ratio === null || !Number.isFinite(ratio)) return "·".repeat(width);
  const eighths = Math.round(Math.max(0, Math.min(1, ratio)) * width * 8);
  const full = Math.floor(eighths / 8);
  const part = eighths % 8;
  const partial = part > 0 ? (" ▏▎▍▌▋▊▉"[part] as string) : "";
  return ("█".repeat(full) + partial).padEnd(width, "░").slice(0, width);
}

/** A short number for chart labels: 1.2k, 3.4M. */
export function shortNumber(x: number): string {
  const a = Math.abs(x);
  if (a < 0.05) return "0";
  if (a >= 1e9) return `${(x / 1e9).toFixed(1)}G`;
  if (a >= 1e6) return `${(x / 1e6).toFixed(1)}M`;
  if (a >= 1e4) return `${(x / 1e3).toFixed(0)}k`;
  if (a >= 1e3) return `${(x / 1e3).toFixed(1)}k`;
  if (a >= 10) return x.toFixed(0);
  return x.toFixed(1);
}

const LABEL = 6;

/**
 * A line chart (asciichart) of the newest values that fit, exactly `height` lines of
 * `width` cells; the y axis starts at 0. Fewer than two values give a placeholder line.
 */
export function chartLines(values: number[], width: number, height: number, empty = "no data yet"): string[] {
  const h = Math.max(1, height);
  const points = Math.max(0, width - LABEL - 2);
  const v = values.slice(-points);
  if (v.length < 2 || points < 2) {
    // The explanation goes on the first line, not under empty space.
    return [empty, ...new Array<string>(h - 1).fill("")].slice(0, h).map((l) => fit(l, width));
  }
  const lines = asciichart
    .plot(v, {
      height: Math.max(1, h - 1),
      min: 0,
      // An all-zero series still gets a full-height axis.
      max: Math.max(...v) > 0 ? undefined : 1,
      format: (x: number) => shortNumber(x).padStart(LABEL).slice(-LABEL),
    })
    .split("\n");
  while (lines.length < h) lines.unshift("");
  return lines.slice(lines.length - h).map((l) => fit(l, width));
}

export interface Column {
  header: string;
  /** Fixed width, cells. */
  width?: number;
  /** Share of the remaining width (columns without `width`; default 1). */
  flex?: number;
  /** Smallest width of a flexible column; the column is dropped when it cannot get it. */
  min?: number;
  align?: "left" | "right";
}

/**
 * Widths of the columns for a table `width` cells wide (one space between columns):
 * fixed columns keep their width, flexible ones share the rest; columns are dropped from
 * the right while the table does not fit. A width of 0 means "not shown".
 */
export function columnWidths(columns: Column[], width: number): number[] {
  let shown = columns.length;
  for (;;) {
    const cols = columns.slice(0, shown);
    const gaps = Math.max(0, cols.length - 1);
    const fixed = cols.reduce((s, c) => s + (c.width ?? 0), 0);
    const flexTotal = cols.reduce((s, c) => s + (c.width === undefined ? (c.flex ?? 1) : 0), 0);
    const rest = width - fixed - gaps;
    const mins = cols.reduce((s, c) => s + (c.width === undefined ? (c.min ?? 4) : 0), 0);
    if (rest >= mins || shown <= 1) {
      let left = Math.max(0, rest);
      const out = cols.map((c) => {
        if (c.width !== undefined) return c.width;
        const w = Math.floor((Math.max(0, rest) * (c.flex ?? 1)) / Math.max(1, flexTotal));
        left -= w;
        return w;
      });
      // Give the rounding remainder to the last flexible column.
      const lastFlex = cols.map((c) => c.width === undefined).lastIndexOf(true);
      if (lastFlex >= 0) out[lastFlex] = (out[lastFlex] ?? 0) + left;
      // A single column too wide for the table is cut to it.
      if (shown === 1 && (out[0] ?? 0) > width) out[0] = Math.max(0, width);
      return [...out, ...new Array(columns.length - shown).fill(0)];
    }
    shown -= 1;
  }
}

/** One table row as a line of exactly `width` cells. */
export function tableRow(cells: string[], columns: Column[], widths: number[], width: number): string {
  const parts: string[] = [];
  columns.forEach((c, i) => {
    const w = widths[i] ?? 0;
    if (w > 0) parts.push(fit(oneLine(cells[i] ?? ""), w, c.align));
  });
  return fit(parts.join(" "), width);
}

/** The first visible row so that `selected` stays in a window of `visible` rows. */
export function scrollTop(selected: number, total: number, visible: number): number {
  if (visible <= 0 || total <= visible) return 0;
  const half = Math.floor(visible / 2);
  return Math.max(0, Math.min(total - visible, selected - half));
}

/** Tab labels that fit in `width`: full titles, else short ones, else numbers with the current title. */
export function tabLine(
  tabs: { key: string; title: string; short: string; active: boolean }[],
  width: number,
): { text: string; active: boolean }[] {
  const variants = [
    tabs.map((t) => ` ${t.key} ${t.title} `),
    tabs.map((t) => ` ${t.key} ${t.short} `),
    tabs.map((t) => (t.active ? ` ${t.key} ${t.title} ` : ` ${t.key} `)),
  ];
  for (const labels of variants) {
    if (cellWidth(labels.join("")) <= width)
      return labels.map((text, i) => ({ text, active: tabs[i]?.active ?? false }));
  }
  const last = variants[2] as string[];
  const out: { text: string; active: boolean }[] = [];
  let used = 0;
  last.forEach((text, i) => {
    const w = cellWidth(text);
    if (used + w <= width) {
      out.push({ text, active: tabs[i]?.active ?? false });
      used += w;
    }
  });
  return out;
}

/** Footer entries "key label" separated by two spaces, as many as fit in `width`. */
export function footerEntries(
  entries: { key: string; label: string }[],
  width: number,
): { key: string; label: string }[] {
  const out: { key: string; label: string }[] = [];
  let used = 0;
  for (const e of entries) {
    const w = cellWidth(`${e.key} ${e.label}`) + (out.length > 0 ? 2 : 0);
    if (used + w > width) break;
    out.push(e);
    used += w;
  }
  return out;
}

/** `text` wrapped to lines of at most `width` cells (hard breaks inside long words). */
export function wrapText(text: string, width: number): string[] {
  if (width <= 0) return [];
  const out: string[] = [];
  for (const para of text.split(/\r?\n/)) {
    let line = "";
    for (const word of oneLine(para).split(/(\s+)/)) {
      if (word === "") continue;
      if (cellWidth(line + word) <= width) {
        line += word;
        continue;
      }
      if (line.trim() !== "") out.push(line.trimEnd());
      line = /^\s+$/.test(word) ? "" : word;
      while (cellWidth(line) > width) {
        let cut = "";
        for (const ch of line) {
          if (cellWidth(cut + ch) > width) break;
          cut += ch;
        }
        if (cut === "") cut = line.slice(0, 1);
        out.push(cut);
        line = line.slice(cut.length);
      }
    }
    out.push(line.trimEnd());
  }
  return out;
}
