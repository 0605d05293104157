/**
 * The kNN router in process: owners are real backend apps (`createBackend` over a `KnnService`
 * owning some shards) reached through an injected fetch; the reference is one engine holding
 * everything. A failed, slow or refusing owner gives `partial` with its shards missing.
 */
import { describe, expect, test } from "bun:test";
import type Redis from "ioredis";
import { createBackend } from "../../pipeline/backend/app.ts";
import type { ShardStats } from "../../pipeline/contracts/knn.ts";
import type { Logger } from "../../pipeline/core/log.ts";
import { KnnEngine } from "../../pipeline/knn/engine.ts";
import { KnnRouter } from "../../pipeline/knn/router.ts";
import { KnnService } from "../../pipeline/knn/service.ts";
import { KnnError } from "../../pipeline/knn/types.ts";
import { seededRandom } from "../../pipeline/rl/random.ts";
import { downSources } from "../helpers/backend.ts";

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const SHARDS = 4;
const layout = { namespace: "router-test", stream: "emb_index", shards: SHARDS };

const rand = seededRandom(5);

const raw = new Map<string, Float32Array>();
const whole = new KnnEngine({ quantized: true });
const owners = [
  new KnnService({
    redis: {} as Redis,
    follower: {} as Redis,
    layout,
    log: quiet,
    shards: [0, 1],
    engine: { quantized: true },
  }),
  new KnnService({
    redis: {} as Redis,
    follower: {} as Redis,
    layout,
    log: quiet,
    shards: [2, 3],
    engine: { quantized: true },
  }),
];
for (let i = 0; i < 600; i++) {
  const vector = Float32Array.from({ length: 12 }, () => rand() * 2 - 1);
  const e = {
    doc_id: `doc-${i}`,
    model: "m",
    vector,
    topic: null,
    text: `t${i}`,
    shard: i % SHARDS,
    labels: { agent: i % 2 ? "coder" : "planner" },
  };
  raw.set(e.doc_id, vector);
  whole.upsert(e);
  owners[e.shard < 2 ? 0 : 1]?.engine.upsert(e);
}

type Mode = "ok" | "refused" | "500" | "slow" | "400";
const modes: Mode[] = ["ok", "ok"];
const apps = owners.map((service) =>
  createBackend(
    {
      knn: {
        query: (q) => service.query(q),
        shards: async () => ({ ...stats(service.owned) }),
        ownerQuery: (q) => service.ownerQuery(q),
      },
      dlqTail: async () => [],
      sources: downSources(),
    },
    { log: quiet },
  ),
);
const stats = (ids: number[]): ShardStats => ({
  shards: ids.map((id) => ({ id, count: 150, samples: [] })),
  total_ids: 150 * ids.length,
  nonempty: ids.length,
  dims_by_model: { m: 12 },
  memory: { index_bytes: 1000, index_vectors: 300, vector_bytes: 600, redis_used_bytes: 5000 },
  vectors_by_model: { m: { count: 300, dim: 12, float32_bytes_per_vector: 48, int8_bytes_per_vector: 16 } },
});

const fakeFetch = async (url: string, init?: RequestInit): Promise<Response> => {
  const i = url.startsWith("http://owner-0") ? 0 : 1;
  const mode = modes[i];
  if (mode === "refused")
    throw Object.assign(new Error("Unable to connect. Is the computer able to access the url?"), {
      code: "ConnectionRefused",
    });
  if (mode === "500") return Response.json({ error: "boom" }, { status: 500 });
  if (mode === "400") return Response.json({ error: "bad filter" }, { status: 400 });
  if (mode === "slow")
    return await new Promise<Response>((_, reject) =>
      init?.signal?.addEventListener("abort", () =>
        reject(Object.assign(new Error("timed out"), { name: "TimeoutError" })),
      ),
    );
  return (apps[i] as ReturnType<typeof createBackend>).fetch(new Request(url, init));
};

const router = new KnnRouter({
  owners: ["http://owner-0", "http://owner-1"],
  shards: SHARDS,
  timeoutMs: 100,
  lookup: async (id) => {
    const vector = raw.get(id);
    return vector ? { vector, model: "m" } : undefined;
  },
  models: async () => ({ m: 12 }),
  fetch: fakeFetch,
  log: quiet,
});

describe("router", () => {
  test("every owner up: the same neighbours, order and scores as one engine holding every shard", async () => {
    modes.fill("ok");
    const v = Array.from({ length: 12 }, () => rand() - 0.5);
    for (const q of [
      { vector: v, k: 10 },
      { vector: v, k: 10, exact: true },
      { vector: v, k: 200 },
      { doc_id: "doc-17", k: 8 },
      { doc_id: "doc-17", k: 8, include_self: true },
      { vector: v, k: 7, filter: { agent: "coder" } },
      { vector: v, k: 7, shards: [1, 2] },
    ]) {
      const want = whole.query({ ...q, exact: true });
      const got = await router.query(q);
      expect(got.neighbors).toEqual(want.neighbors);
      expect(got.count_scored).toBe(want.count_scored);
      expect(got.partial).toBe(false);
      expect(got.missing_shards).toEqual([]);
      expect(got.shards).toEqual(q.shards ?? [0, 1, 2, 3]);
      expect(got.owners?.map((o) => [o.url, o.ok, o.shards])).toEqual([
        ["http://owner-0", true, q.shards ? [1] : [0, 1]],
        ["http://owner-1", true, q.shards ? [2] : [2, 3]],
      ]);
    }
  });

  for (const mode of ["refused", "500", "slow"] as Mode[]) {
    test(`an owner that is ${mode}: partial, its shards missing, the others' neighbours exact`, async () => {
      modes.fill("ok");
      modes[1] = mode;
      const v = Array.from({ length: 12 }, () => rand() - 0.5);
      const got = await router.query({ vector: v, k: 10 });
      expect(got.partial).toBe(true);
      expect(got.missing_shards).toEqual([2, 3]);
      expect(got.shards).toEqual([0, 1]);
      expect(got.neighbors).toEqual(whole.query({ vector: v, k: 10, shards: [0, 1], exact: true }).neighbors);
      const failed = got.owners?.[1];
      expect(failed?.ok).toBe(false);
      expect(failed?.shards).toEqual([]);
      expect(failed?.error).toMatch(
        mode === "slow" ? /no answer within 100 ms/ : mode === "500" ? /HTTP 500: boom/ : /connect/,
      );
      const s = await router.shards();
      expect(s.partial).toBe(true);
      expect(s.missing_shards).toEqual([2, 3]);
      expect(s.shards.map((x) => x.id)).toEqual([0, 1]);
    });
  }

  test("every owner down: 503 naming them; an owner refusing the query: its 400", async () => {
    modes.fill("refused");
    const err = await router.query({ vector: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] }).catch((e) => e);
    expect(err).toBeInstanceOf(KnnError);
    expect((err as KnnError).status).toBe(503);
    expect((err as KnnError).message).toContain("http://owner-0");
    modes.fill("ok");
    modes[0] = "400";
    const bad = await router.query({ vector: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] }).catch((e) => e);
    expect((bad as KnnError).status).toBe(400);
    expect((bad as KnnError).message).toBe("bad filter");
  });

  test("doc_id, model and dimension errors are the single node's", async () => {
    modes.fill("ok");
    const status = async (p: Promise<unknown>) => ((await p.catch((e) => e)) as KnnError).status;
    expect(await status(router.query({ doc_id: "nope" }))).toBe(404);
    expect(await status(router.query({ doc_id: "doc-1", model: "other" }))).toBe(404);
    expect(await status(router.query({ vector: [1, 2, 3] }))).toBe(400);
    expect(await status(router.query({ vector: [1, 2, 3], model: "other" }))).toBe(400);
    expect(await status(router.query({ text: "hello" }))).toBe(400); // no InferMesh here
  });

  test("shard statistics add the owners' up (Redis memory counted once)", async () => {
    modes.fill("ok");
    const s = await router.shards();
    expect(s.partial).toBe(false);
    expect(s.shards.map((x) => x.id)).toEqual([0, 1, 2, 3]);
    expect(s.total_ids).toBe(600);
    expect(s.memory).toEqual({
      index_bytes: 2000,
      index_vectors: 600,
      vector_bytes: 1200,
      redis_used_bytes: 5000,
      bytes_per_vector: 2,
    });
    expect(s.vectors_by_model?.m?.count).toBe(600);
    expect(s.owners?.map((o) => o.ok)).toEqual([true, true]);
  });

  test("shards beyond the index are no missing shards; repeated ones count once", async () => {
    modes.fill("ok");
    const v = Array.from({ length: 12 }, () => rand() - 0.5);
    const got = await router.query({ vector: v, k: 4, shards: [3, 3, 9] });
    expect(got.partial).toBe(false);
    expect(got.shards).toEqual([3]);
    expect(got.neighbors).toEqual(whole.query({ vector: v, k: 4, shards: [3], exact: true }).neighbors);
  });

  test("an owner asked directly marks its own answer partial", async () => {
    const r = await owners[0]?.query({ vector: [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], k: 3 });
    expect(r?.partial).toBe(true);
    expect(r?.shards).toEqual([0, 1]);
    expect(r?.missing_shards).toEqual([2, 3]);
    // A model it holds nothing of is an empty part of a routed answer, not an error.
    const empty = owners[0]?.ownerQuery({ vector: [1, 2], model: "elsewhere", k: 3 });
    expect(empty?.neighbors).toEqual([]);
    expect(empty?.shards).toEqual([0, 1]);
  });
});
