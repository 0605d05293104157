/**
 * The indexer on the real broker and Redis: the layout is complete and consistent, shards
 * evict without orphans, mixed dimensions are refused, two indexers in one group lose no ids.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { redisKeys, shardOf } from "../../pipeline/contracts/redis-layout.ts";
import { eventually, scope, type TestScope } from "../helpers/infra.ts";
import { startWorker, type WorkerHandle } from "../helpers/workers.ts";

setDefaultTimeout(120_000); // real Kafka and Redis

let s: TestScope;
const running: WorkerHandle[] = [];
beforeAll(async () => {
  s = await scope();
});
afterAll(async () => {
  await Promise.all(running.map((w) => w.stop("SIGKILL")));
  await s.cleanup();
});

function record(doc_id: string, vector: number[], model = "m3", embedded_ts = 1_800_000_000) {
  return {
    key: doc_id,
    value: JSON.stringify({
      topic: "agent.results",
      text: `text of ${doc_id}`,
      doc_id,
      vector,
      kafka_ts: 1_700_000_000_000,
      embedded_ts,
      model,
      dim: vector.length,
      normalized: false,
    }),
  };
}

async function lane(name: string, extra: Record<string, string> = {}) {
  const topic = await s.topic(`${name}.embeddings`);
  const dlq = await s.topic(`${name}.dlq`);
  const ns = `${s.prefix}:${name}`;
  return {
    topic,
    dlq,
    ns,
    env: {
      EMB_INDEX_TOPIC: topic,
      EMB_INDEX_GROUP: `indexer-${s.id}-${name}`,
      EMBED_DLQ_TOPIC: dlq,
      REDDB_NAMESPACE: ns,
      EMB_INDEX_SHARDS: "4",
      ...extra,
    },
  };
}

async function start(env: Record<string, string>) {
  const w = await startWorker("indexer", env, { portVar: "INDEX_METRICS_PORT" });
  running.push(w);
  return w;
}

test("every record lands in embvec, its shard and the change stream; the cap evicts without orphans", async () => {
  const l = await lane("evict", { EMB_SHARD_MAX_IDS: "5" });
  const w = await start(l.env);
  const producer = s.kafka().producer();
  await producer.connect();
  const n = 60;
  await producer.send({
    topic: l.topic,
    messages: Array.from({ length: n }, (_, i) => record(`d${i}`, [i, 1, 0], "m3", 1_800_000_000 + i)),
  });
  await eventually("all indexed", async () => Number((await w.metrics()).indexed) >= n);

  const r = s.redis();
  const layout = { namespace: l.ns };
  const members: string[] = [];
  for (let shard = 0; shard < 4; shard++) {
    const ids = await r.zrange(redisKeys.shard(layout, shard), "0", "-1");
    expect(ids.length).toBeLessThanOrEqual(5);
    for (const id of ids) expect(shardOf(id, 4)).toBe(shard);
    members.push(...ids);
  }
  expect(members.length).toBe(20); // 4 shards × 5
  // The survivors are each shard's newest ids, and every one has its vector …
  const vecKeys = await r.keys(`${redisKeys.vecPrefix(layout)}*`);
  expect(vecKeys.map((k) => k.slice(redisKeys.vecPrefix(layout).length)).sort()).toEqual([...members].sort());
  for (let shard = 0; shard < 4; shard++) {
    const all = Array.from({ length: n }, (_, i) => `d${i}`).filter((id) => shardOf(id, 4) === shard);
    const newest = all.slice(-5);
    expect((await r.zrange(redisKeys.shard(layout, shard), "0", "-1")).sort()).toEqual(newest.sort());
  }
  // … with its fields.
  const h = await r.hgetallBuffer(redisKeys.vec(layout, "d59"));
  expect(h.model?.toString()).toBe("m3");
  expect(Array.from(new Float32Array(new Uint8Array(h.vec as Buffer).buffer))).toEqual([59, 1, 0]);
  expect(h.text?.toString()).toBe("text of d59");
  // The stream logged each upsert and each eviction.
  const entries = await r.xrange(redisKeys.indexStream({ namespace: l.ns, stream: "emb_index" }), "-", "+");
  const ops = entries.map(([, f]) => f[1]);
  expect(ops.filter((o) => o === "upsert")).toHaveLength(n);
  expect(ops.filter((o) => o === "delete")).toHaveLength(n - 20);
  expect(Number((await w.metrics()).evicted)).toBe(n - 20);
  await producer.disconnect();
});

test("a vector whose dimension differs from its model's goes to the DLQ, never into the index", async () => {
  const l = await lane("dims");
  const w = await start(l.env);
  const producer = s.kafka().producer();
  await producer.connect();
  // The first vector of a model fixes its dimension.
  await producer.send({ topic: l.topic, messages: [record("a", [1, 0, 0])] });
  await eventually("a indexed", async () => Number((await w.metrics()).indexed) >= 1);
  await producer.send({ topic: l.topic, messages: [record("b", [1, 0]), record("c", [0, 1], "m2")] });
  await producer.disconnect();
  await eventually("processed", async () => {
    const m = await w.metrics();
    return Number(m.records_out) + Number(m.dlq_records) >= 3;
  });
  const m = await w.metrics();
  expect(m).toMatchObject({ indexed: 2, dlq_records: 1, dlq_by_reason: { invalid_vector: 1 } });
  const r = s.redis();
  expect(await r.hgetall(redisKeys.models({ namespace: l.ns }))).toEqual({ m3: "3", m2: "2" });
  expect(await r.exists(redisKeys.vec({ namespace: l.ns }, "b"))).toBe(0);
  const dlq = await r.xrange(`${l.ns}:embeddings_dlq`, "-", "+");
  expect(JSON.parse(dlq[0]?.[1][7] ?? "{}")).toMatchObject({
    stage: "index",
    reason: "invalid_vector",
    doc_id: "b",
  });
});

test("two indexers in one group share the partitions and lose no ids", async () => {
  const l = await lane("pair", { EMB_SHARD_MAX_IDS: "100000" });
  const a = await start(l.env);
  const b = await start(l.env);
  const producer = s.kafka().producer();
  await producer.connect();
  const n = 3000;
  for (let i = 0; i < n; i += 500) {
    await producer.send({
      topic: l.topic,
      messages: Array.from({ length: 500 }, (_, j) => record(`p${i + j}`, [i + j, 2, 3])),
    });
  }
  await producer.disconnect();
  await eventually(
    "all ids in the shards",
    async () => {
      let total = 0;
      for (let shard = 0; shard < 4; shard++)
        total += await s.redis().zcard(redisKeys.shard({ namespace: l.ns }, shard));
      return total >= n;
    },
    60_000,
  );
  const [ma, mb] = await Promise.all([a.metrics(), b.metrics()]);
  expect(Number(ma.assigned_partitions) + Number(mb.assigned_partitions)).toBe(3);
  const vecKeys = await s.redis().keys(`${redisKeys.vecPrefix({ namespace: l.ns })}*`);
  expect(vecKeys).toHaveLength(n);
});
