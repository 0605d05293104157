/**
 * The DLQ entry of a record that cannot reach its outputs (the envelope is
 * `pipeline/contracts/dlq.ts`; the DLQ targets are ordinary writers, `pipeline/io/dlq-sinks.ts`).
 */
import {
  DLQ_HEADERS_MAX_BYTES,
  DLQ_KEY_MAX_CHARS,
  type DlqEntry,
  type DlqReason,
  originalValue,
} from "../contracts/dlq.ts";
import { truncate } from "../contracts/extract.ts";
import type { EmbeddingInput } from "../contracts/records.ts";
import type { SourceRecord } from "./source.ts";

const DLQ_ERROR_MAX_CHARS = 4096;

/** A doc_id as an entry keeps it: one longer than DLQ_KEY_MAX_CHARS (not a valid id anyway) is cut. */
function boundedId(id: string | null): string | null {
  return id === null ? null : truncate(id, DLQ_KEY_MAX_CHARS).text;
}

/** The record key as an entry keeps it: UTF-8 text, cut to DLQ_KEY_MAX_CHARS and marked. */
function sourceKey(key: Buffer | null): { key: string | null; key_truncated?: true } {
  if (!key) return { key: null };
  const cut = truncate(key.toString("utf8"), DLQ_KEY_MAX_CHARS);
  return cut.truncated ? { key: cut.text, key_truncated: true } : { key: cut.text };
}

/**
 * The record's headers as an entry keeps them: none when it had none (so an entry without
 * headers is what it always was), left out and marked when larger than DLQ_HEADERS_MAX_BYTES.
 */
function sourceHeaders(headers: Record<string, string>): {
  headers?: Record<string, string>;
  headers_dropped?: true;
} {
  if (Object.keys(headers).length === 0) return {};
  if (Buffer.byteLength(JSON.stringify(headers), "utf8") > DLQ_HEADERS_MAX_BYTES)
    return { headers_dropped: true };
  return { headers: { ...headers } };
}

/** Builds the envelope for one record that cannot reach its outputs. */
export function dlqEntry(
  record: SourceRecord,
  reason: DlqReason,
  error: string,
  extra: {
    input?: EmbeddingInput;
    model?: string | null;
    stage?: DlqEntry["stage"];
    /** The record's doc_id when known without an input (a parse DLQ entry with an explicit id). */
    doc_id?: string | null;
  } = {},
): DlqEntry {
  return {
    stage: extra.stage ?? "embed",
    reason,
    // Both are bounded so that cutting the original always makes an entry fit (a parse
    // doc_id is at most 512 bytes and its errors short, so the Spark job needs no such cut).
    error: truncate(error, DLQ_ERROR_MAX_CHARS).text,
    topic: extra.input?.topic ?? record.topic,
    text: extra.input?.text ?? null,
    doc_id: boundedId(extra.input?.doc_id ?? extra.doc_id ?? null),
    kafka_ts: extra.input?.kafka_ts ?? record.timestamp,
    ts: Date.now() / 1000,
    model: extra.model ?? null,
    source: {
      topic: record.topic,
      partition: record.partition,
      offset: record.offset,
      ...sourceKey(record.key),
      timestamp: record.timestamp,
      ...sourceHeaders(record.headers),
    },
    ...originalValue(record.value),
  };
}
