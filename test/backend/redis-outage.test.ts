/**
 * The backend while its Redis is down: the endpoints that read Redis answer 503 naming Redis
 * at once (never 200 with zeros, never a 500 after seconds); kNN queries keep being answered
 * from the in-memory index; everything answers again once Redis is back.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import Redis from "ioredis";
import { shardOf } from "../../pipeline/contracts/redis-layout.ts";
import { eventually, freePort, scope, type TestScope } from "../helpers/infra.ts";
import { indexDocs } from "../helpers/knn-index.ts";
import { startWorker, type WorkerHandle } from "../helpers/workers.ts";

setDefaultTimeout(120_000);

const port = freePort();
const startRedis = () =>
  Bun.spawn(
    ["redis-server", "--bind", "127.0.0.1", "--port", String(port), "--save", "", "--appendonly", "no"],
    {
      stdout: "ignore",
      stderr: "ignore",
    },
  );
let redisProc = startRedis();
let s: TestScope;
let backend: WorkerHandle;
const ns = "outage";
const SHARDS = 4;

async function get(path: string): Promise<{ status: number; ms: number; body: Record<string, unknown> }> {
  const t0 = performance.now();
  const res = await fetch(`${backend.url}${path}`, { signal: AbortSignal.timeout(15_000) });
  const body = (await res.json()) as Record<string, unknown>;
  return { status: res.status, ms: performance.now() - t0, body };
}

beforeAll(async () => {
  s = await scope();
  const redis = new Redis({ port, host: "127.0.0.1", maxRetriesPerRequest: 20 });
  await eventually("private redis", async () => (await redis.ping().catch(() => "")) === "PONG");
  const layout = { namespace: ns, stream: "emb_index", shards: SHARDS };
  await indexDocs(
    redis,
    layout,
    Array.from({ length: 12 }, (_, i) => ({
      doc_id: `doc-${i}`,
      text: `text ${i}`,
      topic: "t",
      kafka_ts: 1,
      embedded_ts: 2,
      model: "hash-4",
      dim: 4,
      normalized: false,
      vector: [1, i, 0, 1],
      shard: shardOf(`doc-${i}`, SHARDS),
    })),
  );
  redis.disconnect();
  backend = await startWorker(
    "backend",
    {
      REDDB_URL: `redis://127.0.0.1:${port}`,
      REDDB_NAMESPACE: ns,
      EMB_INDEX_SHARDS: String(SHARDS),
      INFERMESH_URL: `http://127.0.0.1:${freePort()}`,
      SPARK_VECTOR_UI_URL: `http://127.0.0.1:${freePort()}/api/v1`,
    },
    { portVar: "BACKEND_PORT" },
  );
  await eventually("12 vectors loaded", async () => (await get("/api/knn/shards")).body.total_ids === 12);
});

afterAll(async () => {
  await backend?.stop("SIGKILL");
  redisProc.kill("SIGKILL");
  await s.cleanup();
});

test("Redis down: shard stats and the DLQ tail answer 503 naming Redis within a second; kNN still answers", async () => {
  redisProc.kill("SIGKILL");
  await redisProc.exited;
  for (const path of ["/api/knn/shards", "/api/embed-worker/dlq?limit=5"]) {
    // The first request after the kill may still find the connection open; it fails fast too.
    await eventually(`${path} refuses`, async () => (await get(path)).status === 503, 10_000);
    const r = await get(path);
    expect(r.status).toBe(503);
    expect(String(r.body.error)).toMatch(/^Redis is unavailable for (shard statistics|the DLQ tail)/);
    expect(r.body.total_ids).toBeUndefined(); // no zeros presented as fact
    expect(r.ms).toBeLessThan(1000);
  }
  // kNN answers from the in-memory copy of the index, with Redis down.
  const res = await fetch(`${backend.url}/api/knn/query`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ doc_id: "doc-3", k: 2 }),
  });
  expect(res.status).toBe(200);
  expect(((await res.json()) as { neighbors: unknown[] }).neighbors).toHaveLength(2);

  redisProc = startRedis(); // empty (no persistence): the truth is now 0 ids
  await eventually(
    "shard stats answer again",
    async () => (await get("/api/knn/shards")).status === 200,
    30_000,
  );
  expect((await get("/api/embed-worker/dlq?limit=5")).status).toBe(200);
});
