/**
 * 4 Embed: records in/out rates, InferMesh round trip, failures and retries, cache hit rate,
 * batch size, Parquet output, DLQ by reason.
 */
import { Box } from "ink";
import { Chart } from "../components/Chart.tsx";
import { Line } from "../components/Line.tsx";
import { Placeholder } from "../components/Placeholder.tsx";
import { bytes, count, fit, ms, pairs, percent, REPLAY_HINT, rate, reasonsText } from "../format.ts";
import { noRecords, staleText, workerOrWhy } from "../state/selectors.ts";
import type { ViewProps } from "./props.ts";

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;

export function Embed({ state, width, height }: ViewProps) {
  const r = workerOrWhy(state, "embed-worker");
  if ("why" in r) {
    return (
      <Placeholder
        tone={r.tone}
        width={width}
        lines={[
          r.why,
          "InferMesh, cache and batch figures come from the embed worker's /metrics via the backend.",
        ]}
      />
    );
  }
  const w = r.w;
  const m = w.metrics;
  const d = w.derived;
  const pq = isObj(m.parquet) ? m.parquet : undefined;
  const stale = staleText(state, "embed-worker");
  const lines: { text: string; tone?: "warn" | "bad" | "muted"; bold?: boolean }[] = [];
  if (stale) lines.push({ text: stale, tone: "warn" });
  lines.push({
    text: pairs([
      ["in", rate(w.rates.records_in_per_sec)],
      ["out", rate(w.rates.records_out_per_sec)],
      ["batches", rate(w.rates.batches_per_sec)],
      ["batch size", count(m.current_batch_size)],
      ...(m.batch_adaptive === true
        ? ([["adaptive limit", count(m.batch_limit)]] as [string, string][])
        : []),
      ["in flight", count(m.in_flight)],
      ["lag", count(m.lag)],
    ]),
    bold: true,
  });
  if (noRecords(w)) lines.push({ text: REPLAY_HINT, tone: "muted" });
  if (m.paused === true) {
    lines.push({
      text: `paused: outage${d.retrying.length ? ` (retrying ${d.retrying.join(", ")})` : ""} — nothing is dropped, it resumes by itself`,
      tone: "warn",
    });
  }
  lines.push({
    text: pairs([
      ["InferMesh rtt", ms(m.last_infermesh_rtt_ms)],
      ["calls", count(m.total_infermesh_calls)],
      ["failures", `${count(m.infermesh_failures)} (${rate(d.infermesh_failures_per_sec)})`],
      ["retries", `${count(m.retries)} (${rate(d.retries_per_sec)})`],
    ]),
    tone: (d.infermesh_failures_per_sec ?? 0) > 0 || (d.retries_per_sec ?? 0) > 0 ? "warn" : undefined,
  });
  lines.push({
    text: pairs([
      ["cache hit", `${percent(d.cache_hit_ratio_recent)} now, ${percent(d.cache_hit_ratio_total)} total`],
      ["size", count(isObj(m.cache) ? m.cache.size : undefined)],
      ["model", typeof m.model === "string" ? m.model : "–"],
    ]),
  });
  if (pq) {
    lines.push({
      text: pairs([
        ["Parquet files", count(pq.files_written)],
        ["rows", `${count(pq.rows_written)} (${rate(d.parquet_rows_per_sec)})`],
        [
          "size",
          `${bytes(pq.bytes_written)} (${d.parquet_bytes_per_sec === null ? "–" : `${bytes(d.parquet_bytes_per_sec)}/s`})`,
        ],
        ...(typeof pq.write_errors === "number" && pq.write_errors > 0
          ? ([["write errors", count(pq.write_errors)]] as [string, string][])
          : []),
      ]),
    });
  }
  const dlqLine = `DLQ ${count(m.dlq_records)}: ${reasonsText(m.dlq_by_reason)}`;
  const chartRows = Math.max(0, height - lines.length - 1);
  const chartH = Math.max(3, Math.floor(chartRows / 2));
  const half = Math.floor((width - 1) / 2);
  const rest = width - half - 1;
  const values = (k: "embed.in" | "embed.out" | "embed.rtt") => state.series[k].map((p) => p.v);
  return (
    <Box flexDirection="column" width={width} height={height}>
      {lines.map((l) => (
        <Line key={l.text} tone={l.tone} bold={l.bold}>
          {l.text}
        </Line>
      ))}
      <Line tone={typeof m.dlq_records === "number" && m.dlq_records > 0 ? "warn" : undefined}>
        {dlqLine}
      </Line>
      <Box width={width}>
        <Box marginRight={1}>
          <Chart
            title={fit(`records in/s  ${rate(w.rates.records_in_per_sec)}`, half)}
            values={values("embed.in")}
            width={half}
            height={chartH}
          />
        </Box>
        <Chart
          title={`records out/s  ${rate(w.rates.records_out_per_sec)}`}
          values={values("embed.out")}
          width={rest}
          height={chartH}
          tone="accent2"
        />
      </Box>
      <Chart
        title={`InferMesh round trip (ms)  ${ms(m.last_infermesh_rtt_ms)}`}
        values={values("embed.rtt")}
        width={width}
        height={Math.max(3, chartRows - chartH)}
        tone="warn"
      />
    </Box>
  );
}
