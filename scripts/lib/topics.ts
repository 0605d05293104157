import { type Admin, logLevel } from "kafkajs";
import { createKafka } from "../../pipeline/io/kafka.ts";
import { ScriptError } from "./progress.ts";

export interface TopicSpec {
  brokers: string[];
  topics: string[];
  partitions: number;
  replicationFactor: number;
  /** `min.insync.replicas` of the topics created (the broker's default when absent). */
  minInsyncReplicas?: number;
}

/** Creates missing topics (existing ones are left as they are); returns those created. */
export async function ensureTopics(spec: TopicSpec): Promise<string[]> {
  // Quiet: the leader wait below retries expected errors, and real ones are thrown.
  const admin = createKafka(spec.brokers, "rl-embeddings-admin", { logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = spec.topics.filter((t) => !existing.has(t));
    if (missing.length > 0) {
      const { brokers } = await admin.describeCluster();
      if (spec.replicationFactor > brokers.length) {
        throw new ScriptError(
          `replication factor ${spec.replicationFactor} needs at least ${spec.replicationFactor} brokers, ` +
            `but ${spec.brokers.join(",")} has ${brokers.length}: lower KAFKA_REPLICATION_FACTOR or start more (KAFKA_BROKERS)`,
        );
      }
      // Leaders are awaited below: kafkajs' own wait gives up after a few metadata errors.
      await admin.createTopics({
        waitForLeaders: false,
        topics: missing.map((topic) => ({
          topic,
          numPartitions: spec.partitions,
          replicationFactor: spec.replicationFactor,
          configEntries:
            spec.minInsyncReplicas === undefined
              ? []
              : [{ name: "min.insync.replicas", value: String(spec.minInsyncReplicas) }],
        })),
      });
    }
    await untilServed(admin, missing);
    return missing;
  } finally {
    await admin.disconnect();
  }
}

/**
 * Waits until the broker's metadata lists every partition of `topics` with a leader and the
 * leaders answer for them: a client asking right after creation can otherwise get
 * UNKNOWN_TOPIC_OR_PARTITION or NOT_LEADER_FOR_PARTITION (brokers apply the controller's
 * metadata a moment later).
 */
async function untilServed(admin: Admin, topics: string[]) {
  if (topics.length === 0) return;
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const { topics: meta } = await admin.fetchTopicMetadata({ topics });
      if (meta.length === topics.length && meta.every((t) => t.partitions.every((p) => p.leader >= 0))) {
        // The leaders answer for their partitions (listed offsets), not just the metadata.
        for (const t of topics) await admin.fetchTopicOffsets(t);
        return;
      }
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    if (Date.now() > deadline) throw new Error(`topics ${topics.join(", ")} have no leader after 15 s`);
    await Bun.sleep(100);
  }
}
