/**
 * 7 kNN: the prompt (free text, `doc:<id>`, `@path/to/vector.json`), k, and the results
 * (rank, score, doc_id, topic, text); Enter on a result searches from it.
 */
import { Box } from "ink";
import { Line } from "../components/Line.tsx";
import { Prompt } from "../components/Prompt.tsx";
import { Table } from "../components/Table.tsx";
import { count, ms, partialNote } from "../format.ts";
import type { ViewProps } from "./props.ts";

const IDLE_HELP = [
  "free text    embedded by the backend with the index's model, e.g. “retry on timeout”",
  "doc:<id>     neighbours of an indexed document",
  '@file.json   a vector from a file: [0.1, …] or {"vector": […]}',
  "… | k=v      only matches: labels, topic or success, e.g. “flaky tests | success=true agent=coder”",
  "Enter on a result searches from it; ↑/↓ in the prompt recalls history",
];

export function Knn({ state, width, height }: ViewProps) {
  const ui = state.ui;
  const knn = ui.knn;
  const focused = ui.focus === "prompt" && ui.view === "knn";
  const neighbors = knn.result?.neighbors ?? [];
  const partial = knn.status === "done" && knn.result?.partial === true;
  const status =
    knn.status === "pending"
      ? `searching “${knn.query}” …`
      : knn.status === "error"
        ? `error: ${knn.error}`
        : knn.status === "done"
          ? `${neighbors.length} neighbours · ${count(knn.result?.count_scored)} scored in ${ms(knn.result?.took_ms)}${knn.result?.model ? ` · ${knn.result.model}` : ""} · for “${knn.query}”`
          : "no query yet";
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Prompt
        label="query /"
        text={ui.prompt}
        focused={focused}
        width={width}
        hint="press / then type: free text, doc:<id> or @path/to/vector.json"
      />
      <Line tone={knn.status === "error" ? "bad" : "muted"}>{`k=${ui.k} (+/-) · ${status}`}</Line>
      {partial ? <Line tone="warn">{partialNote(knn.result?.missing_shards)}</Line> : null}
      {knn.status === "done" && neighbors.length > 0 ? (
        <Table
          width={width}
          height={Math.max(2, height - 2 - (partial ? 1 : 0))}
          selected={focused ? undefined : knn.selected}
          columns={[
            { header: "#", width: 3, align: "right" },
            { header: "score", width: 6, align: "right" },
            { header: "doc_id", width: 16 },
            { header: "topic", width: 14 },
            { header: "text", flex: 1, min: 10 },
          ]}
          rows={neighbors.map((n, i) => [
            String(i + 1),
            Number.isFinite(n.score) ? n.score.toFixed(3) : "–",
            n.doc_id,
            n.topic ?? "–",
            n.text,
          ])}
        />
      ) : knn.status === "done" ? (
        <Line tone="muted">
          no neighbours — the index may be empty (view 5) or the model has no vectors yet
        </Line>
      ) : knn.status === "idle" ? (
        <Box flexDirection="column">
          {IDLE_HELP.map((l) => (
            <Line key={l} tone="muted">
              {l}
            </Line>
          ))}
        </Box>
      ) : null}
    </Box>
  );
}
