/**
 * 6 DLQ: the newest dead-lettered entries (time, stage, reason, doc_id, preview); Enter opens
 * one in full (scrollable), `s` saves the tail to an NDJSON file.
 */
import { Box } from "ink";
import { Line } from "../components/Line.tsx";
import { Placeholder } from "../components/Placeholder.tsx";
import { Table } from "../components/Table.tsx";
import { wrapText } from "../components/text.ts";
import { clock, count, dateTime, fit, oneLine } from "../format.ts";
import { dlqTotals, downText } from "../state/selectors.ts";
import type { DlqEntry } from "../state/types.ts";
import type { ViewProps } from "./props.ts";

const str = (v: unknown): string =>
  v === null || v === undefined ? "" : typeof v === "string" ? v : JSON.stringify(v);

/**
 * What to show of an entry in one cell: its text, else the original value (a blank value is
 * shown quoted, so it is visibly blank), else the error.
 */
export function preview(e: DlqEntry): string {
  const text = str(e.text);
  if (text.trim() !== "") return oneLine(text);
  if (typeof e.value === "string")
    return e.value.trim() === "" ? `(blank value ${JSON.stringify(e.value)})` : oneLine(e.value);
  if (typeof e.value_b64 === "string" && e.value_b64 !== "")
    return `(binary, ${e.value_b64.length} base64 chars)`;
  return oneLine(str(e.error));
}

const tsMs = (e: DlqEntry): number | null => (typeof e.ts === "number" ? e.ts * 1000 : null);

const SHOWN = new Set([
  "ts",
  "stage",
  "reason",
  "doc_id",
  "topic",
  "model",
  "kafka_ts",
  "source",
  "error",
  "text",
  "value",
  "value_b64",
]);

/**
 * The full entry as wrapped lines: the known fields, any other field the backend added
 * (e.g. `stream_id`), then error, text and the original value. A blank text or value is
 * shown quoted, so its whitespace is visible.
 */
export function detailLines(e: DlqEntry, width: number): string[] {
  const src = (typeof e.source === "object" && e.source !== null ? e.source : {}) as Record<string, unknown>;
  const t = tsMs(e);
  const field = (k: string, v: string) => wrapText(`${fit(k, 10)} ${v}`, width);
  const block = (k: string, v: unknown) => {
    const text = str(v);
    if (v === null || v === undefined) return [];
    const shown = text.trim() === "" ? `${JSON.stringify(text)} (blank)` : text;
    return ["", `${k}:`, ...wrapText(shown, width)];
  };
  const extra = Object.keys(e)
    .filter((k) => !SHOWN.has(k))
    .sort()
    .flatMap((k) => field(k, str(e[k]) || "–"));
  return [
    ...field("time", t === null ? "–" : dateTime(t)),
    ...field("stage", str(e.stage)),
    ...field("reason", str(e.reason)),
    ...field("doc_id", str(e.doc_id) || "–"),
    ...field("topic", str(e.topic) || "–"),
    ...field("model", str(e.model) || "–"),
    ...field("kafka_ts", e.kafka_ts == null ? "–" : `${str(e.kafka_ts)} (${dateTime(Number(e.kafka_ts))})`),
    ...field(
      "source",
      `${str(src.topic)} partition ${str(src.partition)} offset ${str(src.offset)}${src.key ? ` key ${str(src.key)}` : ""}`,
    ),
    ...extra,
    ...block("error", e.error),
    ...block("text", e.text),
    ...block("value", e.value),
    ...(e.value === null || e.value === undefined ? block("value_b64", e.value_b64) : []),
  ];
}

export function DlqDetail({
  entry,
  scroll,
  width,
  height,
}: {
  entry: DlqEntry;
  scroll: number;
  width: number;
  height: number;
}) {
  const lines = detailLines(entry, width);
  const visible = Math.max(1, height - 1);
  const top = Math.min(scroll, Math.max(0, lines.length - visible));
  const pos =
    lines.length > visible
      ? ` lines ${top + 1}-${Math.min(lines.length, top + visible)}/${lines.length}`
      : "";
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Line bold inverse>
        {fit(`DLQ entry — Esc closes${pos}`, width)}
      </Line>
      {lines.slice(top, top + visible).map((l, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: lines are positional
        <Line key={i}>{l}</Line>
      ))}
    </Box>
  );
}

export function Dlq({ state, width, height }: ViewProps) {
  const detail = state.ui.dlq.detail;
  if (detail) return <DlqDetail entry={detail.entry} scroll={detail.scroll} width={width} height={height} />;
  const dlq = state.dlq;
  if (!dlq.data) {
    return (
      <Placeholder
        tone={dlq.link.status === "down" ? "bad" : "muted"}
        width={width}
        lines={
          dlq.link.status === "down"
            ? [
                `DLQ tail unavailable: ${dlq.link.error ?? "?"}`,
                `GET /api/embed-worker/dlq failing ${downText(dlq.link, state.now)}`,
              ]
            : ["waiting for the DLQ tail (GET /api/embed-worker/dlq) …"]
        }
      />
    );
  }
  const items = dlq.data.items;
  const totals = dlqTotals(state);
  const stale =
    dlq.link.status === "down"
      ? `stale: DLQ tail failing ${downText(dlq.link, state.now)} (data from ${clock(dlq.at ?? 0)})`
      : undefined;
  const head = `DLQ: ${count(items.length)} newest entries${totals.total !== null ? ` · ${count(totals.total)} dead-lettered since the workers started` : ""}`;
  if (items.length === 0) {
    return (
      <Box flexDirection="column" width={width} height={height}>
        {stale ? <Line tone="warn">{stale}</Line> : null}
        <Line bold>{head}</Line>
        <Line tone="muted">
          the DLQ is empty — nothing has been dead-lettered (invalid JSON, empty text, rejected inputs land
          here)
        </Line>
      </Box>
    );
  }
  return (
    <Box flexDirection="column" width={width} height={height}>
      {stale ? <Line tone="warn">{stale}</Line> : null}
      <Line bold>{head}</Line>
      <Table
        width={width}
        height={Math.max(2, height - 1 - (stale ? 1 : 0))}
        selected={state.ui.dlq.selected}
        columns={[
          { header: "time", width: 8 },
          { header: "stage", width: 6 },
          { header: "reason", width: 14 },
          { header: "doc_id", width: 14 },
          { header: "preview", flex: 1, min: 10 },
        ]}
        rows={items.map((e) => {
          const t = tsMs(e);
          return [t === null ? "–" : clock(t), str(e.stage), str(e.reason), str(e.doc_id) || "–", preview(e)];
        })}
      />
    </Box>
  );
}
