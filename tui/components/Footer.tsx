import { Box, Text } from "ink";
import { footerEntries } from "./text.ts";
import { useTone } from "./theme.tsx";

/** The keys that apply now (generated from the bindings), as many as fit on one line. */
export function Footer({ entries, width }: { entries: { key: string; label: string }[]; width: number }) {
  const tone = useTone();
  const shown = footerEntries(entries, width);
  return (
    <Box width={width}>
      {shown.map((e, i) => (
        <Text key={e.key + e.label}>
          {i > 0 ? "  " : ""}
          <Text bold color={tone("accent")}>
            {e.key}
          </Text>{" "}
          {e.label}
        </Text>
      ))}
    </Box>
  );
}
