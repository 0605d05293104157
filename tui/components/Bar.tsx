import { Text } from "ink";
import { bar } from "./text.ts";
import { type Tone, useTone } from "./theme.tsx";

export function Bar({ ratio, width, tone = "accent" }: { ratio: number | null; width: number; tone?: Tone }) {
  return <Text color={useTone()(tone)}>{bar(ratio, width)}</Text>;
}
