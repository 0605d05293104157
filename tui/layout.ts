/**
 * Layout arithmetic shared by what draws and what scrolls: the rows the chrome takes, a page
 * for PageUp/PageDown, and how the DLQ entry and the help overlay split into visible lines.
 * The DLQ view and the help overlay draw with these; the key handling clamps scrolling with
 * the same numbers, so a scroll offset never runs past what is drawn. Pure, no React.
 */
import { detailLines } from "./dlq-entry.ts";
import { cellWidth, fit } from "./format.ts";
import type { DlqEntry } from "./state/types.ts";

/** Rows taken by the tab bar, the status line and the footer. */
export const CHROME_ROWS = 3;

/** Rows left for a view (or an overlay) in a window of `rows`. */
export const bodyRows = (rows: number): number => Math.max(1, rows - CHROME_ROWS);

/** Rows a PageUp/PageDown moves in a body of `body` rows: three less, at least one. */
export const pageRows = (body: number): number => Math.max(1, body - 3);

/** The largest scroll offset of `total` lines shown `visible` at a time. */
export const maxScroll = (total: number, visible: number): number => Math.max(0, total - visible);

/** The DLQ entry drawn in `height` rows: a title line, then `visible` lines of the entry. */
export function detailLayout(
  entry: DlqEntry,
  width: number,
  height: number,
): { lines: string[]; visible: number; maxScroll: number } {
  const lines = detailLines(entry, width);
  const visible = Math.max(1, height - 1);
  return { lines, visible, maxScroll: maxScroll(lines.length, visible) };
}

export interface HelpGroup {
  group: string;
  entries: { key: string; description: string }[];
}

export type HelpLine = { kind: "heading" | "entry" | "blank"; text: string };

/** The help overlay's lines in one column, or two of half the width when one is too tall. */
export function helpColumns(groups: HelpGroup[], width: number, height: number): HelpLine[][] {
  const keyWidth = Math.min(
    12,
    Math.max(...groups.flatMap((g) => g.entries.map((e) => cellWidth(e.key)))) + 1,
  );
  const build = (colWidth: number): HelpLine[][] =>
    groups.map((g) => [
      { kind: "heading" as const, text: fit(g.group, colWidth) },
      ...g.entries.map((e) => ({
        kind: "entry" as const,
        text: fit(`${fit(e.key, keyWidth)} ${e.description}`, colWidth),
      })),
    ]);
  const one = build(width).flat();
  if (one.length <= height || width < 60) return [one];
  const colWidth = Math.floor((width - 2) / 2);
  const blocks = build(colWidth);
  const total = blocks.reduce((s, b) => s + b.length, 0);
  const left: HelpLine[] = [];
  const right: HelpLine[] = [];
  for (const b of blocks)
    (left.length + b.length <= Math.ceil(total / 2) || left.length === 0 ? left : right).push(...b);
  return [left, right];
}

/** The help overlay drawn in `height` rows: a title line, then `visible` lines of columns. */
export function helpLayout(
  groups: HelpGroup[],
  width: number,
  height: number,
): { cols: HelpLine[][]; colWidth: number; tallest: number; visible: number; maxScroll: number } {
  const visible = Math.max(0, height - 1);
  const cols = helpColumns(groups, width, visible);
  const tallest = Math.max(...cols.map((c) => c.length));
  const colWidth = cols.length === 1 ? width : Math.floor((width - 2) / 2);
  return { cols, colWidth, tallest, visible, maxScroll: maxScroll(tallest, visible) };
}

/**
 * How far the overlays can scroll in a body of `width` × `height`: the open DLQ entry (0 when
 * none is open) and the help overlay listing `help`.
 */
export function scrollLimits(o: {
  entry: DlqEntry | undefined;
  help: HelpGroup[];
  width: number;
  height: number;
}): { detail: number; help: number } {
  return {
    detail: o.entry ? detailLayout(o.entry, o.width, o.height).maxScroll : 0,
    help: helpLayout(o.help, o.width, o.height).maxScroll,
  };
}
