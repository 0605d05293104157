/**
 * Kafka as the runner's {@link Source}: a consumer group member with auto-commit off,
 * fetching every assigned partition concurrently, committing what the runner asks.
 */
import type { Consumer, Kafka, KafkaMessage } from "kafkajs";
import type { FetchedBatch, PartitionOffset, Source, SourceEvents, SourceRecord } from "../core/source.ts";
import { kafkaErrorType } from "./kafka.ts";

export interface KafkaSourceOptions {
  kafka: Kafka;
  groupId: string;
  topics: string[];
  /** Group membership timing: a dead member's partitions move after sessionTimeoutMs. */
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
}

/** Commit errors that say this member is no longer in the group's current generation. */
const MEMBERSHIP_LOST = new Set(["UNKNOWN_MEMBER_ID", "ILLEGAL_GENERATION", "REBALANCE_IN_PROGRESS"]);

function toSourceRecord(topic: string, partition: number, m: KafkaMessage): SourceRecord {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.headers ?? {})) {
    if (v !== undefined) headers[k] = Array.isArray(v) ? v.map(String).join(",") : String(v);
  }
  return {
    topic,
    partition,
    offset: m.offset,
    key: m.key ?? null,
    value: m.value ?? null,
    timestamp: Number(m.timestamp),
    headers,
  };
}

export class KafkaSource implements Source {
  private readonly consumer: Consumer;

  constructor(private readonly o: KafkaSourceOptions) {
    this.consumer = o.kafka.consumer({
      groupId: o.groupId,
      // A killed member's partitions are handed on once its session expires: keep it short,
      // with heartbeats well inside it (and fetch waits shorter than both).
      sessionTimeout: o.sessionTimeoutMs,
      heartbeatInterval: o.heartbeatIntervalMs,
      rebalanceTimeout: 30_000,
      maxWaitTimeInMs: Math.min(1_000, o.heartbeatIntervalMs * 2),
    });
  }

  async start(onBatch: (batch: FetchedBatch) => Promise<void>, events: SourceEvents): Promise<void> {
    const c = this.consumer;
    await c.connect();
    await c.subscribe({ topics: this.o.topics, fromBeginning: true });
    c.on(c.events.GROUP_JOIN, (e) =>
      events.assigned(
        Object.entries(e.payload.memberAssignment).flatMap(([t, ps]) => ps.map((p) => `${t}/${p}`)),
      ),
    );
    c.on(c.events.REBALANCING, () => events.rebalancing());
    c.on(c.events.CRASH, (e) => events.crashed(e.payload.error, e.payload.restart));
    await c.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 64,
      eachBatch: ({ batch, heartbeat, resolveOffset, isRunning, isStale }) => {
        if (batch.messages.length === 0) return Promise.resolve();
        return onBatch({
          topic: batch.topic,
          partition: batch.partition,
          records: batch.messages.map((m) => toSourceRecord(batch.topic, batch.partition, m)),
          heartbeat,
          resolveOffset,
          isRunning,
          isStale,
        });
      },
    });
  }

  commit(offsets: PartitionOffset[]): Promise<void> {
    return this.consumer.commitOffsets(offsets);
  }

  membershipLost(err: unknown): boolean {
    return MEMBERSHIP_LOST.has(kafkaErrorType(err) ?? "");
  }

  pause(): void {
    this.consumer.pause(this.o.topics.map((topic) => ({ topic })));
  }

  stop(): Promise<void> {
    return this.consumer.disconnect();
  }
}
