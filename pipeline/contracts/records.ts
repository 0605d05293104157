/**
 * Wire records between the stages, and their validation.
 *
 * Units: `kafka_ts` is the source record's Kafka timestamp in epoch **milliseconds**
 * (integer, or null when unknown); `embedded_ts` is epoch **seconds** as a float (the
 * seed's unit), taken when the vector was produced.
 */

/** `embedding_input` value, written by parse. */
export interface EmbeddingInput {
  text: string;
  /** The source topic the agent result came from. */
  topic: string | null;
  kafka_ts: number | null;
  doc_id: string;
  /** True when parse cut the text to its maximum length. */
  truncated?: boolean;
}

/** `embeddings` value, written by the embed worker. */
export interface EmbeddedRecord {
  topic: string | null;
  text: string;
  doc_id: string;
  vector: number[];
  kafka_ts: number | null;
  embedded_ts: number;
  model: string;
  dim: number;
  /** True only when the worker actually scaled the vector to unit length. */
  normalized: boolean;
}

export type InputReason = "invalid_json" | "invalid_record";

export type Validated<T> = { ok: true; value: T } | { ok: false; reason: InputReason; error: string };

/** Validates an `embedding_input` value (bytes) into an {@link EmbeddingInput}. */
export function parseEmbeddingInput(bytes: Uint8Array | null): Validated<EmbeddingInput> {
  if (bytes === null) return { ok: false, reason: "invalid_record", error: "record value is null" };
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    return { ok: false, reason: "invalid_json", error: `not JSON: ${(err as Error).message}` };
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    return { ok: false, reason: "invalid_record", error: "expected a JSON object" };
  }
  const o = v as Record<string, unknown>;
  if (typeof o.text !== "string" || o.text.trim() === "") {
    return { ok: false, reason: "invalid_record", error: "field text: expected a non-blank string" };
  }
  if (typeof o.doc_id !== "string" || o.doc_id.trim() === "") {
    return { ok: false, reason: "invalid_record", error: "field doc_id: expected a non-blank string" };
  }
  if (o.topic !== undefined && o.topic !== null && typeof o.topic !== "string") {
    return { ok: false, reason: "invalid_record", error: "field topic: expected a string or null" };
  }
  if (o.kafka_ts !== undefined && o.kafka_ts !== null && !Number.isFinite(o.kafka_ts)) {
    return {
      ok: false,
      reason: "invalid_record",
      error: "field kafka_ts: expected epoch milliseconds or null",
    };
  }
  return {
    ok: true,
    value: {
      text: o.text,
      doc_id: o.doc_id,
      topic: (o.topic as string | null | undefined) ?? null,
      kafka_ts: (o.kafka_ts as number | null | undefined) ?? null,
      ...(o.truncated === true ? { truncated: true } : {}),
    },
  };
}
