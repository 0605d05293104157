import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { sha256Hex } from "../../pipeline/contracts/extract.ts";
import { eventually, scope, type TestScope } from "../helpers/infra.ts";
import { collect, startWorker, type WorkerHandle } from "../helpers/workers.ts";

setDefaultTimeout(120_000); // real Kafka and Redis

let s: TestScope;
let worker: WorkerHandle | undefined;
let topics: { src: string; input: string; dlq: string };

beforeAll(async () => {
  s = await scope();
  topics = { src: await s.topic("src"), input: await s.topic("input"), dlq: await s.topic("dlq") };
});
afterAll(async () => {
  await worker?.stop();
  await s.cleanup();
});

test("parse publishes extracted records keyed by doc_id and dead-letters bad ones with their bytes", async () => {
  const producer = s.kafka().producer();
  await producer.connect();
  await producer.send({
    topic: topics.src,
    messages: [
      { key: "k1", value: JSON.stringify({ doc_id: "a1", text: "tests passed" }) },
      { key: "k2", value: JSON.stringify({ id: 7, message: "build failed" }) },
      { key: "k3", value: "plain words" },
      { key: "k4", value: null },
      { key: "k5", value: JSON.stringify({ text: "   " }) },
      { key: null, value: "x".repeat(50) },
    ],
  });
  await producer.disconnect();

  worker = await startWorker(
    "parse",
    {
      SPARK_KAFKA_TOPICS: topics.src,
      SINK_INPUT_TOPIC: topics.input,
      EMBED_DLQ_TOPIC: topics.dlq,
      PARSE_GROUP: `parse-${s.id}`,
      REDDB_NAMESPACE: s.prefix,
      PARSE_MAX_TEXT_CHARS: "20",
    },
    { portVar: "PARSE_METRICS_PORT" },
  );
  const out = await collect(s.kafka(), [topics.input, topics.dlq], `collect-${s.id}`);
  await eventually("6 records out", () => out.records.length >= 6);
  await out.stop();

  const inputs = out.records.filter((r) => r.topic === topics.input);
  const byKey = Object.fromEntries(inputs.map((r) => [r.key, JSON.parse(String(r.value))]));
  const hashId = sha256Hex("x".repeat(20)); // no id field, no key: sha256 of the emitted (truncated) text
  expect(Object.keys(byKey).sort()).toEqual(["7", "a1", hashId, "k3"].sort());
  expect(byKey.a1).toMatchObject({ text: "tests passed", doc_id: "a1", topic: topics.src });
  expect(byKey["7"]).toMatchObject({ text: "build failed", doc_id: "7" });
  expect(byKey.k3).toMatchObject({ text: "plain words", doc_id: "k3" });
  expect(typeof byKey.a1.kafka_ts).toBe("number");
  expect(byKey[hashId]).toMatchObject({ text: "x".repeat(20), truncated: true, doc_id: hashId });

  const dlq = out.records.filter((r) => r.topic === topics.dlq).map((r) => JSON.parse(String(r.value)));
  expect(dlq.map((d) => d.reason).sort()).toEqual(["empty_text", "null_value"]);
  const blank = dlq.find((d) => d.reason === "empty_text");
  expect(blank).toMatchObject({
    stage: "parse",
    value: JSON.stringify({ text: "   " }),
    source: { topic: topics.src, key: "k5" },
  });
  expect(blank.value_b64).toBeNull(); // the original bytes once: as text when they are UTF-8
  expect(blank.doc_id).toBe("k5"); // the record key is its explicit id
  expect(dlq.find((d) => d.reason === "null_value")).toMatchObject({
    doc_id: "k4",
    value: null,
    value_b64: null,
  });

  const redisDlq = await s.redis().xrange(`${s.prefix}:embeddings_dlq`, "-", "+");
  expect(redisDlq).toHaveLength(2);

  const m = await worker.metrics();
  expect(m).toMatchObject({ records_in: 6, records_out: 4, dlq_records: 2, truncated: 1 });
  expect(m.dlq_by_reason).toEqual({ null_value: 1, empty_text: 1 });
});
