/** 5 Index: shard statistics (table with size bars), dimensions by model, memory, the indexer. */
import { Box } from "ink";
import { Line } from "../components/Line.tsx";
import { Placeholder } from "../components/Placeholder.tsx";
import { Table } from "../components/Table.tsx";
import { bar } from "../components/text.ts";
import { bytes, clock, count, pairs, REPLAY_HINT, rate } from "../format.ts";
import { downText, workerOrWhy } from "../state/selectors.ts";
import type { ViewProps } from "./props.ts";

export function Index({ state, width, height }: ViewProps) {
  const shards = state.shards;
  const idx = workerOrWhy(state, "indexer");
  const indexerLine =
    "why" in idx
      ? { text: idx.why, tone: idx.tone }
      : {
          text: pairs([
            ["indexer in", rate(idx.w.rates.records_in_per_sec)],
            ["indexed", `${count(idx.w.metrics.indexed)} (${rate(idx.w.derived.indexed_per_sec)})`],
            ["evicted", count(idx.w.metrics.evicted)],
            ["lag", count(idx.w.metrics.lag)],
          ]),
          tone: undefined,
        };
  if (!shards.data) {
    const lines =
      shards.link.status === "down"
        ? [
            `shard statistics unavailable: ${shards.link.error ?? "?"}`,
            `GET /api/knn/shards failing ${downText(shards.link, state.now)}`,
          ]
        : ["waiting for shard statistics (GET /api/knn/shards) …"];
    return (
      <Placeholder
        tone={shards.link.status === "down" ? "bad" : "muted"}
        width={width}
        lines={[...lines, indexerLine.text]}
      />
    );
  }
  const d = shards.data;
  const stale =
    shards.link.status === "down"
      ? `stale: shard statistics failing ${downText(shards.link, state.now)} (data from ${clock(shards.at ?? 0)})`
      : undefined;
  const dims = Object.entries(d.dims_by_model)
    .map(([m, n]) => `${m}:${n}`)
    .join(", ");
  const mem = d.memory;
  const header: { text: string; tone?: "warn" | "bad" | "muted" }[] = [];
  if (stale) {
    header.push({ text: stale, tone: "warn" });
    // Why, as the backend said it (e.g. "HTTP 503: Redis is unavailable for shard statistics").
    if (shards.link.error) header.push({ text: shards.link.error, tone: "warn" });
  }
  header.push({
    text: pairs([
      ["ids", count(d.total_ids)],
      ["shards", `${count(d.nonempty)}/${d.shards.length} non-empty`],
      ["dims", dims || "–"],
    ]),
  });
  header.push({
    text: pairs([
      ["memory: index", bytes(mem.index_bytes)],
      ["vectors", count(mem.index_vectors)],
      // float32 row + int8 copy, when the backend reports it
      ...(mem.bytes_per_vector === undefined
        ? []
        : ([["per vector", bytes(mem.bytes_per_vector)]] as [string, string][])),
      ["Redis used", bytes(mem.redis_used_bytes)],
    ]),
  });
  header.push(indexerLine);
  if ((d.total_ids ?? 0) === 0) {
    return (
      <Box flexDirection="column" width={width} height={height}>
        {header.map((l) => (
          <Line key={l.text} tone={l.tone}>
            {l.text}
          </Line>
        ))}
        <Line tone="muted">the index is empty</Line>
        <Line tone="muted">{REPLAY_HINT}</Line>
      </Box>
    );
  }
  const max = Math.max(1, ...d.shards.map((s) => s.count));
  const barWidth = Math.max(6, Math.min(24, Math.floor(width / 4)));
  return (
    <Box flexDirection="column" width={width} height={height}>
      {header.map((l) => (
        <Line key={l.text} tone={l.tone}>
          {l.text}
        </Line>
      ))}
      <Table
        width={width}
        height={Math.max(2, height - header.length)}
        selected={state.ui.index.selected}
        columns={[
          { header: "shard", width: 5, align: "right" },
          { header: "ids", width: 8, align: "right" },
          { header: "size", width: barWidth },
          { header: "sample doc_ids", flex: 1, min: 8 },
        ]}
        rows={d.shards.map((s) => [
          String(s.id),
          count(s.count),
          bar(s.count / max, barWidth),
          s.samples.join(", "),
        ])}
      />
    </Box>
  );
}
