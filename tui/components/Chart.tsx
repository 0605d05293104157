import { Box, Text } from "ink";
import { fit, oneLine } from "../format.ts";
import { chartLines } from "./text.ts";
import { type Tone, useTone } from "./theme.tsx";

/** A titled line chart exactly `height` lines tall (title included) and `width` wide. */
export function Chart({
  title,
  values,
  width,
  height,
  tone = "accent",
  empty,
}: {
  title: string;
  values: number[];
  width: number;
  height: number;
  tone?: Tone;
  empty?: string;
}) {
  const color = useTone()(tone);
  const lines = chartLines(values, width, Math.max(1, height - 1), empty);
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Text bold wrap="truncate-end">
        {fit(oneLine(title), width)}
      </Text>
      {lines.map((l, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: lines have no identity
        <Text key={i} color={color} wrap="truncate-end">
          {l}
        </Text>
      ))}
    </Box>
  );
}
