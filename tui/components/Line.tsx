import { Box, Text } from "ink";
import type { ReactNode } from "react";
import { fit, oneLine } from "../format.ts";
import { type Tone, useTone } from "./theme.tsx";

/** One line of text, never wrapped (cut with an ellipsis at the box edge), control characters removed. */
export function Line({
  children,
  tone,
  bold,
  dim,
  inverse,
}: {
  children?: ReactNode;
  tone?: Tone;
  bold?: boolean;
  dim?: boolean;
  inverse?: boolean;
}) {
  const color = useTone()(tone);
  return (
    <Text wrap="truncate-end" color={color} bold={bold} dimColor={dim} inverse={inverse}>
      {children === undefined || children === null || children === ""
        ? " "
        : typeof children === "string"
          ? oneLine(children)
          : children}
    </Text>
  );
}

/** A bold label of a fixed width that never shrinks when the rest of its row is long. */
export function Label({ text, width }: { text: string; width: number }) {
  return (
    <Box flexShrink={0}>
      <Text bold>{fit(text, width)}</Text>
    </Box>
  );
}
