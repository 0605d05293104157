/**
 * Wire records between the stages, and their validation.
 *
 * Units: `kafka_ts` is the source record's Kafka timestamp in epoch **milliseconds**
 * (integer, or null when unknown); `embedded_ts` is epoch **seconds** as a float (the
 * seed's unit), taken when the vector was produced.
 */

import type { Labels, LabelValue } from "./extract.ts";
import { jsonWithFloat32Field } from "./vector-json.ts";

/** `embedding_input` value, written by parse. */
export interface EmbeddingInput {
  text: string;
  /** The source topic the agent result came from. */
  topic: string | null;
  kafka_ts: number | null;
  doc_id: string;
  /** True when parse cut the text to its maximum length. */
  truncated?: boolean;
  /** The record's outcome fields (PARSE_LABEL_FIELDS; rules in extract.ts); absent when none. */
  labels?: Labels;
  /** Derived from `labels` (extract.ts); absent when unknown. */
  success?: boolean;
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
  /** Carried from `embedding_input` ({} when it had none; absent in records of older workers). */
  labels?: Labels;
  /** Carried from `embedding_input` (null when unknown; absent in records of older workers). */
  success?: boolean | null;
}

/** An {@link EmbeddedRecord} as the embed worker holds it: the vector still the model's float32 values. */
export type EmbeddedOutput = Omit<EmbeddedRecord, "vector"> & { vector: Float32Array };

/**
 * The `embeddings` value (Kafka and Redis) as UTF-8 JSON: the record's fields in its order, the
 * vector's components at float32 precision (each the shortest decimal that reads back as the
 * same float32; `vector-json.ts`), which is exactly what the embedder produced.
 */
export function encodeEmbeddedRecord(r: EmbeddedOutput | EmbeddedRecord): Buffer {
  return jsonWithFloat32Field(r as unknown as Record<string, unknown>, "vector");
}

/** The typed columns kept beside the labels (Parquet, the index): a label of the right type, else null. */
export interface LabelColumns {
  success: boolean | null;
  status: string | null;
  agent: string | null;
  task: string | null;
  reward: number | null;
  /** `episode`, else `episode_id`, else `trajectory`, else `trajectory_id`, as a string. */
  episode: string | null;
}

const asString = (v: LabelValue | undefined): string | null =>
  typeof v === "string" ? v : typeof v === "number" ? String(v) : null;

export function labelColumns(labels: Labels, success: boolean | null): LabelColumns {
  const episode = [labels.episode, labels.episode_id, labels.trajectory, labels.trajectory_id].find(
    (v) => v !== undefined && v !== null,
  );
  return {
    success,
    status: typeof labels.status === "string" ? labels.status : null,
    agent: typeof labels.agent === "string" ? labels.agent : null,
    task: asString(labels.task),
    reward: typeof labels.reward === "number" ? labels.reward : null,
    episode: asString(episode),
  };
}

/** Labels as they travel: an object of scalar values (anything else is refused). */
function validLabels(v: unknown): v is Labels {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  return Object.values(v).every(
    (x) =>
      x === null ||
      typeof x === "string" ||
      typeof x === "boolean" ||
      (typeof x === "number" && Number.isFinite(x)),
  );
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
  if (o.labels !== undefined && !validLabels(o.labels)) {
    return {
      ok: false,
      reason: "invalid_record",
      error: "field labels: expected an object of scalar values",
    };
  }
  if (o.success !== undefined && o.success !== null && typeof o.success !== "boolean") {
    return { ok: false, reason: "invalid_record", error: "field success: expected a boolean or null" };
  }
  return {
    ok: true,
    value: {
      text: o.text,
      doc_id: o.doc_id,
      topic: (o.topic as string | null | undefined) ?? null,
      kafka_ts: (o.kafka_ts as number | null | undefined) ?? null,
      ...(o.truncated === true ? { truncated: true } : {}),
      ...(o.labels !== undefined && Object.keys(o.labels as Labels).length > 0
        ? { labels: o.labels as Labels }
        : {}),
      ...(typeof o.success === "boolean" ? { success: o.success } : {}),
    },
  };
}
