import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Server } from "bun";
import {
  type Backend,
  type BackendDeps,
  type BackendKnnQuery,
  type BackendOptions,
  createBackend,
  type KnnShardsInfo,
} from "../../pipeline/backend/app.ts";
import type { KnnResult } from "../../pipeline/contracts/knn.ts";
import type { Logger } from "../../pipeline/core/log.ts";
import { KnnError } from "../../pipeline/knn/types.ts";
import { downSources } from "../helpers/backend.ts";
import { eventually } from "../helpers/wait.ts";

const TOKEN = "backend-s3cret";

/** A logger that keeps every line (to check what is and is not logged). */
function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const put = (level: string) => (msg: string, fields?: Record<string, unknown>) => {
    lines.push(
      `${level} ${msg} ${JSON.stringify(fields ?? {}, (_k, v) => (v instanceof Error ? v.message : v))}`,
    );
  };
  return { lines, debug: put("debug"), info: put("info"), warn: put("warn"), error: put("error") };
}

/** A kNN service over four 4-dimensional documents; records the queries it gets. */
function fakeKnn() {
  const calls: BackendKnnQuery[] = [];
  let gate: Promise<void> | undefined;
  const docs = ["a", "b", "c", "d"];
  return {
    calls,
    /** Holds every query until the returned function is called. */
    hold(): () => void {
      let release = () => {};
      gate = new Promise<void>((r) => {
        release = r;
      });
      return () => {
        gate = undefined;
        release();
      };
    },
    async query(q: BackendKnnQuery): Promise<KnnResult> {
      calls.push(q);
      if (gate) await gate;
      if (q.doc_id !== undefined && !docs.includes(q.doc_id))
        throw new KnnError(404, `unknown doc_id ${q.doc_id}`);
      if (q.vector && q.vector.length !== 4) {
        throw new KnnError(400, `vector has ${q.vector.length} dimensions, model hash-4 has 4`);
      }
      if (q.text === "explode") throw new Error("redis connection lost");
      const k = q.k ?? 5;
      return {
        neighbors: docs.slice(0, k).map((d, i) => ({
          doc_id: d,
          score: 1 - i / 10,
          model: "hash-4",
          topic: "agent.results",
          text: `text of ${d}`,
          labels: {},
          success: null,
        })),
        count_scored: docs.length,
        took_ms: 0.5,
        model: q.model ?? "hash-4",
      };
    },
    async shards(): Promise<KnnShardsInfo> {
      return {
        shards: [
          { id: 0, count: 3, samples: ["a", "b", "c"] },
          { id: 1, count: 1, samples: ["d"] },
        ],
        total_ids: 4,
        nonempty: 2,
        dims_by_model: { "hash-4": 4 },
        memory: { vectors_bytes: 64 },
      };
    },
  };
}

const dlqItems = Array.from({ length: 20 }, (_, i) => ({
  reason: "empty_text",
  doc_id: `d${19 - i}`,
  n: 19 - i,
}));
const dlqCalls: number[] = [];

function deps(knn = fakeKnn()): BackendDeps & { knn: ReturnType<typeof fakeKnn> } {
  return {
    knn,
    async dlqTail(limit: number) {
      dlqCalls.push(limit);
      return dlqItems.slice(0, limit);
    },
    sources: downSources(),
  };
}

interface Running {
  backend: Backend;
  server: Server<undefined>;
  base: string;
  knn: ReturnType<typeof fakeKnn>;
  log: ReturnType<typeof memoryLogger>;
}

function start(opts: BackendOptions = {}): Running {
  const log = memoryLogger();
  const d = deps();
  const backend = createBackend(d, { log, upstreamTimeoutMs: 500, ...opts });
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (req, srv) => backend.fetch(req, srv) });
  return { backend, server, base: `http://127.0.0.1:${server.port}`, knn: d.knn, log };
}

function stop(r: Running | undefined): void {
  r?.backend.close();
  r?.server.stop(true);
}

async function expectError(res: Response, status: number, message?: RegExp): Promise<string> {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toContain("application/json");
  const body = (await res.json()) as { error: unknown };
  expect(typeof body.error).toBe("string");
  if (message) expect(body.error as string).toMatch(message);
  return body.error as string;
}

describe("backend HTTP API", () => {
  let r: Running;
  beforeAll(() => {
    r = start();
  });
  afterAll(() => stop(r));

  const post = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${r.base}/api/knn/query`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });

  test("GET /health", async () => {
    const res = await fetch(`${r.base}/health`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; timestamp: number };
    expect(body.status).toBe("ok");
    expect(Math.abs(body.timestamp - Date.now() / 1000)).toBeLessThan(60);
  });

  test("POST /api/knn/query passes the query through and answers the result", async () => {
    const before = r.knn.calls.length;
    const res = await post({
      vector: [1, 0, 0, 0],
      k: 2,
      shards: [0, 3],
      model: "hash-4",
      include_self: true,
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as KnnResult;
    expect(body.neighbors.map((n) => n.doc_id)).toEqual(["a", "b"]);
    expect(body.neighbors[0]).toEqual({
      doc_id: "a",
      score: 1,
      model: "hash-4",
      topic: "agent.results",
      text: "text of a",
      labels: {},
      success: null,
    });
    expect(body.count_scored).toBe(4);
    expect(r.knn.calls.slice(before)).toEqual([
      { vector: [1, 0, 0, 0], k: 2, shards: [0, 3], model: "hash-4", include_self: true },
    ]);
  });

  test("POST by doc_id and by text; k defaults to the service's", async () => {
    const before = r.knn.calls.length;
    expect((await post({ doc_id: "b" })).status).toBe(200);
    const res = await post({ text: "how do I run the tests", k: 3 });
    expect(res.status).toBe(200);
    expect(((await res.json()) as KnnResult).neighbors).toHaveLength(3);
    expect(r.knn.calls.slice(before)).toEqual([{ doc_id: "b" }, { text: "how do I run the tests", k: 3 }]);
  });

  test("GET /api/knn/query reads doc_id, k, text, model, shards and vector from the query string", async () => {
    const before = r.knn.calls.length;
    let res = await fetch(`${r.base}/api/knn/query?doc_id=c&k=1&model=hash-4&shards=1,2&include_self=1`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as KnnResult).neighbors).toHaveLength(1);
    res = await fetch(`${r.base}/api/knn/query?vector=0.5,0.5,0,-0.5`);
    expect(res.status).toBe(200);
    res = await fetch(`${r.base}/api/knn/query?text=${encodeURIComponent("flaky test, retry")}`);
    expect(res.status).toBe(200);
    expect(r.knn.calls.slice(before)).toEqual([
      { doc_id: "c", k: 1, model: "hash-4", shards: [1, 2], include_self: true },
      { vector: [0.5, 0.5, 0, -0.5] },
      { text: "flaky test, retry" },
    ]);
  });

  test("exact: from JSON and the query string; anything but a boolean → 400", async () => {
    const before = r.knn.calls.length;
    expect((await post({ doc_id: "a", exact: true })).status).toBe(200);
    expect((await fetch(`${r.base}/api/knn/query?doc_id=a&exact=1`)).status).toBe(200);
    expect((await fetch(`${r.base}/api/knn/query?doc_id=a&exact=false`)).status).toBe(200);
    expect(r.knn.calls.slice(before)).toEqual([
      { doc_id: "a", exact: true },
      { doc_id: "a", exact: true },
      { doc_id: "a", exact: false },
    ]);
    await expectError(await post({ doc_id: "a", exact: "yes" }), 400, /exact/);
  });

  test("POST /api/knn/owner-query needs a vector and its model; a backend without owned shards → 404", async () => {
    const owner = (body: unknown) =>
      fetch(`${r.base}/api/knn/owner-query`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    await expectError(await owner({ vector: [1, 0, 0, 0] }), 400, /"vector" and "model"/);
    await expectError(await owner({ doc_id: "a", model: "hash-4" }), 400, /"vector" and "model"/);
    await expectError(await owner({ vector: [1, 0, 0, 0], model: "hash-4", exclude: 3 }), 400, /exclude/);
    // The fake service has no ownerQuery: it answers like a router, which owns no shards.
    await expectError(await owner({ vector: [1, 0, 0, 0], model: "hash-4" }), 404, /owns no shards/);
    await expectError(await fetch(`${r.base}/api/knn/owner-query`), 405);
  });

  test("malformed JSON → 400", async () => {
    await expectError(await post("{not json"), 400, /JSON/);
    await expectError(await post("[1,2]"), 400, /JSON object/);
    await expectError(await post(""), 400, /JSON/);
  });

  test("a body over the limit → 413, by Content-Length and by the bytes actually sent", async () => {
    const big = JSON.stringify({ text: "x".repeat(1024 * 1024) });
    await expectError(await post(big), 413, /limit/);
    // No Content-Length (a streamed body): refused while reading.
    const chunk = new TextEncoder().encode(`{"text":"${"y".repeat(64 * 1024)}`);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent > 2 * 1024 * 1024) return controller.close();
        sent += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    const req = new Request(`${r.base}/api/knn/query`, { method: "POST", body });
    expect(req.headers.get("content-length")).toBeNull();
    await expectError(await r.backend.fetch(req), 413, /limit/);
    // Just under the limit is fine.
    const fits = JSON.stringify({ text: "z".repeat(1024 * 1024 - 20) });
    expect(new TextEncoder().encode(fits).byteLength).toBeLessThanOrEqual(1024 * 1024);
    expect((await post(fits)).status).toBe(200);
  });

  test("k outside 1..1000 or not an integer → 400 before the service is asked", async () => {
    const before = r.knn.calls.length;
    for (const k of [0, 1001, -1, 2.5, "5", true]) {
      await expectError(await post({ doc_id: "a", k }), 400, /"k"/);
    }
    for (const k of ["0", "1001", "abc", "", "1.5"]) {
      await expectError(await fetch(`${r.base}/api/knn/query?doc_id=a&k=${k}`), 400, /"k"/);
    }
    expect(r.knn.calls.length).toBe(before);
    expect((await post({ doc_id: "a", k: 1000 })).status).toBe(200);
    expect((await fetch(`${r.base}/api/knn/query?doc_id=a&k=16`)).status).toBe(200);
    expect((await post({ doc_id: "a", k: 1 })).status).toBe(200);
  });

  test("lenient spellings are refused: hex or exponent k, k null, a repeated parameter, a zero vector", async () => {
    const before = r.knn.calls.length;
    for (const k of ["0x10", "1e1", " 16", "16 ", "+16", "016.0"]) {
      await expectError(
        await fetch(`${r.base}/api/knn/query?doc_id=a&k=${encodeURIComponent(k)}`),
        400,
        /"k"/,
      );
    }
    await expectError(await post({ doc_id: "a", k: null }), 400, /"k"/);
    await expectError(
      await fetch(`${r.base}/api/knn/query?doc_id=a&k=3&k=2000`),
      400,
      /"k" is given more than once/,
    );
    await expectError(
      await fetch(`${r.base}/api/knn/query?doc_id=a&doc_id=b`),
      400,
      /"doc_id" is given more/,
    );
    await expectError(await post({ vector: [0, 0, 0, 0] }), 400, /all zeros/);
    await expectError(await fetch(`${r.base}/api/knn/query?vector=0,0,-0,0`), 400, /all zeros/);
    expect(r.knn.calls.length).toBe(before);
  });

  test("nothing to query by, or badly typed fields → 400", async () => {
    await expectError(await post({}), 400, /vector.*doc_id.*text/);
    await expectError(await post({ k: 3 }), 400, /required/);
    await expectError(await fetch(`${r.base}/api/knn/query`), 400, /required/);
    await expectError(await post({ vector: [] }), 400, /vector/);
    await expectError(await post({ vector: [1, "2"] }), 400, /vector/);
    await expectError(await fetch(`${r.base}/api/knn/query?vector=1,,2`), 400, /vector/);
    await expectError(await post({ doc_id: 7 }), 400, /doc_id/);
    await expectError(await post({ doc_id: "a", shards: [-1] }), 400, /shards/);
    await expectError(await fetch(`${r.base}/api/knn/query?doc_id=a&shards=1,x`), 400, /shards/);
    await expectError(await post({ doc_id: "a", include_self: "yes" }), 400, /include_self/);
  });

  test("an unknown doc_id → 404 and a wrong dimension → 400, from the service", async () => {
    await expectError(await post({ doc_id: "nope" }), 404, /unknown doc_id nope/);
    await expectError(await fetch(`${r.base}/api/knn/query?doc_id=nope`), 404, /unknown doc_id/);
    await expectError(await post({ vector: [1, 2, 3] }), 400, /dimensions/);
  });

  test("an unexpected failure → 500 with a generic message, logged once", async () => {
    const error = await expectError(await post({ text: "explode" }), 500);
    expect(error).toBe("internal error");
    expect(r.log.lines.filter((l) => l.includes("redis connection lost"))).toHaveLength(1);
  });

  test("GET /api/knn/shards", async () => {
    const res = await fetch(`${r.base}/api/knn/shards`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as KnnShardsInfo;
    expect(body.total_ids).toBe(4);
    expect(body.nonempty).toBe(2);
    expect(body.shards[0]).toEqual({ id: 0, count: 3, samples: ["a", "b", "c"] });
    expect(body.dims_by_model).toEqual({ "hash-4": 4 });
  });

  test("GET /api/embed-worker/dlq: default limit 500, newest first, limit bounds", async () => {
    let res = await fetch(`${r.base}/api/embed-worker/dlq`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { items: { n: number }[]; count: number };
    expect(dlqCalls.at(-1)).toBe(500);
    expect(body.count).toBe(20);
    expect(body.items[0]?.n).toBe(19);
    res = await fetch(`${r.base}/api/embed-worker/dlq?limit=3`);
    expect(((await res.json()) as { count: number }).count).toBe(3);
    expect(dlqCalls.at(-1)).toBe(3);
    expect((await fetch(`${r.base}/api/embed-worker/dlq?limit=10000`)).status).toBe(200);
    const calls = dlqCalls.length;
    for (const limit of ["0", "10001", "abc", "2.5", "-4"]) {
      await expectError(await fetch(`${r.base}/api/embed-worker/dlq?limit=${limit}`), 400, /limit/);
    }
    await expectError(await fetch(`${r.base}/api/embed-worker/dlq?format=xml`), 400, /format/);
    expect(dlqCalls.length).toBe(calls);
  });

  test("GET /api/embed-worker/dlq?format=ndjson is a download, one JSON object per line", async () => {
    const res = await fetch(`${r.base}/api/embed-worker/dlq?limit=5&format=ndjson`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("application/x-ndjson");
    expect(res.headers.get("content-disposition")).toMatch(
      /^attachment; filename="dlq-\d{8}T\d{6}Z\.ndjson"$/,
    );
    const text = await res.text();
    expect(text.endsWith("\n")).toBe(true);
    const lines = text.trimEnd().split("\n");
    expect(lines).toHaveLength(5);
    expect(lines.map((l) => (JSON.parse(l) as { n: number }).n)).toEqual([19, 18, 17, 16, 15]);
  });

  test("unknown path → 404 JSON, wrong method → 405 JSON with Allow", async () => {
    await expectError(await fetch(`${r.base}/api/nope`), 404, /no such endpoint/);
    await expectError(await fetch(`${r.base}/`), 404);
    let res = await fetch(`${r.base}/api/knn/query`, { method: "DELETE" });
    expect(res.headers.get("allow")).toBe("GET, POST");
    await expectError(res, 405, /DELETE/);
    res = await fetch(`${r.base}/health`, { method: "POST", body: "{}" });
    await expectError(res, 405);
    await expectError(await fetch(`${r.base}/api/knn/shards`, { method: "PUT", body: "{}" }), 405);
    await expectError(await fetch(`${r.base}/api/spark/stream`, { method: "POST", body: "{}" }), 405);
  });

  test("a slow query and an open event stream block no other request", async () => {
    const release = r.knn.hold();
    const slow = post({ doc_id: "a" });
    await eventually("the condition", () => r.knn.calls.at(-1)?.doc_id === "a", 10_000, 5);
    const ac = new AbortController();
    const stream = await fetch(`${r.base}/api/embed-worker/stream`, { signal: ac.signal });
    expect(stream.status).toBe(200);
    const health = await fetch(`${r.base}/health`);
    expect(health.status).toBe(200);
    const shards = await fetch(`${r.base}/api/knn/shards`);
    expect(shards.status).toBe(200);
    release();
    expect((await slow).status).toBe(200);
    ac.abort();
    await eventually(
      "the condition",
      () => r.backend.streams()["/api/embed-worker/stream"]?.clients === 0,
      10_000,
      5,
    );
  });
});

describe("bearer token", () => {
  let r: Running;
  beforeAll(() => {
    r = start({ token: TOKEN });
  });
  afterAll(() => stop(r));

  const auth = { authorization: `Bearer ${TOKEN}` };

  test("every endpoint answers 401 JSON without the token", async () => {
    for (const path of [
      "/health",
      "/api/knn/shards",
      "/api/knn/query?doc_id=a",
      "/api/embed-worker/dlq",
      "/api/infermesh/stream",
      "/api/spark/stream",
      "/api/nope",
    ]) {
      const res = await fetch(`${r.base}${path}`);
      expect(res.headers.get("www-authenticate")).toBe("Bearer");
      await expectError(res, 401, /token/);
    }
    const res = await fetch(`${r.base}/api/knn/query`, {
      method: "POST",
      body: JSON.stringify({ doc_id: "a" }),
    });
    await expectError(res, 401);
    expect(r.knn.calls).toHaveLength(0);
  });

  test("a wrong token or scheme is refused", async () => {
    for (const authorization of [`Bearer ${TOKEN}x`, `Basic ${TOKEN}`, "Bearer", TOKEN, `Bearer  `]) {
      await expectError(await fetch(`${r.base}/health`, { headers: { authorization } }), 401);
    }
  });

  test("the right token opens every endpoint", async () => {
    expect((await fetch(`${r.base}/health`, { headers: auth })).status).toBe(200);
    expect(
      (await fetch(`${r.base}/api/knn/shards`, { headers: { authorization: `bearer ${TOKEN}` } })).status,
    ).toBe(200);
    const res = await fetch(`${r.base}/api/knn/query`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ doc_id: "a", k: 1 }),
    });
    expect(res.status).toBe(200);
    await expectError(await fetch(`${r.base}/api/nope`, { headers: auth }), 404);
  });

  test("the token never appears in the logs", () => {
    expect(r.log.lines.join("\n")).not.toContain(TOKEN);
  });
});

describe("shutdown", () => {
  test("after close() requests answer 503 and streams are ended", async () => {
    const r = start();
    try {
      const res = await fetch(`${r.base}/api/parse/stream`);
      expect(res.status).toBe(200);
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      await reader.read();
      r.backend.close();
      // The stream ends (done) instead of hanging.
      for (;;) {
        const { done } = await reader.read();
        if (done) break;
      }
      await expectError(await fetch(`${r.base}/health`), 503, /shutting down/);
      expect(r.backend.streams()["/api/parse/stream"]).toMatchObject({ clients: 0, polling: false });
    } finally {
      stop(r);
    }
  });
});
