/**
 * The project's table (ink-table does not load with ink 8 under Bun: it `require()`s ink,
 * an async ES module). Fixed and flexible columns, columns dropped from the right when the
 * width is short, a selected row in inverse video, scrolling that keeps the selection
 * visible, never wider than `width` nor taller than `height`.
 */
import { Box, Text } from "ink";
import { fit } from "../format.ts";
import { type Column, columnWidths, scrollTop, tableRow } from "./text.ts";
import { type Tone, useTone } from "./theme.tsx";

export type { Column } from "./text.ts";

export interface TableProps {
  columns: Column[];
  rows: string[][];
  width: number;
  /** Lines available, header included. */
  height: number;
  /** Index of the selected row (inverse video), if any. */
  selected?: number;
  /** Tone of each row (e.g. an error row). */
  tones?: (Tone | undefined)[];
}

export function Table({ columns, rows, width, height, selected, tones }: TableProps) {
  const tone = useTone();
  const widths = columnWidths(columns, width);
  const visible = Math.max(0, height - 1);
  const top = scrollTop(selected ?? 0, rows.length, visible);
  const shown = rows.slice(top, top + visible);
  const header = tableRow(
    columns.map((c) => c.header),
    columns,
    widths,
    width,
  );
  const more = rows.length > visible ? ` ${top + 1}-${top + shown.length}/${rows.length}` : "";
  return (
    <Box flexDirection="column" width={width}>
      <Text bold wrap="truncate-end">
        {more ? fit(header, width - more.length) + more : header}
      </Text>
      {shown.map((cells, i) => {
        const index = top + i;
        return (
          <Text key={index} wrap="truncate-end" inverse={index === selected} color={tone(tones?.[index])}>
            {tableRow(cells, columns, widths, width)}
          </Text>
        );
      })}
    </Box>
  );
}
