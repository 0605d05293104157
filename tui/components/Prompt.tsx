import { Box, Text } from "ink";
import { cellWidth } from "../format.ts";
import { useTone } from "./theme.tsx";

/**
 * The kNN prompt on one line: label, text (its end kept visible), a block cursor when focused,
 * a hint when empty.
 */
export function Prompt({
  label,
  text,
  focused,
  width,
  hint,
}: {
  label: string;
  text: string;
  focused: boolean;
  width: number;
  hint: string;
}) {
  const tone = useTone();
  const room = Math.max(0, width - cellWidth(label) - 2);
  let shown = text;
  while (cellWidth(shown) > room - 1 && shown.length > 0) shown = [...shown].slice(1).join("");
  if (shown !== text && shown.length > 0) shown = `…${[...shown].slice(1).join("")}`;
  return (
    <Box width={width}>
      <Box flexShrink={0}>
        <Text bold color={focused ? tone("accent") : undefined}>
          {label}{" "}
        </Text>
      </Box>
      {text === "" && !focused ? (
        <Text dimColor wrap="truncate-end">
          {hint}
        </Text>
      ) : (
        <Text wrap="truncate-end">
          {shown}
          {focused ? <Text inverse> </Text> : ""}
        </Text>
      )}
    </Box>
  );
}
