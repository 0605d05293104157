/**
 * The DLQ envelope: one per record that could not reach its outputs. It keeps the seed's
 * fields (`topic, text, doc_id, kafka_ts, ts, model, reason`) and adds what an operator
 * needs to understand and replay it: stage, error, source coordinates and the original
 * bytes (base64, plus UTF-8 text when the bytes are valid UTF-8).
 */
export type Stage = "parse" | "embed" | "index";

export type DlqReason =
  | "null_value"
  | "empty_text"
  | "invalid_json"
  | "invalid_record"
  | "rejected"
  | "invalid_vector";

export interface SourceCoordinates {
  topic: string;
  partition: number;
  offset: string;
  /** Record key as UTF-8 text (null when absent). */
  key: string | null;
  /** Kafka timestamp, epoch ms. */
  timestamp: number | null;
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
  /** Original value bytes, base64 (null for a tombstone). */
  value_b64: string | null;
  /** Original value as text when it is valid UTF-8. */
  value: string | null;
}

const strict = new TextDecoder("utf-8", { fatal: true });

export function originalValue(bytes: Uint8Array | null): { value_b64: string | null; value: string | null } {
  if (bytes === null) return { value_b64: null, value: null };
  let value: string | null = null;
  try {
    value = strict.decode(bytes);
  } catch {}
  return { value_b64: Buffer.from(bytes).toString("base64"), value };
}
