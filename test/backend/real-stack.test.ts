/**
 * The backend against the real stack: paraphrase fixtures go through parse, embed-worker
 * (all-MiniLM-L6-v2, the default model) and the indexer; the backend answers kNN by doc_id, vector and text,
 * counts every document in its shard stats, streams every source over SSE (read with the
 * `eventsource` package, reconnect included) and refuses bad requests with their 4xx.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { EventSource } from "eventsource";
import { decodeStoredVector, redisKeys } from "../../pipeline/contracts/redis-layout.ts";
import { MINILM_MODEL } from "../../pipeline/models/registry.ts";
import { readFixture } from "../../scripts/lib/fixture-format.ts";
import { replayFixture } from "../../scripts/lib/replay.ts";
import { eventually, scope, type TestScope } from "../helpers/infra.ts";
import { repoRoot } from "../helpers/run.ts";
import { type PrivateStack, startPrivateStack } from "../helpers/stack.ts";
import { startWorker, type WorkerHandle } from "../helpers/workers.ts";

setDefaultTimeout(180_000); // real Kafka, Redis and worker processes

let s: TestScope;
let backend: WorkerHandle;
let env: Record<string, string>;
let stack: PrivateStack;
let backendPort: number;
const running: WorkerHandle[] = [];
const groupOf = (docId: string) => docId.split("-").slice(0, 2).join("-");

async function post(body: unknown, raw?: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${backend.url}/api/knn/query`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: raw ?? JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  s = await scope();
  stack = await startPrivateStack(s, MINILM_MODEL);
  env = stack.env;
  await replayFixture({
    brokers: s.cfg.kafka.brokers,
    topic: stack.topics.src,
    records: readFixture(join(repoRoot, "fixtures", "paraphrase-stream.jsonl")),
  });
  // The backend loaded an empty index at start and follows the change stream from there.
  await eventually(
    "60 indexed",
    async () => Number((await stack.workers.indexer.metrics()).indexed) >= 60,
    60_000,
  );
  backend = stack.workers.backend;
  await eventually("60 in the backend", async () => {
    const res = (await (await fetch(`${backend.url}/api/knn/shards`)).json()) as {
      memory: { index_vectors?: number };
    };
    return res.memory.index_vectors === 60;
  });
  backendPort = stack.backendPort;
});

afterAll(async () => {
  await stack?.stop();
  await Promise.all(running.map((w) => w.stop("SIGKILL")));
  await s.cleanup();
});

describe("kNN", () => {
  test("shard stats count every document", async () => {
    const res = (await (await fetch(`${backend.url}/api/knn/shards`)).json()) as {
      shards: { count: number }[];
      total_ids: number;
      nonempty: number;
      dims_by_model: Record<string, number>;
    };
    expect(res.total_ids).toBe(60);
    expect(res.shards).toHaveLength(8);
    expect(res.shards.reduce((a, x) => a + x.count, 0)).toBe(60);
    expect(res.nonempty).toBeGreaterThan(4);
    expect(res.dims_by_model).toEqual({ [MINILM_MODEL]: 384 });
  });

  test("same-meaning texts are each other's nearest neighbours (by doc_id, itself excluded)", async () => {
    const ids = readFixture(join(repoRoot, "fixtures", "paraphrase-stream.jsonl")).map(
      (r) => JSON.parse(String(r.value)).doc_id as string,
    );
    let hits = 0;
    for (const id of ids) {
      const { status, json } = await post({ doc_id: id, k: 1 });
      expect(status).toBe(200);
      const [top] = json.neighbors as { doc_id: string }[];
      expect(top?.doc_id).not.toBe(id);
      if (top && groupOf(top.doc_id) === groupOf(id)) hits++;
    }
    console.log(`nearest neighbour in the same paraphrase group: ${hits}/${ids.length}`);
    // The floor leaves room below what all-MiniLM-L6-v2 measures here (glove-100d-sif: 57/60).
    expect(hits / ids.length).toBeGreaterThanOrEqual(0.95); // measured 60/60
  });

  test("a free-text query finds the matching paraphrases; a vector query equals its doc_id query", async () => {
    const { status, json } = await post({ text: "all of the unit tests passed without failures", k: 3 });
    expect(status).toBe(200);
    const neighbors = json.neighbors as { doc_id: string; score: number; text: string; model: string }[];
    expect(neighbors.map((n) => groupOf(n.doc_id))).toContain("para-01");
    expect(neighbors[0]).toMatchObject({ model: MINILM_MODEL });
    expect(json.count_scored).toBe(60);
    expect(typeof json.took_ms).toBe("number");

    const byDoc = await post({ doc_id: "para-01-1", k: 5, include_self: true });
    const self = (byDoc.json.neighbors as { doc_id: string; score: number }[])[0];
    expect(self).toMatchObject({ doc_id: "para-01-1" });
    expect(self?.score).toBeCloseTo(1, 5);
  });

  test("results equal a brute-force scan of the vectors stored in Redis (exact, fixture data)", async () => {
    const r = s.redis();
    const layout = { namespace: s.prefix };
    const keys = await r.keys(`${redisKeys.vecPrefix(layout)}*`);
    const stored = (await Promise.all(keys.map((k) => r.hgetallBuffer(k)))).map(
      (h) =>
        decodeStoredVector(h as Record<string, Buffer>) as NonNullable<ReturnType<typeof decodeStoredVector>>,
    );
    expect(stored).toHaveLength(60);
    const cos = (a: Float32Array, b: Float32Array) => {
      let d = 0;
      let na = 0;
      let nb = 0;
      for (let i = 0; i < a.length; i++) {
        d += (a[i] as number) * (b[i] as number);
        na += (a[i] as number) ** 2;
        nb += (b[i] as number) ** 2;
      }
      return d / Math.sqrt(na * nb);
    };
    for (const q of stored.slice(0, 10)) {
      const want = stored
        .filter((x) => x.doc_id !== q.doc_id)
        .map((x) => ({ doc_id: x.doc_id, score: cos(q.vector, x.vector) }))
        .sort((a, b) => b.score - a.score || a.doc_id.localeCompare(b.doc_id))
        .slice(0, 5);
      const { json } = await post({ vector: Array.from(q.vector), k: 6 });
      const got = (json.neighbors as { doc_id: string; score: number }[])
        .filter((n) => n.doc_id !== q.doc_id)
        .slice(0, 5);
      expect(got.map((n) => n.doc_id)).toEqual(want.map((w) => w.doc_id));
      for (const [i, n] of got.entries()) expect(n.score).toBeCloseTo(want[i]?.score ?? Number.NaN, 4);
    }
  });

  test.each([
    ["malformed JSON → 400", undefined, "{nope", 400],
    ["k = 0 → 400", { doc_id: "para-01-1", k: 0 }, undefined, 400],
    ["k = 1001 → 400", { doc_id: "para-01-1", k: 1001 }, undefined, 400],
    ["nothing to query by → 400", { k: 3 }, undefined, 400],
    ["an unknown doc_id → 404", { doc_id: "no-such-doc" }, undefined, 404],
    ["k null → 400", { doc_id: "para-01-1", k: null }, undefined, 400],
    ["an all-zero vector → 400", { vector: Array.from({ length: 100 }, () => 0) }, undefined, 400],
  ])("%s", async (_name, body, raw, status) => {
    const r = await post(body, raw);
    expect(r.status).toBe(status);
    expect(typeof r.json.error).toBe("string");
  });

  test("a vector of the wrong dimension → 400 naming both; a body over 1 MB → 413", async () => {
    const wrong = await post({ vector: [0.1, 0.2, 0.3], model: MINILM_MODEL });
    expect(wrong.status).toBe(400);
    expect(String(wrong.json.error)).toMatch(/3.*384|384.*3/);
    const big = await post({ vector: Array.from({ length: 200_000 }, () => 0.123456789) });
    expect(big.status).toBe(413);
  });

  test("a text InferMesh refuses as too long → 400 saying so (not 500); InferMesh down → 503", async () => {
    const long = await post({ text: "tests fail ".repeat(4000) });
    expect(long.status).toBe(400);
    expect(String(long.json.error)).toMatch(
      /InferMesh refused the query text \(44000 characters\).*more than \d+/,
    );
    // The same query with InferMesh stopped: unavailable, not an internal error.
    await stack.workers.infermesh.stop();
    try {
      const down = await post({ text: "tests fail" });
      expect(down.status).toBe(503);
      expect(String(down.json.error)).toMatch(/InferMesh is unavailable/);
    } finally {
      const port = Number(new URL(env.INFERMESH_URL as string).port);
      const again = await startWorker("infermesh", env, { portVar: "INFERMESH_PORT", port });
      running.push(again);
      stack.workers.infermesh = again;
    }
  });
});

describe("SSE", () => {
  const streams = ["infermesh", "vectorizer", "embed-worker", "parse", "indexer", "spark"];

  test("every stream delivers live JSON events with ids", async () => {
    for (const name of streams) {
      const es = new EventSource(`${backend.url}/api/${name}/stream`);
      const event = await new Promise<MessageEvent>((resolve, reject) => {
        es.onmessage = resolve;
        setTimeout(() => reject(new Error(`no event on ${name}`)), 15_000);
      });
      es.close();
      const data = JSON.parse(event.data) as Record<string, unknown>;
      expect(Number(event.lastEventId)).toBeGreaterThan(0);
      expect(typeof data.timestamp).toBe("number");
      if (name === "indexer") expect((data.metrics as Record<string, unknown>).indexed).toBe(60);
      if (name === "infermesh") expect(data.infermesh).toMatchObject({ status: "healthy" });
      if (name === "spark") expect(data.status).toBe("unreachable"); // no Spark here: said so, never simulated
    }
  });

  test("a client reconnects by itself when the backend restarts", async () => {
    const es = new EventSource(`${backend.url}/api/indexer/stream`);
    const events: MessageEvent[] = [];
    es.onmessage = (e) => events.push(e);
    await eventually("first event", () => events.length >= 1);
    await backend.stop("SIGKILL");
    const before = events.length;
    backend = await startWorker("backend", env, { portVar: "BACKEND_PORT", port: backendPort });
    running.push(backend);
    await eventually("an event after the restart", () => events.length > before, 30_000);
    es.close();
  });
});
