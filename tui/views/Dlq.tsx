/**
 * 6 DLQ: the newest dead-lettered entries (time, stage, reason, doc_id, preview); Enter opens
 * one in full (scrollable), `s` saves the tail to an NDJSON file; with actions allowed, `R` / `A`
 * replay the selected entry / its stage and reason after showing the backend's dry run.
 */
import { Box } from "ink";
import { summaryLine } from "../../pipeline/contracts/dlq-replay.ts";
import { Line } from "../components/Line.tsx";
import { Placeholder } from "../components/Placeholder.tsx";
import { Table } from "../components/Table.tsx";
import { entryTimeMs, fieldText, preview } from "../dlq-entry.ts";
import { clock, count, fit } from "../format.ts";
import { detailLayout } from "../layout.ts";
import { dlqTotals, downText } from "../state/selectors.ts";
import type { DlqEntry, ReplayUi } from "../state/types.ts";
import type { ViewProps } from "./props.ts";

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
  const { lines, visible, maxScroll } = detailLayout(entry, width, height);
  const top = Math.min(scroll, maxScroll);
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

/** The replay's confirmation: what the dry run says would be sent, then y/n. */
export function DlqReplayConfirm({
  replay,
  width,
  height,
}: {
  replay: ReplayUi;
  width: number;
  height: number;
}) {
  const p = replay.preview;
  const title =
    replay.phase === "preview"
      ? `Replay ${replay.label}: asking the backend what would be sent …`
      : replay.phase === "running"
        ? `Replaying ${replay.label} …`
        : `Replay ${p?.summary.would_send ?? 0} entries? y replays, n or Esc cancels`;
  const lines = p
    ? [
        `what: ${replay.label}`,
        summaryLine(p.summary),
        "",
        ...p.items.map(
          (i) =>
            `${i.status === "would_send" ? "send" : i.status.replace("_", " ")} ${i.to ?? ""} key ${i.key ?? "–"} ${i.reason} doc_id ${i.doc_id ?? "–"}${i.bytes === null ? "" : ` ${i.bytes} B`}${i.why ? ` — ${i.why}` : ""}`,
        ),
      ]
    : [`what: ${replay.label}`];
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Line bold inverse>
        {fit(title, width)}
      </Line>
      {lines.slice(0, Math.max(0, height - 1)).map((l, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: lines are positional
        <Line key={i}>{fit(l, width)}</Line>
      ))}
    </Box>
  );
}

export function Dlq({ state, width, height }: ViewProps) {
  const replay = state.ui.dlq.replay;
  if (replay) return <DlqReplayConfirm replay={replay} width={width} height={height} />;
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
  const actions = state.allowActions
    ? "R replays the selected entry, A its stage and reason (both ask first)"
    : "replay is disabled: start the console with --allow-actions (or TUI_ALLOW_ACTIONS=1)";
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
      <Line tone="muted">{fit(actions, width)}</Line>
      <Table
        width={width}
        height={Math.max(2, height - 2 - (stale ? 1 : 0))}
        selected={state.ui.dlq.selected}
        columns={[
          { header: "time", width: 8 },
          { header: "stage", width: 6 },
          { header: "reason", width: 14 },
          { header: "doc_id", width: 14 },
          { header: "preview", flex: 1, min: 10 },
        ]}
        rows={items.map((e) => {
          const t = entryTimeMs(e);
          return [
            t === null ? "–" : clock(t),
            fieldText(e.stage),
            fieldText(e.reason),
            fieldText(e.doc_id) || "–",
            preview(e),
          ];
        })}
      />
    </Box>
  );
}
