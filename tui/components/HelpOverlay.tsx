/**
 * The `?` overlay: every key binding by group, generated from the bindings table. One column
 * when it fits, two side by side otherwise, scrolled with ↑/↓ when even that is too tall.
 */
import { Box, Text } from "ink";
import { cellWidth, fit } from "../format.ts";

export interface HelpGroup {
  group: string;
  entries: { key: string; description: string }[];
}

type HelpLine = { kind: "heading" | "entry" | "blank"; text: string };

/** The overlay's lines in columns of `colWidth` (pure, for tests). */
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

export function HelpOverlay({
  groups,
  width,
  height,
  scroll,
}: {
  groups: HelpGroup[];
  width: number;
  height: number;
  scroll: number;
}) {
  const title = "Keys — Esc or ? closes";
  const cols = helpColumns(groups, width, height - 1);
  const tallest = Math.max(...cols.map((c) => c.length));
  const visible = Math.max(0, height - 1);
  const top = Math.min(scroll, Math.max(0, tallest - visible));
  const colWidth = cols.length === 1 ? width : Math.floor((width - 2) / 2);
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Text bold wrap="truncate-end">
        {fit(tallest > visible ? `${title} — ↑/↓ scroll` : title, width)}
      </Text>
      <Box>
        {cols.map((col, ci) => (
          <Box
            // biome-ignore lint/suspicious/noArrayIndexKey: columns are positional
            key={ci}
            flexDirection="column"
            width={colWidth}
            marginRight={ci === 0 && cols.length > 1 ? 2 : 0}
          >
            {col.slice(top, top + visible).map((l, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: lines are positional
              <Text key={i} bold={l.kind === "heading"} underline={l.kind === "heading"} wrap="truncate-end">
                {l.text}
              </Text>
            ))}
          </Box>
        ))}
      </Box>
    </Box>
  );
}
