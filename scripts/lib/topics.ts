import { createKafka } from "../../pipeline/io/kafka.ts";

export interface TopicSpec {
  brokers: string[];
  topics: string[];
  partitions: number;
  replicationFactor: number;
}

/** Creates missing topics (existing ones are left as they are); returns those created. */
export async function ensureTopics(spec: TopicSpec): Promise<string[]> {
  const admin = createKafka(spec.brokers, "rl-embeddings-admin").admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = spec.topics.filter((t) => !existing.has(t));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((topic) => ({
          topic,
          numPartitions: spec.partitions,
          replicationFactor: spec.replicationFactor,
        })),
      });
    }
    return missing;
  } finally {
    await admin.disconnect();
  }
}
