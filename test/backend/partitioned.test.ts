/**
 * Partitioned kNN with real processes against the real Redis: two backends each owning half of
 * the shards (BACKEND_SHARDS), a router (BACKEND_ROLE=router) in front of them, and a single
 * backend holding every shard as the reference. Through the router, kNN equals the single
 * node's exact scan; with one owner killed, the answer is partial and names its shards.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import type { KnnResult, ShardStats } from "../../pipeline/contracts/knn.ts";
import { redisKeys, shardOf } from "../../pipeline/contracts/redis-layout.ts";
import { seededRandom } from "../../pipeline/rl/random.ts";
import { eventually, freePort, scope, type TestScope } from "../helpers/infra.ts";
import { indexDocs } from "../helpers/knn-index.ts";
import { startWorker, type WorkerHandle } from "../helpers/workers.ts";

setDefaultTimeout(120_000);

const SHARDS = 4;
const DOCS = 400;
const DIM = 16;
let s: TestScope;
let single: WorkerHandle;
let ownerA: WorkerHandle;
let ownerB: WorkerHandle;
let router: WorkerHandle;

/** Deterministic vectors: clusters (so neighbours stand out) with exact duplicates among them. */
function vectors(): number[][] {
  const random = seededRandom(42);
  const rand = () => random() - 0.5;
  const centres = Array.from({ length: 20 }, () => Array.from({ length: DIM }, rand));
  return Array.from({ length: DOCS }, (_, i) => {
    const c = centres[i % 20] as number[];
    return i % 50 === 0 ? c : c.map((x) => x + 0.3 * rand());
  });
}

async function post(url: string, body: unknown): Promise<KnnResult & { error?: string }> {
  const res = await fetch(`${url}/api/knn/query`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  return (await res.json()) as KnnResult & { error?: string };
}

const shardStats = async (url: string) =>
  (await (
    await fetch(`${url}/api/knn/shards`, { signal: AbortSignal.timeout(15_000) })
  ).json()) as ShardStats;

beforeAll(async () => {
  s = await scope();
  const namespace = `${s.prefix}:knn`;
  const layout = { namespace, stream: "emb_index", shards: SHARDS };
  // What the indexer's stage registers before writing (the router reads dimensions from it).
  await s.redis().hset(redisKeys.models(layout), "hash-16", String(DIM));
  await indexDocs(
    s.redis(),
    layout,
    vectors().map((vector, i) => ({
      doc_id: `doc-${i}`,
      text: `text ${i}`,
      topic: "t",
      kafka_ts: 1,
      embedded_ts: 2 + i,
      model: "hash-16",
      dim: DIM,
      normalized: false,
      vector,
      labels: { agent: i % 3 ? "coder" : "planner" },
      success: i % 2 === 0,
      shard: shardOf(`doc-${i}`, SHARDS),
    })),
  );
  const env = {
    REDDB_URL: s.cfg.redis.url,
    REDDB_NAMESPACE: namespace,
    EMB_INDEX_SHARDS: String(SHARDS),
    INFERMESH_URL: `http://127.0.0.1:${freePort()}`,
    SPARK_VECTOR_UI_URL: `http://127.0.0.1:${freePort()}/api/v1`,
  };
  const start = (extra: Record<string, string>) =>
    startWorker("backend", { ...env, ...extra }, { portVar: "BACKEND_PORT" });
  [single, ownerA, ownerB] = await Promise.all([
    start({}),
    start({ BACKEND_SHARDS: "0-1" }),
    start({ BACKEND_SHARDS: "2,3" }),
  ]);
  router = await start({
    BACKEND_ROLE: "router",
    BACKEND_OWNERS: `${ownerA.url},${ownerB.url}`,
    BACKEND_OWNER_TIMEOUT_MS: "2000",
  });
  const owned = (ids: number[]) =>
    vectors().filter((_, i) => ids.includes(shardOf(`doc-${i}`, SHARDS))).length;
  for (const [w, n] of [
    [single, DOCS],
    [ownerA, owned([0, 1])],
    [ownerB, owned([2, 3])],
  ] as const)
    await eventually(
      `${w.url} loaded ${n}`,
      async () => (await shardStats(w.url)).memory.index_vectors === n,
    );
});

afterAll(async () => {
  for (const w of [router, ownerA, ownerB, single]) await w?.stop("SIGKILL");
  await s.cleanup();
});

test("through the router, kNN equals a single node's exact scan: same ids, order, scores", async () => {
  const vs = vectors();
  const queries: Record<string, unknown>[] = [
    { vector: vs[3], k: 10 },
    { vector: vs[3], k: 10, exact: true },
    { vector: (vs[7] as number[]).map((x) => -x), k: 25 },
    { doc_id: "doc-50", k: 12 }, // an exact duplicate of doc-0, doc-100, …: ties by doc_id
    { doc_id: "doc-50", k: 12, include_self: true },
    { vector: vs[11], k: 8, filter: { agent: "coder", success: true } },
    { vector: vs[11], k: 8, shards: [0, 3] },
  ];
  for (const q of queries) {
    const want = await post(single.url, { ...q, exact: true });
    const got = await post(router.url, q);
    expect(want.error).toBeUndefined();
    expect(got.error).toBeUndefined();
    expect(got.neighbors.map((n) => n.doc_id)).toEqual(want.neighbors.map((n) => n.doc_id));
    got.neighbors.forEach((n, i) => {
      expect(Math.abs(n.score - (want.neighbors[i]?.score as number))).toBeLessThanOrEqual(1e-6);
    });
    expect(got.count_scored).toBe(want.count_scored);
    expect(got.partial).toBe(false);
    expect(got.missing_shards).toEqual([]);
  }
  // Shard statistics through the router add the owners' up.
  const [routed, whole] = await Promise.all([shardStats(router.url), shardStats(single.url)]);
  expect(routed.shards).toEqual(whole.shards);
  expect(routed.total_ids).toBe(DOCS);
  expect(routed.memory.index_vectors).toBe(DOCS);
  expect(routed.vectors_by_model?.["hash-16"]?.count).toBe(DOCS);
  expect(routed.vectors_by_model?.["hash-16"]?.int8_bytes_per_vector).toBe(32);
  expect(routed.partial).toBe(false);
  // An owner asked directly says it covers only its shards.
  const direct = await post(ownerA.url, { vector: vs[3], k: 3 });
  expect(direct.partial).toBe(true);
  expect(direct.missing_shards).toEqual([2, 3]);
});

test("one owner killed: the router's answer is partial and lists the missing shards", async () => {
  await ownerB.stop("SIGKILL");
  const vs = vectors();
  const got = await post(router.url, { vector: vs[5], k: 10 });
  expect(got.error).toBeUndefined();
  expect(got.partial).toBe(true);
  expect(got.missing_shards).toEqual([2, 3]);
  expect(got.shards).toEqual([0, 1]);
  const failed = got.owners?.find((o) => o.url === ownerB.url);
  expect(failed?.ok).toBe(false);
  expect(failed?.error).toBeTruthy();
  const want = await post(single.url, { vector: vs[5], k: 10, shards: [0, 1], exact: true });
  expect(got.neighbors.map((n) => n.doc_id)).toEqual(want.neighbors.map((n) => n.doc_id));
  const stats = await shardStats(router.url);
  expect(stats.partial).toBe(true);
  expect(stats.missing_shards).toEqual([2, 3]);
  // Only the shards still owned are asked for: a whole answer again.
  const whole = await post(router.url, { vector: vs[5], k: 10, shards: [0, 1] });
  expect(whole.partial).toBe(false);
});
