/**
 * The `?` overlay: every key binding by group, generated from the bindings table. One column
 * when it fits, two side by side otherwise, scrolled with ↑/↓ when even that is too tall.
 */
import { Box, Text } from "ink";
import { fit } from "../format.ts";
import { type HelpGroup, helpLayout } from "../layout.ts";

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
  const { cols, colWidth, tallest, visible, maxScroll } = helpLayout(groups, width, height);
  const top = Math.min(scroll, maxScroll);
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
