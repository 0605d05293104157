/**
 * 3 Vectorizer / parse: the parse worker's records in/out and drops by reason, and the
 * Parquet output (rows/s and bytes/s charts, folders).
 */
import { Box } from "ink";
import { Chart } from "../components/Chart.tsx";
import { Line } from "../components/Line.tsx";
import { Table } from "../components/Table.tsx";
import { bytes, clock, count, fit, pairs, REPLAY_HINT, rate, reasonsText } from "../format.ts";
import { noRecords, noStreamData, staleText, workerOrWhy } from "../state/selectors.ts";
import type { ViewProps } from "./props.ts";

export function Vectorizer({ state, width, height }: ViewProps) {
  const parse = workerOrWhy(state, "parse");
  const vec = state.streams.vectorizer.last;
  const vecMissing = noStreamData(state, "vectorizer");
  const stale = staleText(state, "parse") ?? staleText(state, "vectorizer");
  const lines: { text: string; tone?: "bad" | "muted" | "warn"; bold?: boolean }[] = [];
  if (stale) lines.push({ text: stale, tone: "warn" });
  if ("why" in parse) {
    lines.push({ text: parse.why, tone: parse.tone });
  } else {
    const w = parse.w;
    const m = w.metrics;
    lines.push({
      text: pairs([
        [m.engine === "spark" ? "parse (Spark job) in" : "parse in", rate(w.rates.records_in_per_sec)],
        ["out", rate(w.rates.records_out_per_sec)],
        ["records", `${count(m.records_in)} → ${count(m.records_out)}`],
        ["lag", count(m.lag)],
      ]),
      bold: true,
    });
    if (noRecords(w)) lines.push({ text: REPLAY_HINT, tone: "muted" });
    lines.push({
      text: `drops (DLQ) ${count(m.dlq_records)}: ${reasonsText(m.dlq_by_reason)} · truncated ${count(m.truncated)}`,
      tone: typeof m.dlq_records === "number" && m.dlq_records > 0 ? "warn" : undefined,
    });
  }
  if (vecMissing || !vec) {
    lines.push({ text: (vecMissing ?? ["no Parquet statistics"]).join(" — "), tone: "muted" });
  } else if (!vec.stats.enabled) {
    lines.push({ text: "Parquet output of parse is off (VEC_OUTPUT_DIR unset)", tone: "muted" });
  } else {
    const st = vec.stats;
    lines.push({
      text: st.error
        ? `Parquet ${st.path}: ${st.error}`
        : pairs([
            ["Parquet files", count(st.files)],
            ["rows", count(st.rows_est)],
            ["size", bytes(st.bytes)],
            ["latest", st.latest_ts === null ? "–" : clock(st.latest_ts * 1000)],
          ]),
      tone: st.error ? "bad" : undefined,
    });
  }
  const folders = vec ? Object.entries(vec.folders) : [];
  const tableH = folders.length > 0 ? Math.min(folders.length + 1, 5) : 0;
  const chartH = Math.max(3, Math.min(10, height - lines.length - tableH));
  const half = Math.floor((width - 1) / 2);
  return (
    <Box flexDirection="column" width={width} height={height}>
      {lines.map((l) => (
        <Line key={l.text} tone={l.tone} bold={l.bold}>
          {l.text}
        </Line>
      ))}
      <Box width={width}>
        <Box marginRight={1}>
          <Chart
            title={fit(`Parquet rows/s  ${rate(vec?.rate_rows_per_sec)}`, half)}
            values={state.series["vec.rows"].map((p) => p.v)}
            width={half}
            height={chartH}
          />
        </Box>
        <Chart
          title={`Parquet bytes/s  ${vec?.rate_bytes_per_sec == null ? "–" : `${bytes(vec.rate_bytes_per_sec)}/s`}`}
          values={state.series["vec.bytes"].map((p) => p.v)}
          width={width - half - 1}
          height={chartH}
          tone="accent2"
        />
      </Box>
      {tableH > 0 ? (
        <Table
          width={width}
          height={tableH}
          columns={[
            { header: "folder", flex: 1, min: 8 },
            { header: "files", width: 6, align: "right" },
            { header: "rows", width: 10, align: "right" },
            { header: "size", width: 10, align: "right" },
            { header: "rows/s", width: 9, align: "right" },
            { header: "latest", width: 8 },
          ]}
          rows={folders.map(([name, f]) =>
            f.enabled
              ? [
                  name,
                  count(f.files),
                  count(f.rows_est),
                  bytes(f.bytes),
                  rate(f.rate_rows_per_sec, ""),
                  f.latest_ts === null ? "–" : clock(f.latest_ts * 1000),
                ]
              : [name, "off", "", "", "", ""],
          )}
        />
      ) : null}
    </Box>
  );
}
