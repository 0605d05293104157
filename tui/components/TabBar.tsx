import { Box, Text } from "ink";
import { cellWidth } from "../format.ts";
import { VIEWS, type ViewId } from "../state/types.ts";
import { tabLine } from "./text.ts";
import { useTone } from "./theme.tsx";

/** The views by number; the current one in inverse video. A right-aligned `status` fills the rest. */
export function TabBar({ view, width, status }: { view: ViewId; width: number; status?: string }) {
  const tone = useTone();
  const tabs = tabLine(
    VIEWS.map((v) => ({ key: v.key, title: v.title, short: v.short, active: v.id === view })),
    width,
  );
  const used = tabs.reduce((s, t) => s + cellWidth(t.text), 0);
  const rest = width - used;
  const right = status && cellWidth(status) + 1 <= rest ? status : "";
  return (
    <Box width={width}>
      {tabs.map((t) => (
        <Text key={t.text} inverse={t.active} bold={t.active} color={t.active ? undefined : tone("accent")}>
          {t.text}
        </Text>
      ))}
      <Text dimColor>{right.padStart(rest)}</Text>
    </Box>
  );
}
