import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RateTracker } from "../../pipeline/contracts/rates.ts";
import { Backoff } from "../../tui/sources/backoff.ts";
import { DecodeError, decodeInfermesh, decodeSpark, WorkerDecoder } from "../../tui/sources/decode.ts";
import { saveDlqTail } from "../../tui/sources/dlq.ts";
import { createKnnClient, createSearcher, parsePrompt, readVectorFile } from "../../tui/sources/knn.ts";
import { PollFeed } from "../../tui/sources/poll-feed.ts";
import { SseFeed } from "../../tui/sources/sse-feed.ts";
import { createHttpTransport } from "../../tui/sources/transport.ts";
import type { Action } from "../../tui/state/actions.ts";
import type { KnnResult } from "../../tui/state/types.ts";
import { FixtureTransport, fixture, ManualScheduler } from "./helpers.tsx";
import { infermeshEvent, sparkRunning, T0S, unreachableWorker, workerEvent } from "./samples.ts";

const tick = () => new Promise((r) => setTimeout(r, 0));

function recorder() {
  const actions: Action[] = [];
  return {
    actions,
    dispatch: (a: Action) => actions.push(a),
    of: (t: string) => actions.filter((a) => a.type === t),
  };
}

describe("rates", () => {
  test("per-second increase, null at first, after a reset and without elapsed time", () => {
    const r = new RateTracker(["a"] as const);
    expect(r.update({ a: 10 }, 100_000)).toEqual({ a: null });
    expect(r.update({ a: 40 }, 103_000)).toEqual({ a: 10 });
    expect(r.update({ a: 40 }, 103_000)).toEqual({ a: null });
    expect(r.update({ a: 5 }, 106_000)).toEqual({ a: null });
    expect(r.update({ a: 11 }, 109_000)).toEqual({ a: 2 });
    expect(r.update({ a: null }, 112_000)).toEqual({ a: null });
  });

  test("backoff doubles up to the cap, jittered, and resets", () => {
    const b = new Backoff({ baseMs: 1000, maxMs: 5000, random: () => 1 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([1000, 2000, 4000, 5000, 5000]);
    b.reset();
    expect(b.next()).toBe(1000);
    const half = new Backoff({ baseMs: 1000, random: () => 0 });
    expect(half.next()).toBe(500);
  });
});

describe("decoding", () => {
  test("worker snapshots: rates of other counters, recent cache hit ratio, growing retries", () => {
    const d = new WorkerDecoder();
    const first = d.decode(workerEvent(), 0);
    if (!first.reachable) throw new Error("expected reachable");
    expect(first.derived.cache_hit_ratio_recent).toBeNull();
    expect(first.derived.cache_hit_ratio_total).toBeCloseTo(1500 / 18000);
    const second = d.decode(
      workerEvent({
        ts: T0S + 3,
        cache: { size: 1300, hits: 1650, misses: 16950, evictions: 0, expired: 0 },
        parquet: { rows_written: 18586, bytes_written: 7_826_566 },
      }),
      0,
    );
    if (!second.reachable) throw new Error("expected reachable");
    // 150 hits and 450 misses in 3 s; 598 rows in 3 s.
    expect(second.derived.cache_hit_ratio_recent).toBeCloseTo(0.25);
    expect(second.derived.parquet_rows_per_sec).toBeCloseTo(598 / 3);
    expect(second.derived.parquet_bytes_per_sec).toBeCloseTo((7_826_566 - 7_574_746) / 3);
    expect(second.derived.retrying).toEqual([]);
    expect(second.rates.records_in_per_sec).toBe(200);
    const paused = d.decode(
      workerEvent({
        ts: T0S + 6,
        paused: true,
        retries: 9,
        retries_by_kind: { "process:infermesh": 9, "sink redis:both:redis": 0 },
      }),
      0,
    );
    if (!paused.reachable) throw new Error("expected reachable");
    expect(paused.derived.retrying).toEqual(["process:infermesh"]);
    expect(paused.derived.retries_per_sec).toBeCloseTo(2);
  });

  test("a restarted or unreachable worker starts its rates over", () => {
    const d = new WorkerDecoder();
    d.decode(workerEvent(), 0);
    const r = d.decode(workerEvent({ ts: T0S + 3, started_ts: T0S, parquet: { rows_written: 100 } }), 0);
    expect(r.reachable && r.derived.parquet_rows_per_sec).toBeNull();
    const down = d.decode(unreachableWorker, 0);
    expect(down).toEqual({ reachable: false, detail: unreachableWorker.detail, timestamp: T0S });
    const back = d.decode(workerEvent({ ts: T0S + 9 }), 0);
    expect(back.reachable && back.derived.retries_per_sec).toBeNull();
  });

  test("tolerant of odd payloads", () => {
    expect(() => decodeInfermesh("nope")).toThrow(DecodeError);
    expect(decodeInfermesh({ infermesh: { status: "weird" } }).status).toBe("unreachable");
    expect(decodeSpark({ status: "weird" }).status).toBe("unreachable");
    const s = decodeSpark(sparkRunning);
    expect(s.status === "running" && s.executors.map((e) => [e.id, e.failedTasks])).toEqual([
      ["driver", null],
      ["0", 1],
    ]);
    expect(s.status === "running" && s.applicationName).toBe("parse-job");
    const w = new WorkerDecoder().decode({ metrics: { records_in: "many", parquet: 7 }, rates: null }, 0);
    expect(w.reachable && [w.rates.records_in_per_sec, w.derived.parquet_rows_per_sec]).toEqual([null, null]);
  });
});

describe("event stream feed", () => {
  test("dispatches decoded events, reconnects with growing backoff and Last-Event-ID, resets after an event", async () => {
    const transport = new FixtureTransport();
    const scheduler = new ManualScheduler();
    const rec = recorder();
    const feed = new SseFeed({
      stream: "infermesh",
      transport,
      dispatch: rec.dispatch,
      scheduler,
      backoff: new Backoff({ baseMs: 1000, maxMs: 8000, random: () => 1 }),
    });
    feed.start();
    await tick();
    expect(transport.emit("infermesh", infermeshEvent(), "41")).toBe(1);
    const ev = rec.of("stream/event")[0];
    expect(ev?.type === "stream/event" && ev.stream === "infermesh" && ev.data).toMatchObject({
      status: "healthy",
    });

    transport.failAll("HTTP 502");
    const down1 = rec.of("stream/down")[0];
    expect(down1).toMatchObject({ error: "HTTP 502", retryAt: scheduler.now() + 1000 });
    scheduler.advance(999);
    expect(transport.opened).toHaveLength(1);
    scheduler.advance(1);
    expect(transport.opened.at(-1)).toEqual({ path: "/api/infermesh/stream", lastEventId: "41" });
    await tick();
    transport.failAll("again");
    expect(rec.of("stream/down").at(-1)).toMatchObject({ retryAt: scheduler.now() + 2000 });
    scheduler.advance(2000);
    await tick();
    transport.emit("infermesh", infermeshEvent(), "42");
    transport.failAll("third");
    expect(rec.of("stream/down").at(-1)).toMatchObject({ retryAt: scheduler.now() + 1000 });
    feed.stop();
    expect(scheduler.pending()).toBe(0);
  });

  test("a silent stream is reopened; a bad event is reported and skipped", async () => {
    const transport = new FixtureTransport();
    const scheduler = new ManualScheduler();
    const rec = recorder();
    const feed = new SseFeed({
      stream: "parse",
      transport,
      dispatch: rec.dispatch,
      scheduler,
      stallMs: 20_000,
      backoff: new Backoff({ random: () => 1 }),
    });
    feed.start();
    await tick();
    transport.emit("parse", "{not json");
    expect(rec.of("notice")[0]).toMatchObject({ kind: "error" });
    expect(rec.of("stream/down")).toHaveLength(0);
    scheduler.advance(20_000);
    expect(rec.of("stream/down")[0]).toMatchObject({ error: "no event for 20s" });
    scheduler.advance(1000);
    expect(transport.opened).toHaveLength(2);
    feed.stop();
  });
});

describe("poll feed", () => {
  test("never overlaps, backs off after failures, returns to its interval", async () => {
    const scheduler = new ManualScheduler();
    const calls: ((v: number | Error) => void)[] = [];
    const ok: number[] = [];
    const failed: [string, number][] = [];
    const feed = new PollFeed<number>({
      name: "t",
      intervalMs: 5000,
      scheduler,
      backoff: new Backoff({ baseMs: 2000, random: () => 1 }),
      run: () =>
        new Promise((resolve, reject) => calls.push((v) => (v instanceof Error ? reject(v) : resolve(v)))),
      onOk: (v) => ok.push(v),
      onFail: (e, at, retryAt) => failed.push([e, retryAt - at]),
    });
    feed.start();
    feed.refresh();
    feed.refresh();
    expect(calls).toHaveLength(1);
    calls[0]?.(new Error("refused"));
    await tick();
    expect(failed).toEqual([["refused", 2000]]);
    scheduler.advance(2000);
    expect(calls).toHaveLength(2);
    calls[1]?.(7);
    await tick();
    expect(ok).toEqual([7]);
    scheduler.advance(4999);
    expect(calls).toHaveLength(2);
    scheduler.advance(1);
    expect(calls).toHaveLength(3);
    feed.stop();
  });
});

describe("kNN", () => {
  test("prompt syntax", () => {
    expect(parsePrompt("retry after timeout")).toEqual({ kind: "text", text: "retry after timeout" });
    expect(parsePrompt(" doc:run-0412 ")).toEqual({ kind: "doc", doc_id: "run-0412" });
    expect(parsePrompt("@vec.json")).toEqual({ kind: "vector", path: "vec.json" });
    expect(parsePrompt("doc:").kind).toBe("error");
    expect(parsePrompt("   ").kind).toBe("error");
  });

  test("vector files: an array or {vector}; anything else is refused", async () => {
    const files: Record<string, string> = {
      "/w/a.json": "[0.1, 0.2, 0.3]",
      "/w/b.json": '{"doc_id":"x","vector":[1,2]}',
      "/w/c.json": '{"vector":["x"]}',
    };
    const read = async (p: string) => {
      const f = files[p];
      if (f === undefined) throw new Error("ENOENT");
      return f;
    };
    expect(await readVectorFile("a.json", "/w", read)).toEqual([0.1, 0.2, 0.3]);
    expect(await readVectorFile("b.json", "/w", read)).toEqual([1, 2]);
    await expect(readVectorFile("c.json", "/w", read)).rejects.toThrow("array of numbers");
    await expect(readVectorFile("missing.json", "/w", read)).rejects.toThrow(
      "cannot read a vector from /w/missing.json",
    );
  });

  test("the client posts the query and reports the backend's error", async () => {
    const transport = new FixtureTransport();
    transport.respondWith("/api/knn/query", (_p, body) => {
      const b = body as { doc_id?: string };
      return b.doc_id === "nope"
        ? { status: 404, body: { error: "unknown doc_id: nope" } }
        : { status: 200, body: fixture("knn-query.json") };
    });
    const q = createKnnClient(transport);
    const r = await q({ text: "retry", k: 5 });
    expect(r.neighbors.length).toBe((fixture("knn-query.json") as { neighbors: unknown[] }).neighbors.length);
    expect(transport.requests[0]).toEqual({
      path: "/api/knn/query",
      method: "POST",
      body: { text: "retry", k: 5 },
    });
    await expect(q({ doc_id: "nope", k: 5 })).rejects.toThrow("HTTP 404: unknown doc_id: nope");
  });

  test("an answer to a superseded query is dropped", async () => {
    const rec = recorder();
    const pending: ((r: KnnResult) => void)[] = [];
    const search = createSearcher({
      query: () => new Promise((resolve) => pending.push(resolve)),
      dispatch: rec.dispatch,
      now: () => 0,
      cwd: "/",
    });
    const a = search("first", 5);
    const b = search("second", 5);
    const result = fixture("knn-query.json") as KnnResult;
    pending[1]?.(result);
    pending[0]?.(result);
    await Promise.all([a, b]);
    expect(rec.of("knn/start").map((x) => x.type === "knn/start" && x.seq)).toEqual([1, 2]);
    expect(rec.of("knn/done").map((x) => x.type === "knn/done" && x.seq)).toEqual([2]);
  });
});

describe("DLQ save", () => {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "tui-dlq-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("writes NDJSON and never overwrites a file", async () => {
    const items = (fixture("dlq.json") as { items: Record<string, unknown>[] }).items;
    const now = Date.UTC(2026, 10, 25, 11, 30, 5);
    const a = await saveDlqTail(items, dir, now);
    const b = await saveDlqTail(items.slice(0, 1), dir, now);
    expect(a).toBe(join(dir, "dlq-20261125T113005Z.ndjson"));
    expect(b).toBe(join(dir, "dlq-20261125T113005Z-2.ndjson"));
    const lines = (await readFile(a, "utf8")).trimEnd().split("\n");
    expect(lines.map((l) => JSON.parse(l))).toEqual(items);
    expect((await readFile(b, "utf8")).trimEnd().split("\n")).toHaveLength(1);
  });
});

describe("HTTP transport (a local server speaking the backend's protocol)", () => {
  const seen: { path: string; auth: string | null; lastEventId: string | null }[] = [];
  let server: ReturnType<typeof Bun.serve>;
  beforeAll(() => {
    server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch(req) {
        const url = new URL(req.url);
        seen.push({
          path: url.pathname,
          auth: req.headers.get("authorization"),
          lastEventId: req.headers.get("last-event-id"),
        });
        if (req.headers.get("authorization") !== "Bearer s3cret") {
          return Response.json({ error: "missing or invalid bearer token" }, { status: 401 });
        }
        if (url.pathname === "/api/parse/stream") {
          const body = new ReadableStream({
            start(c) {
              const enc = new TextEncoder();
              c.enqueue(enc.encode("retry: 3000\n\n: ping\n\n"));
              c.enqueue(enc.encode(`id: 7\ndata: ${JSON.stringify(workerEvent())}\n\n`));
              c.enqueue(enc.encode('id: 8\ndata: {"error":"unreachable","timestamp":1}\n\n'));
            },
          });
          return new Response(body, { headers: { "content-type": "text/event-stream" } });
        }
        if (url.pathname === "/api/knn/query")
          return Response.json({ error: "unknown doc_id: x" }, { status: 404 });
        return Response.json({ status: "ok", timestamp: 1 });
      },
    });
  });
  afterAll(() => {
    server.stop(true);
  });

  test("streams carry the bearer token and Last-Event-ID; requests parse JSON answers", async () => {
    const base = `http://127.0.0.1:${server.port}`;
    const t = createHttpTransport({ baseUrl: base, token: "s3cret" });
    const got: { data: string; id?: string }[] = [];
    let opened = false;
    let close = () => {};
    await new Promise<void>((resolve, reject) => {
      close = t.openStream(
        "/api/parse/stream",
        {
          onOpen: () => {
            opened = true;
          },
          onMessage: (data, id) => {
            got.push({ data, id });
            if (got.length === 2) resolve();
          },
          onError: (m) => reject(new Error(m)),
        },
        "6",
      );
    });
    close();
    expect(opened).toBe(true);
    expect(got.map((g) => g.id)).toEqual(["7", "8"]);
    expect(JSON.parse(got[0]?.data ?? "{}").metrics.records_in).toBe(18000);
    expect(seen.find((s) => s.path === "/api/parse/stream")).toEqual({
      path: "/api/parse/stream",
      auth: "Bearer s3cret",
      lastEventId: "6",
    });
    expect(await t.request("/health")).toEqual({ status: 200, body: { status: "ok", timestamp: 1 } });
    const r = await t.request("/api/knn/query", { method: "POST", body: { doc_id: "x" } });
    expect(r).toEqual({ status: 404, body: { error: "unknown doc_id: x" } });
  });

  test("a refused stream (401) is reported, not retried by the transport", async () => {
    const t = createHttpTransport({ baseUrl: `http://127.0.0.1:${server.port}`, token: "wrong" });
    const before = seen.length;
    const error = await new Promise<string>((resolve) => {
      t.openStream("/api/parse/stream", { onOpen: () => {}, onMessage: () => {}, onError: resolve });
    });
    expect(error).toContain("401");
    await new Promise((r) => setTimeout(r, 50));
    expect(seen.length).toBe(before + 1);
  });

  test("an unreachable backend rejects requests and fails streams", async () => {
    const t = createHttpTransport({ baseUrl: "http://127.0.0.1:9", timeoutMs: 2000 });
    await expect(t.request("/health")).rejects.toThrow();
    const error = await new Promise<string>((resolve) => {
      t.openStream("/api/parse/stream", { onOpen: () => {}, onMessage: () => {}, onError: resolve });
    });
    expect(error.length).toBeGreaterThan(0);
  });
});

describe("kNN prompt filters", () => {
  test("| key=value terms after a query are a filter on labels, topic or success", () => {
    expect(parsePrompt("tests keep failing | success=false agent=coder,planner reward=0.5")).toEqual({
      kind: "text",
      text: "tests keep failing",
      filter: { success: false, agent: ["coder", "planner"], reward: 0.5 },
    });
    expect(parsePrompt("doc:run-1 | kind=null")).toEqual({
      kind: "doc",
      doc_id: "run-1",
      filter: { kind: null },
    });
    expect(parsePrompt('x | task="0042" episode=7')).toEqual({
      kind: "text",
      text: "x",
      filter: { task: "0042", episode: 7 },
    });
  });

  test("a | that is not followed by key=value terms belongs to the text; an empty filter is an error", () => {
    expect(parsePrompt("grep foo | wc -l")).toEqual({ kind: "text", text: "grep foo | wc -l" });
    expect(parsePrompt("flaky |").kind).toBe("error");
  });
});
