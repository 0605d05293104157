/** DLQ entries, and the DLQ composed from ordinary outputs: a Kafka topic and/or a Redis stream. */

import type Redis from "ioredis";
import type { Producer } from "kafkajs";
import { type DlqEntry, type DlqReason, originalValue } from "../contracts/dlq.ts";
import type { EmbeddingInput } from "../contracts/records.ts";
import { sendAll } from "../io/kafka-sink.ts";
import { appendDlq, type RedisLayout } from "../io/redis-store.ts";
import type { DlqWriter, SourceRecord } from "./runner.ts";

export interface DlqTargets {
  producer: Producer;
  /** Kafka DLQ topic ("" = off). */
  topic: string;
  redis?: { client: Redis; layout: RedisLayout };
}

export function createDlqWriter(t: DlqTargets): DlqWriter {
  if (!t.topic && !t.redis) {
    throw new Error(
      "no DLQ target: set EMBED_DLQ_TOPIC or REDDB_URL, or records that fail would have nowhere to go",
    );
  }
  return {
    async write(entries: DlqEntry[]) {
      if (t.topic) {
        await sendAll(
          t.producer,
          t.topic,
          entries.map((e) => ({
            key: e.doc_id ?? e.source.key,
            value: JSON.stringify(e),
            headers: { stage: e.stage, reason: e.reason },
          })),
        );
      }
      if (t.redis) await appendDlq(t.redis.client, t.redis.layout, entries);
    },
  };
}

/** Builds the envelope for one record that cannot reach its outputs. */
export function dlqEntry(
  record: SourceRecord,
  reason: DlqReason,
  error: string,
  extra: { input?: EmbeddingInput; model?: string | null; stage?: DlqEntry["stage"] } = {},
): DlqEntry {
  return {
    stage: extra.stage ?? "embed",
    reason,
    error,
    topic: extra.input?.topic ?? record.topic,
    text: extra.input?.text ?? null,
    doc_id: extra.input?.doc_id ?? null,
    kafka_ts: extra.input?.kafka_ts ?? record.timestamp,
    ts: Date.now() / 1000,
    model: extra.model ?? null,
    source: {
      topic: record.topic,
      partition: record.partition,
      offset: record.offset,
      key: record.key ? record.key.toString("utf8") : null,
      timestamp: record.timestamp,
    },
    ...originalValue(record.value),
  };
}
