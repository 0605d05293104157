/**
 * The DLQ composed from ordinary writers: a Kafka topic and/or a Redis stream, each its own
 * {@link DlqSink} (retried on its own by the runner, so a Redis outage never re-sends the
 * Kafka DLQ batch). Every entry is bounded to what the DLQ accepts.
 */
import type Redis from "ioredis";
import { type Admin, ConfigResourceTypes } from "kafkajs";
import { boundDlqEntry, DLQ_MIN_ENTRY_BYTES, type DlqEntry, dropOriginal } from "../contracts/dlq.ts";
import type { Logger } from "../core/log.ts";
import type { DlqSink } from "../core/source.ts";
import { sendAll, sendRejecting } from "./kafka-sink.ts";
import type { KafkaSender } from "./kafka-transactions.ts";
import { appendDlq, type RedisLayout } from "./redis-store.ts";

export interface DlqTargets {
  /** A producer, or the worker's transaction (the Kafka DLQ then commits with the outputs). */
  producer: KafkaSender;
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
      transactional: t.producer.transactional === true,
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

/** Bytes a message may carry besides the entry itself (key, headers, record overhead). */
const DLQ_MESSAGE_HEADROOM = 4096;

/**
 * DLQ_MAX_ENTRY_BYTES, lowered to what the DLQ topic accepts (its max.message.bytes less
 * headroom), so that an entry the worker writes is never refused for its size.
 */
export async function dlqEntryLimit(
  admin: Admin,
  topic: string,
  configured: number,
  log: Logger,
): Promise<number> {
  if (!topic) return configured;
  try {
    const res = await admin.describeConfigs({
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ["max.message.bytes"] }],
      includeSynonyms: false,
    });
    const value = Number(
      res.resources[0]?.configEntries.find((c) => c.configName === "max.message.bytes")?.configValue,
    );
    const fits = value - DLQ_MESSAGE_HEADROOM;
    if (Number.isFinite(fits) && fits < configured) {
      if (fits < DLQ_MIN_ENTRY_BYTES)
        log.warn(
          "the DLQ topic's max.message.bytes is below the smallest DLQ entry; entries may be refused",
          {
            topic,
            max_message_bytes: value,
          },
        );
      const limit = Math.max(DLQ_MIN_ENTRY_BYTES, fits);
      log.info("DLQ entries bounded by the DLQ topic", {
        topic,
        max_message_bytes: value,
        max_entry_bytes: limit,
      });
      return limit;
    }
  } catch (err) {
    log.warn("could not read the DLQ topic's max.message.bytes; using DLQ_MAX_ENTRY_BYTES", {
      topic,
      error: err as Error,
    });
  }
  return configured;
}
