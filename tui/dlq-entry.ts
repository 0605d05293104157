/**
 * A DLQ entry as text: the one-cell preview of the table and the full, wrapped lines of the
 * detail. Pure: the DLQ view draws these lines, and the key handling scrolls over them.
 */
import type { Stage } from "../pipeline/contracts/dlq.ts";
import type { DlqReplayRequest } from "../pipeline/contracts/dlq-replay.ts";
import { wrapText } from "./components/text.ts";
import { dateTime, fit, oneLine } from "./format.ts";
import type { DlqEntry } from "./state/types.ts";

/** A field of an entry as text: a string as it is, anything else as JSON, nothing as "". */
export const fieldText = (v: unknown): string =>
  v === null || v === undefined ? "" : typeof v === "string" ? v : JSON.stringify(v);

/**
 * What to show of an entry in one cell: its text, else the original value (a blank value is
 * shown quoted, so it is visibly blank), else the error.
 */
export function preview(e: DlqEntry): string {
  const text = fieldText(e.text);
  if (text.trim() !== "") return oneLine(text);
  if (typeof e.value === "string")
    return e.value.trim() === "" ? `(blank value ${JSON.stringify(e.value)})` : oneLine(e.value);
  if (typeof e.value_b64 === "string" && e.value_b64 !== "")
    return `(binary, ${e.value_b64.length} base64 chars)`;
  return oneLine(fieldText(e.error));
}

/** When the entry was dead-lettered, epoch ms (`ts` is in seconds), or null. */
export const entryTimeMs = (e: DlqEntry): number | null => (typeof e.ts === "number" ? e.ts * 1000 : null);

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
  const t = entryTimeMs(e);
  const field = (k: string, v: string) => wrapText(`${fit(k, 10)} ${v}`, width);
  const block = (k: string, v: unknown) => {
    const text = fieldText(v);
    if (v === null || v === undefined) return [];
    const shown = text.trim() === "" ? `${JSON.stringify(text)} (blank)` : text;
    return ["", `${k}:`, ...wrapText(shown, width)];
  };
  const extra = Object.keys(e)
    .filter((k) => !SHOWN.has(k))
    .sort()
    .flatMap((k) => field(k, fieldText(e[k]) || "–"));
  return [
    ...field("time", t === null ? "–" : dateTime(t)),
    ...field("stage", fieldText(e.stage)),
    ...field("reason", fieldText(e.reason)),
    ...field("doc_id", fieldText(e.doc_id) || "–"),
    ...field("topic", fieldText(e.topic) || "–"),
    ...field("model", fieldText(e.model) || "–"),
    ...field(
      "kafka_ts",
      e.kafka_ts == null ? "–" : `${fieldText(e.kafka_ts)} (${dateTime(Number(e.kafka_ts))})`,
    ),
    ...field(
      "source",
      `${fieldText(src.topic)} partition ${fieldText(src.partition)} offset ${fieldText(src.offset)}${src.key ? ` key ${fieldText(src.key)}` : ""}`,
    ),
    ...extra,
    ...block("error", e.error),
    ...block("text", e.text),
    ...block("value", e.value),
    ...(e.value === null || e.value === undefined ? block("value_b64", e.value_b64) : []),
  ];
}

/** What a replay of one entry asks the backend: its original record (the replay ledger's key). */
export function replayOfEntry(e: DlqEntry | undefined): { label: string; request: DlqReplayRequest } | null {
  const src = (typeof e?.source === "object" && e.source !== null ? e.source : {}) as Record<string, unknown>;
  if (typeof e?.stage !== "string" || typeof src.topic !== "string" || src.partition === undefined)
    return null;
  const original = `${e.stage}:${src.topic}/${fieldText(src.partition)}/${fieldText(src.offset)}`;
  const doc = typeof e.doc_id === "string" ? ` doc_id ${e.doc_id}` : "";
  return { label: `the selected entry (${fieldText(e.reason)}${doc})`, request: { original: [original] } };
}

/** What a replay of every entry with the entry's stage and reason asks the backend. */
export function replayOfReason(e: DlqEntry | undefined): { label: string; request: DlqReplayRequest } | null {
  if (typeof e?.stage !== "string" || typeof e.reason !== "string") return null;
  return {
    label: `every entry of stage ${e.stage}, reason ${e.reason}`,
    request: { stage: [e.stage as Stage], reason: [e.reason] },
  };
}
