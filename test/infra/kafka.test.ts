import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { eventually, scope, type TestScope } from "../helpers/infra.ts";

setDefaultTimeout(120_000); // real Kafka and Redis

let s: TestScope;
beforeAll(async () => {
  s = await scope();
});
afterAll(() => s.cleanup());

test("records round-trip through the real broker with a consumer group and committed offsets", async () => {
  const topic = await s.topic("roundtrip");
  const kafka = s.kafka();
  const producer = kafka.producer();
  await producer.connect();
  const sent = Array.from({ length: 30 }, (_, i) => ({
    key: `k${i}`,
    value: JSON.stringify({ i, text: `record ${i}` }),
    headers: { source: "test" },
  }));
  await producer.send({ topic, messages: sent });
  await producer.disconnect();

  const groupId = `group-${s.id}`;
  const consumer = kafka.consumer({ groupId });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const received: { key: string; value: string; header: string }[] = [];
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ message, partition }) => {
      received.push({
        key: String(message.key),
        value: String(message.value),
        header: String(message.headers?.source),
      });
      await consumer.commitOffsets([{ topic, partition, offset: String(Number(message.offset) + 1) }]);
    },
  });
  await eventually("all 30 records", () => received.length >= 30);
  await consumer.disconnect();

  expect(received.map((r) => r.key).sort()).toEqual(sent.map((m) => m.key).sort());
  for (const r of received) {
    const i = Number(r.key.slice(1));
    expect(JSON.parse(r.value)).toEqual({ i, text: `record ${i}` });
    expect(r.header).toBe("test");
  }

  const admin = kafka.admin();
  await admin.connect();
  const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
  const latest = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const committed = Object.fromEntries((offsets?.partitions ?? []).map((p) => [p.partition, p.offset]));
  // Every partition's committed offset equals its high watermark: nothing left unconsumed.
  for (const p of latest) expect(committed[p.partition]).toBe(p.high);
  expect(latest.reduce((n, p) => n + Number(p.high), 0)).toBe(30);
});

test("a restarted consumer in the same group resumes after the committed offset", async () => {
  const topic = await s.topic("resume", 1);
  const kafka = s.kafka();
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: [{ value: "a" }, { value: "b" }] });
  const groupId = `resume-${s.id}`;

  const first: string[] = [];
  const c1 = kafka.consumer({ groupId });
  await c1.connect();
  await c1.subscribe({ topic, fromBeginning: true });
  await c1.run({
    autoCommit: false,
    eachMessage: async ({ message, partition }) => {
      first.push(String(message.value));
      await c1.commitOffsets([{ topic, partition, offset: String(Number(message.offset) + 1) }]);
    },
  });
  await eventually("first two", () => first.length === 2);
  await c1.disconnect();

  await producer.send({ topic, messages: [{ value: "c" }] });
  await producer.disconnect();
  const second: string[] = [];
  const c2 = kafka.consumer({ groupId });
  await c2.connect();
  await c2.subscribe({ topic, fromBeginning: true });
  await c2.run({ eachMessage: async ({ message }) => void second.push(String(message.value)) });
  await eventually("third record", () => second.length >= 1);
  await c2.disconnect();
  expect(first).toEqual(["a", "b"]);
  expect(second).toEqual(["c"]);
});
