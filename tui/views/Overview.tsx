/**
 * 1 Overview: health of every component (with "down since"), end-to-end throughput, consumer
 * lag, records so far, DLQ count, and the kNN quick search.
 */
import { Box, Text } from "ink";
import { Chart } from "../components/Chart.tsx";
import { HealthCell } from "../components/HealthCell.tsx";
import { Label, Line } from "../components/Line.tsx";
import { Prompt } from "../components/Prompt.tsx";
import { Sparkline } from "../components/Sparkline.tsx";
import { count, fit, oneLine, pairs, partialNote, REPLAY_HINT, rate } from "../format.ts";
import { allHealth, live } from "../state/health.ts";
import { dlqTotals, reachable } from "../state/selectors.ts";
import { WORKERS, type WorkerSnapshot } from "../state/types.ts";
import { lastValues } from "../state/window.ts";
import type { ViewProps } from "./props.ts";

const LABEL = 12;

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

export function Overview({ state, width, height }: ViewProps) {
  const health = allHealth(state);
  const twoCols = width >= 70;
  const colWidth = twoCols ? Math.floor((width - 1) / 2) : width;
  const rowsOfHealth = twoCols ? Math.ceil(health.length / 2) : health.length;
  const parse = reachable(live(state, "parse"));
  const embed = reachable(live(state, "embed-worker"));
  const indexer = reachable(live(state, "indexer"));
  const e2e = state.series["embed.out"];
  const sparkWidth = Math.max(0, width - LABEL - 14);
  const latestRate = embed?.rates.records_out_per_sec ?? null;
  const dlq = dlqTotals(state);
  const anyRecords = [parse, embed, indexer].some((w) => (num(w?.metrics.records_in) ?? 0) > 0);
  const anyWorker = parse || embed || indexer;

  const lagOf = (w: WorkerSnapshot | undefined) => {
    const r = reachable(w);
    if (!r) return "–";
    const l = num(r.metrics.lag);
    return l === null ? "n/a" : count(l);
  };

  const records = !anyWorker
    ? "no worker is reporting (see health above)"
    : anyRecords
      ? pairs([
          ["parsed", count(parse?.metrics.records_out)],
          ["embedded", count(embed?.metrics.records_out)],
          ["indexed", count(indexer?.metrics.indexed ?? indexer?.metrics.records_out)],
        ])
      : "none yet";

  const dlqText =
    dlq.total === null
      ? state.dlq.data
        ? `${count(state.dlq.data.count)} in the tail (worker counters unavailable)`
        : "unknown (no worker is reporting)"
      : `${count(dlq.total)} records${dlq.byWorker.some(([, n]) => n > 0) ? ` (${dlq.byWorker.map(([w, n]) => `${w} ${count(n)}`).join(", ")})` : ""} · view 6`;

  const knn = state.ui.knn;
  const focused = state.ui.focus === "prompt" && state.ui.view === "overview";
  const showHint = Boolean(anyWorker) && !anyRecords;
  const fixedRows = rowsOfHealth + 7 + (showHint ? 1 : 0);
  const resultRows = Math.max(0, height - fixedRows);
  const shownResults = (knn.result?.neighbors ?? []).slice(0, resultRows);
  // What is left below the results holds a throughput chart (with a blank line above it).
  const chartRows = resultRows - shownResults.length;
  const neighbors = knn.result?.neighbors ?? [];
  const knnLine =
    knn.status === "pending"
      ? `searching “${knn.query}” …`
      : knn.status === "error"
        ? `error: ${knn.error}`
        : knn.status === "done"
          ? neighbors.length === 0
            ? `no neighbours for “${knn.query}”`
            : `${neighbors.length} neighbours of “${knn.query}” (k=${state.ui.k})${knn.result?.partial ? ` — ${partialNote(knn.result.missing_shards)}` : ""} — view 7 for details`
          : `k=${state.ui.k} · free text, doc:<id> or @vector.json`;

  return (
    <Box flexDirection="column" width={width} height={height}>
      <Box flexDirection={twoCols ? "row" : "column"} width={width}>
        {twoCols ? (
          <>
            <Box flexDirection="column" width={colWidth} marginRight={1}>
              {health.slice(0, rowsOfHealth).map((h) => (
                <HealthCell key={h.name} h={h} width={colWidth} />
              ))}
            </Box>
            <Box flexDirection="column" width={colWidth}>
              {health.slice(rowsOfHealth).map((h) => (
                <HealthCell key={h.name} h={h} width={colWidth} />
              ))}
            </Box>
          </>
        ) : (
          health.map((h) => <HealthCell key={h.name} h={h} width={width} />)
        )}
      </Box>
      <Line> </Line>
      <Box width={width}>
        <Label text="Throughput" width={LABEL} />
        {e2e.length > 1 ? (
          <Box flexShrink={0}>
            <Sparkline values={lastValues(e2e, sparkWidth)} width={sparkWidth} />
          </Box>
        ) : null}
        <Text wrap="truncate-end">
          {e2e.length > 1 ? " " : ""}
          {embed ? `${rate(latestRate)} embedded` : "– (embed-worker not reporting)"}
        </Text>
      </Box>
      <Box width={width}>
        <Label text="Lag" width={LABEL} />
        <Line>{pairs(WORKERS.map((w) => [w, lagOf(live(state, w))]))}</Line>
      </Box>
      <Box width={width}>
        <Label text="Records" width={LABEL} />
        <Line dim={!anyRecords}>{records}</Line>
      </Box>
      {showHint ? <Line tone="muted">{REPLAY_HINT}</Line> : null}
      <Box width={width}>
        <Label text="DLQ" width={LABEL} />
        <Line tone={dlq.total ? "warn" : undefined}>{dlqText}</Line>
      </Box>
      <Prompt label="kNN /" text={state.ui.prompt} focused={focused} width={width} hint="press / to search" />
      <Line tone={knn.status === "error" ? "bad" : "muted"}>{knnLine}</Line>
      {shownResults.map((n, i) => (
        <Line key={n.doc_id}>
          {fit(`${i + 1}`, 3, "right")} {n.score.toFixed(3)} {fit(n.doc_id, 16)} {oneLine(n.text)}
        </Line>
      ))}
      {chartRows >= 5 ? (
        <Box marginTop={1}>
          <Chart
            title="embedded rows/s, last 3 min"
            values={e2e.map((p) => p.v)}
            width={width}
            height={chartRows - 1}
            empty={embed ? "no rate yet (two snapshots needed)" : "embed-worker not reporting"}
          />
        </Box>
      ) : null}
    </Box>
  );
}
