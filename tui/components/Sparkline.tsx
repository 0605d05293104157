import { Text } from "ink";
import { sparkline } from "./text.ts";
import { type Tone, useTone } from "./theme.tsx";

export function Sparkline({
  values,
  width,
  tone = "accent",
}: {
  values: number[];
  width: number;
  tone?: Tone;
}) {
  return <Text color={useTone()(tone)}>{sparkline(values, width)}</Text>;
}
