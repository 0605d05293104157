import { Box, Text } from "ink";
import { oneLine } from "../format.ts";
import { type Tone, useTone } from "./theme.tsx";

/** The explanation shown instead of data (empty, down, waiting): never a blank screen. */
export function Placeholder({
  lines,
  width,
  tone = "muted",
}: {
  lines: string[];
  width: number;
  tone?: Tone;
}) {
  const color = useTone()(tone);
  return (
    <Box flexDirection="column" width={width}>
      {lines.map((l, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: lines are positional
        <Text key={i} color={i === 0 ? color : undefined} wrap="wrap">
          {oneLine(l)}
        </Text>
      ))}
    </Box>
  );
}
