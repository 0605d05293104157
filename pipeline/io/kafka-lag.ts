/**
 * Consumer-group lag as Kafka itself defines it: for every partition of every topic, the
 * high watermark minus the group's committed offset (the whole partition, from its low
 * watermark, when the group has committed nothing there). It counts what waits on
 * partitions this process does not hold, or has not fetched yet, too.
 */
import type { Admin } from "kafkajs";

export interface GroupLag {
  /** Records waiting, all partitions together. */
  total: number;
  /** `topic/partition` → records waiting. */
  byPartition: Record<string, number>;
}

export async function groupLag(admin: Admin, groupId: string, topics: string[]): Promise<GroupLag> {
  const committed = await admin.fetchOffsets({ groupId, topics });
  const byPartition: Record<string, number> = {};
  let total = 0;
  for (const topic of topics) {
    const marks = await admin.fetchTopicOffsets(topic);
    const mine = new Map(
      (committed.find((c) => c.topic === topic)?.partitions ?? []).map((p) => [p.partition, p.offset]),
    );
    for (const m of marks) {
      const at = Number(mine.get(m.partition) ?? -1);
      const from = at >= 0 ? at : Number(m.low);
      const waiting = Math.max(0, Number(m.high) - from);
      byPartition[`${topic}/${m.partition}`] = waiting;
      total += waiting;
    }
  }
  return { total, byPartition };
}
