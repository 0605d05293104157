import { Box, Text } from "ink";
import { clock, fit } from "../format.ts";
import type { Health } from "../state/health.ts";
import { Line } from "./Line.tsx";
import { StatusDot } from "./StatusDot.tsx";
import { statusTone } from "./theme.tsx";

/** A health cell: dot, name, status text and "since". */
export function HealthCell({ h, width, nameWidth = 13 }: { h: Health; width: number; nameWidth?: number }) {
  const since = h.since !== undefined ? ` since ${clock(h.since)}` : "";
  let text = h.text + since;
  if (h.status === "down") text = `down${since}${h.text === "unreachable" ? "" : ` (${h.text})`}`;
  // "no data (stream down)" reads "no data since 12:03:04" when the time is known.
  else if (h.status === "unknown" && h.since !== undefined) text = `no data${since}`;
  return (
    <Box width={width}>
      <Box flexShrink={0}>
        <StatusDot status={h.status} />
        <Text> {fit(h.name, nameWidth)}</Text>
      </Box>
      <Line tone={h.status === "up" ? undefined : statusTone[h.status]}>
        {fit(text, Math.max(0, width - nameWidth - 3))}
      </Line>
    </Box>
  );
}
