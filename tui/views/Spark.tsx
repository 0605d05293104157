/** 2 Spark: application, executors, cores and memory, jobs, streaming input/processing rates. */
import { Box, Text } from "ink";
import { Bar } from "../components/Bar.tsx";
import { Chart } from "../components/Chart.tsx";
import { Line } from "../components/Line.tsx";
import { Placeholder } from "../components/Placeholder.tsx";
import { Table } from "../components/Table.tsx";
import { bytes, clock, count, fit, ms, pairs, rate } from "../format.ts";
import { parseOnSpark, SPARK_NOT_IN_USE } from "../state/health.ts";
import { noStreamData, staleText } from "../state/selectors.ts";
import type { ViewProps } from "./props.ts";

export function Spark({ state, width, height }: ViewProps) {
  const missing = noStreamData(state, "spark");
  if (missing) return <Placeholder lines={missing} width={width} />;
  const stale = staleText(state, "spark");
  const s = state.streams.spark.last;
  if (!s) return null;
  if (s.status !== "running" && parseOnSpark(state) === false) {
    return (
      <Placeholder
        tone="muted"
        width={width}
        lines={[
          `Spark: ${SPARK_NOT_IN_USE}`,
          "The parse stage runs on the Bun worker; `npm run up -- --spark` runs it as a Spark job instead.",
        ]}
      />
    );
  }
  if (s.status === "unreachable") {
    const since = state.streams.spark.componentDownSince;
    return (
      <Placeholder
        tone="bad"
        width={width}
        lines={[
          `Spark unreachable${since ? ` since ${clock(since)}` : ""}`,
          `error: ${s.error}`,
          "The backend reads Spark's REST API (SPARK_VECTOR_UI_URL); nothing is shown until it answers.",
          ...(stale ? [stale] : []),
        ]}
      />
    );
  }
  if (s.status === "no_application") {
    return (
      <Placeholder
        width={width}
        lines={[
          "Spark: not running — no application is running on the Spark UI",
          `applications listed: ${s.applications} (none running)`,
          ...(stale ? [stale] : []),
        ]}
      />
    );
  }
  const jobs = s.jobs;
  const byStatus = new Map<string, number>();
  for (const j of jobs) byStatus.set(j.status, (byStatus.get(j.status) ?? 0) + 1);
  const jobText = [...byStatus].map(([k, n]) => `${k.toLowerCase()} ${n}`).join(", ");
  const memRatio =
    s.cluster.memory_max && s.cluster.memory_max > 0
      ? (s.cluster.memory_used ?? 0) / s.cluster.memory_max
      : null;
  const barWidth = Math.min(20, Math.max(5, width - 60));
  const info = 3 + (stale ? 1 : 0);
  const chartH = Math.max(3, Math.min(8, Math.floor((height - info) / 2)));
  const half = Math.floor((width - 1) / 2);
  const tableH = Math.max(0, height - info - chartH);
  const input = state.series["spark.input"].map((p) => p.v);
  const processing = state.series["spark.processing"].map((p) => p.v);
  return (
    <Box flexDirection="column" width={width} height={height}>
      {stale ? <Line tone="warn">{stale}</Line> : null}
      <Line bold>
        {`app ${s.applicationName ?? "?"} (${s.applicationId ?? "?"})${s.master ? ` · master ${s.master}` : ""}`}
      </Line>
      <Box width={width}>
        <Box flexShrink={0}>
          <Text>{`cores ${count(s.cluster.cores_total)} · memory `}</Text>
          <Bar ratio={memRatio} width={barWidth} />
        </Box>
        <Text wrap="truncate-end">{` ${bytes(s.cluster.memory_used)} / ${bytes(s.cluster.memory_max)} · executors ${s.executors.length}`}</Text>
      </Box>
      <Line>
        {pairs([
          ["jobs", `${jobs.length}${jobText ? ` (${jobText})` : ""}`],
          ["stages", String(s.stages)],
          ["batch", ms(s.streaming.batch_duration_ms)],
        ])}
      </Line>
      <Box width={width}>
        <Box marginRight={1}>
          <Chart
            title={fit(`input rows/s  ${rate(s.streaming.input_rate)}`, half)}
            values={input}
            width={half}
            height={chartH}
            empty="no streaming metrics (spark.sql.streaming.metricsEnabled)"
          />
        </Box>
        <Chart
          title={`processing rows/s  ${rate(s.streaming.processing_rate)}`}
          values={processing}
          width={width - half - 1}
          height={chartH}
          tone="accent2"
          empty="no streaming metrics"
        />
      </Box>
      {s.executors.length === 0 ? (
        <Line tone="muted">no executors reported</Line>
      ) : (
        <Table
          width={width}
          height={tableH}
          columns={[
            { header: "executor", width: 9 },
            { header: "host", flex: 2, min: 8 },
            { header: "cores", width: 5, align: "right" },
            { header: "mem used/max", width: 19, align: "right" },
            { header: "active", width: 6, align: "right" },
            { header: "done", width: 7, align: "right" },
            { header: "failed", width: 6, align: "right" },
          ]}
          rows={s.executors.map((e) => [
            e.id,
            e.hostPort,
            count(e.totalCores),
            `${bytes(e.memoryUsed)}/${bytes(e.maxMemory)}`,
            count(e.activeTasks),
            count(e.completedTasks),
            count(e.failedTasks),
          ])}
          tones={s.executors.map((e) => ((e.failedTasks ?? 0) > 0 ? "warn" : undefined))}
        />
      )}
    </Box>
  );
}
