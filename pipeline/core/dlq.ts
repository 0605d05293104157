/**
 * DLQ entries, and the DLQ composed from ordinary outputs: a Kafka topic and/or a Redis
 * stream, each its own sink (retried on its own by the runner, so a Redis outage never
 * re-sends the Kafka DLQ batch). Every entry is bounded to what the DLQ accepts.
 */

import type Redis from "ioredis";
import type { Producer } from "kafkajs";
import {
  boundDlqEntry,
  DLQ_KEY_MAX_CHARS,
  type DlqEntry,
  type DlqReason,
  dropOriginal,
  originalValue,
} from "../contracts/dlq.ts";
import { truncate } from "../contracts/extract.ts";
import type { EmbeddingInput } from "../contracts/records.ts";
import { sendAll, sendRejecting } from "../io/kafka-sink.ts";
import { appendDlq, type RedisLayout } from "../io/redis-store.ts";
import type { DlqSink, SourceRecord } from "./runner.ts";

export interface DlqTargets {
  producer: Producer;
  /** Kafka DLQ topic ("" = off). */
  topic: string;
  redis?: { client: Redis; layout: RedisLayout };
  /** Largest entry, bytes of JSON (DLQ_MAX_ENTRY_BYTES, lowered to what the topic accepts). */
  maxEntryBytes: number;
}

const toMessage = (e: DlqEntry) => ({
  key: e.doc_id ?? e.source.key,
  value: JSON.stringify(e),
  headers: { stage: e.stage, reason: e.reason },
});

const stub = (e: DlqEntry, why: string): DlqEntry => ({
  ...dropOriginal(e),
  error: `${e.error}; original value omitted: ${why}`,
});

/** The DLQ sinks of a worker: the Kafka topic and/or the Redis stream; at least one must be set. */
export function createDlqSinks(t: DlqTargets): DlqSink[] {
  if (!t.topic && !t.redis) {
    throw new Error(
      "no DLQ target: set EMBED_DLQ_TOPIC or REDDB_URL, or records that fail would have nowhere to go",
    );
  }
  const bound = (entries: DlqEntry[]) => entries.map((e) => boundDlqEntry(e, t.maxEntryBytes));
  const sinks: DlqSink[] = [];
  if (t.topic) {
    sinks.push({
      name: `kafka:${t.topic}`,
      async write(entries) {
        // What the topic still refuses (a lower max.message.bytes than assumed) goes without
        // its original bytes; a stub refused too is a misconfiguration, thrown.
        const refused = await sendRejecting(t.producer, t.topic, bound(entries), toMessage);
        for (const { item, error } of refused) {
          await sendAll(t.producer, t.topic, [toMessage(stub(item, error.message))]);
        }
      },
    });
  }
  if (t.redis) {
    const { client, layout } = t.redis;
    sinks.push({
      name: `redis:${layout.namespace}:${layout.dlqStream}`,
      write: (entries) => appendDlq(client, layout, bound(entries)),
    });
  }
  return sinks;
}

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
    },
    ...originalValue(record.value),
  };
}
