/**
 * The DLQ envelope: one per record that could not reach its outputs. It keeps the seed's
 * fields (`topic, text, doc_id, kafka_ts, ts, model, reason`) and adds what an operator
 * needs to understand and replay it: stage, error, source coordinates and the original
 * bytes, once: as `value` (text) when they are valid UTF-8, else as `value_b64`.
 *
 * Every entry fits what the DLQ accepts ({@link boundDlqEntry}): when the whole entry would be
 * larger than the limit (`DLQ_MAX_ENTRY_BYTES`), the original is cut to a prefix, kept as
 * `value_b64`, and marked with `value_truncated`, its full length `value_bytes` and its
 * `value_sha256`. A record key longer than {@link DLQ_KEY_MAX_CHARS} is cut and marked too.
 */
import { createHash } from "node:crypto";
import { truncate } from "./extract.ts";
export type Stage = "parse" | "embed" | "index";

export type DlqReason =
  | "null_value"
  | "empty_text"
  | "invalid_doc_id"
  | "output_rejected"
  | "invalid_json"
  | "invalid_record"
  | "rejected"
  | "invalid_vector";

export interface SourceCoordinates {
  topic: string;
  partition: number;
  offset: string;
  /** Record key as UTF-8 text (null when absent); cut to DLQ_KEY_MAX_CHARS. */
  key: string | null;
  /** Present when the key was longer than DLQ_KEY_MAX_CHARS and cut. */
  key_truncated?: true;
  /** Kafka timestamp, epoch ms. */
  timestamp: number | null;
  /**
   * The record's headers as UTF-8 text, when it had any (absent otherwise, and in the Spark
   * job's entries), so that a replay re-produces them (`pipeline/io/dlq-replay.ts`).
   */
  headers?: Record<string, string>;
  /** Present when the headers were larger than DLQ_HEADERS_MAX_BYTES and left out. */
  headers_dropped?: true;
}

export interface DlqEntry {
  stage: Stage;
  reason: DlqReason;
  error: string;
  /** Topic field of the record (its original source topic when known), as in the seed. */
  topic: string | null;
  text: string | null;
  doc_id: string | null;
  kafka_ts: number | null;
  /** When the record was dead-lettered, epoch seconds. */
  ts: number;
  model: string | null;
  source: SourceCoordinates;
  /** Original value bytes, base64, when they are not valid UTF-8 (or cut); else null. */
  value_b64: string | null;
  /** Original value as text when it is valid UTF-8 (then value_b64 is null); null for a tombstone. */
  value: string | null;
  /** Present when the original was too large for the DLQ: value_b64 holds its first bytes. */
  value_truncated?: true;
  /** Length of the whole original, bytes (with value_truncated). */
  value_bytes?: number;
  /** sha256 of the whole original, lowercase hex (with value_truncated). */
  value_sha256?: string;
}

/** Longest record key an entry keeps, in UTF-16 code units. */
export const DLQ_KEY_MAX_CHARS = 1024;
/** Largest JSON of a record's headers an entry keeps; larger headers are left out and marked. */
export const DLQ_HEADERS_MAX_BYTES = 8192;
/** Smallest DLQ_MAX_ENTRY_BYTES: room for the envelope's own fields and an 8192-char text. */
export const DLQ_MIN_ENTRY_BYTES = 65_536;
/** Bytes kept free for `ts`, whose spelling varies in length between clocks and engines. */
const TS_RESERVE = 32;

// ignoreBOM keeps a leading U+FEFF, so the text re-encodes to exactly the original bytes.
const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The original bytes, once: as text when they are valid UTF-8, else base64; both null for a tombstone. */
export function originalValue(bytes: Uint8Array | null): { value_b64: string | null; value: string | null } {
  if (bytes === null) return { value_b64: null, value: null };
  try {
    return { value_b64: null, value: strict.decode(bytes) };
  } catch {
    return { value_b64: Buffer.from(bytes).toString("base64"), value: null };
  }
}

/** The original value bytes an entry holds (a prefix when value_truncated); null for a tombstone. */
export function entryBytes(e: Pick<DlqEntry, "value" | "value_b64">): Buffer | null {
  if (e.value !== null) return Buffer.from(e.value, "utf8");
  if (e.value_b64 !== null) return Buffer.from(e.value_b64, "base64");
  return null;
}

const jsonBytes = (o: unknown) => Buffer.byteLength(JSON.stringify(o), "utf8");

/**
 * The entry without its original bytes (`value` and `value_b64` null), marked truncated with
 * the original's length and sha256 — what is left when the DLQ refuses even a bounded entry.
 */
export function dropOriginal(e: DlqEntry): DlqEntry {
  const original = entryBytes(e) ?? Buffer.alloc(0);
  return {
    ...e,
    value_b64: null,
    value: null,
    value_truncated: true,
    value_bytes: e.value_bytes ?? original.length,
    value_sha256: e.value_sha256 ?? createHash("sha256").update(original).digest("hex"),
  };
}

/**
 * The entry, or a copy that fits `maxBytes` of JSON: the original value cut to the prefix
 * that fits (as base64, marked, with its full length and sha256), then — only when the text
 * alone is too large — the text cut to what fits even if every character needed a 6-byte
 * JSON escape. The Spark job's `bound_dlq_entry` does the same, byte for byte.
 */
export function boundDlqEntry(e: DlqEntry, maxBytes: number): DlqEntry {
  // Measured with ts 0 and TS_RESERVE for it: the outcome must not depend on the clock's spelling.
  if (jsonBytes({ ...e, ts: 0 }) + TS_RESERVE <= maxBytes) return e;
  const original = entryBytes(e) ?? Buffer.alloc(0);
  const cut: DlqEntry = { ...dropOriginal(e), value_b64: "" };
  let room = maxBytes - jsonBytes({ ...cut, ts: 0 }) - TS_RESERVE;
  if (room < 0 && cut.text !== null) {
    const without = jsonBytes({ ...cut, ts: 0, text: "" }) + TS_RESERVE;
    cut.text = truncate(cut.text, Math.max(0, Math.floor((maxBytes - without) / 6))).text;
    room = maxBytes - jsonBytes({ ...cut, ts: 0 }) - TS_RESERVE;
  }
  cut.value_b64 = original.subarray(0, Math.max(0, Math.floor(room / 4) * 3)).toString("base64");
  return cut;
}
