#!/usr/bin/env bun
/**
 * The benchmark's Kafka ceiling: a plain kafkajs consume → produce copy, as a worker would do
 * it at its simplest (consumer group, idempotent producer with acks from all in-sync replicas,
 * offsets committed after each batch's produce). No parsing, no sinks but Kafka.
 *
 * bun scripts/lib/kafka-copy.ts BROKERS FROM_TOPIC TO_TOPIC GROUP — runs until SIGTERM.
 */
import { createKafka } from "../../pipeline/io/kafka.ts";

const [brokers, from, to, group] = process.argv.slice(2);
if (!brokers || !from || !to || !group) {
  console.error("usage: bun scripts/lib/kafka-copy.ts BROKERS FROM_TOPIC TO_TOPIC GROUP");
  process.exit(2);
}
const kafka = createKafka(brokers.split(","), `bench-copy-${group}`);
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
const consumer = kafka.consumer({ groupId: group });
await producer.connect();
await consumer.connect();
await consumer.subscribe({ topics: [from], fromBeginning: true });
consumer.on(consumer.events.GROUP_JOIN, () => console.log("assigned"));
await consumer.run({
  autoCommit: false,
  partitionsConsumedConcurrently: 64,
  eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
    if (batch.messages.length === 0) return;
    await producer.send({
      topic: to,
      acks: -1,
      messages: batch.messages.map((m) => ({ key: m.key, value: m.value })),
    });
    const last = batch.messages[batch.messages.length - 1]?.offset as string;
    resolveOffset(last);
    await consumer.commitOffsets([
      { topic: batch.topic, partition: batch.partition, offset: String(BigInt(last) + 1n) },
    ]);
    await heartbeat();
  },
});
const stop = async () => {
  await consumer.disconnect().catch(() => {});
  await producer.disconnect().catch(() => {});
  process.exit(0);
};
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());
