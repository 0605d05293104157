import { Box, Text } from "ink";
import { cellWidth, fit, oneLine, truncate } from "../format.ts";
import { type Tone, useTone } from "./theme.tsx";

/** One line: connection state on the left, the latest notice on the right (kept whole when it fits). */
export function StatusLine({
  left,
  leftTone,
  right,
  rightTone,
  width,
}: {
  left: string;
  leftTone?: Tone;
  right?: string;
  rightTone?: Tone;
  width: number;
}) {
  const tone = useTone();
  const r = right ? truncate(oneLine(right), Math.max(0, width - 2)) : "";
  const rw = cellWidth(r);
  const leftWidth = r ? Math.max(0, width - rw - 1) : width;
  return (
    <Box width={width}>
      <Text color={tone(leftTone)}>{fit(oneLine(left), leftWidth)}</Text>
      {r ? <Text color={tone(rightTone)}> {r}</Text> : null}
    </Box>
  );
}
