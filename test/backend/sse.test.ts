import { afterAll, afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Server } from "bun";
import { EventSource } from "eventsource";
import { parquetWriteBuffer } from "hyparquet-writer";
import {
  type Backend,
  type BackendOptions,
  type BackendSources,
  createBackend,
} from "../../pipeline/backend/app.ts";
import { SseChannel } from "../../pipeline/backend/sse.ts";
import type { InfermeshEvent, VectorizerEvent, WorkerEvent } from "../../pipeline/contracts/streams.ts";
import type { Logger } from "../../pipeline/core/log.ts";
import { downSources } from "../helpers/backend.ts";
import { eventually } from "../helpers/wait.ts";

setDefaultTimeout(30_000);

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

const cleanup: (() => void)[] = [];
afterEach(() => {
  while (cleanup.length > 0) cleanup.pop()?.();
});

/** A worker's status server: `/metrics` counters grow by 10 records per request; requests are counted. */
function fakeWorker() {
  const state = { hits: 0, records: 0 };
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req) {
      const path = new URL(req.url).pathname;
      if (path === "/metrics") {
        state.hits += 1;
        state.records += 10;
        return Response.json({
          started_ts: 1_700_000_000,
          batches: state.hits,
          records_in: state.records + 1,
          records_out: state.records,
          dlq_records: 1,
          paused: false,
          ts: Date.now() / 1000,
        });
      }
      return Response.json({ error: "not found" }, { status: 404 });
    },
  });
  cleanup.push(() => server.stop(true));
  return { state, url: `http://127.0.0.1:${server.port}`, server };
}

/** InferMesh's `/health`, answering `status` (200 or 503). */
function fakeInfermesh() {
  const state = { status: 200, hits: 0 };
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req) {
      if (new URL(req.url).pathname !== "/health") return new Response("", { status: 404 });
      state.hits += 1;
      return Response.json({ status: state.status === 200 ? "ok" : "loading" }, { status: state.status });
    },
  });
  cleanup.push(() => server.stop(true));
  return { state, url: `http://127.0.0.1:${server.port}` };
}

interface Running {
  backend: Backend;
  server: Server<undefined>;
  base: string;
}

function serve(src: BackendSources, opts: BackendOptions = {}, port = 0): Running {
  const backend = createBackend(
    {
      knn: {
        query: () => Promise.reject(new Error("unused")),
        shards: () => Promise.reject(new Error("unused")),
      },
      dlqTail: async () => [],
      sources: src,
    },
    { log: quiet, upstreamTimeoutMs: 1000, retryMs: 50, ...opts },
  );
  const server = Bun.serve({ port, hostname: "127.0.0.1", fetch: (req, srv) => backend.fetch(req, srv) });
  const r = { backend, server, base: `http://127.0.0.1:${server.port}` };
  cleanup.push(() => {
    backend.close();
    server.stop(true);
  });
  return r;
}

interface Received<T> {
  id: string;
  data: T;
}

/** An EventSource client collecting every message. */
function listen<T>(url: string) {
  const events: Received<T>[] = [];
  const errors: unknown[] = [];
  const es = new EventSource(url);
  es.addEventListener("message", (e) => events.push({ id: e.lastEventId, data: JSON.parse(e.data) as T }));
  es.addEventListener("error", (e) => errors.push(e));
  cleanup.push(() => es.close());
  return { es, events, errors };
}

/** Reads a raw event stream with fetch, accumulating its text. */
async function rawStream(url: string) {
  const ac = new AbortController();
  const res = await fetch(url, { signal: ac.signal });
  const state = { text: "", done: false };
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  void (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        state.text += decoder.decode(value, { stream: true });
      }
    } catch {
      // aborted
    }
    state.done = true;
  })();
  cleanup.push(() => ac.abort());
  return { res, state, abort: () => ac.abort() };
}

const EMBED = "/api/embed-worker/stream";

describe("event streams", () => {
  test("events have increasing ids and carry the worker's metrics and rates", async () => {
    const w = fakeWorker();
    const r = serve(downSources({ embedWorkerUrl: w.url }), { pollIntervalMs: 30 });
    const c = listen<WorkerEvent>(`${r.base}${EMBED}`);
    await eventually("the condition", () => c.events.length >= 3, 10_000, 5);
    const ids = c.events.map((e) => Number(e.id));
    expect(ids.every((id) => Number.isInteger(id) && id > 0)).toBe(true);
    for (let i = 1; i < ids.length; i++) expect(ids[i] as number).toBeGreaterThan(ids[i - 1] as number);
    const [first, second] = c.events.map((e) => e.data);
    if (!first || !second || !("metrics" in first) || !("metrics" in second))
      throw new Error("expected metrics");
    expect(first.metrics.records_out).toBeNumber();
    expect(first.metrics.paused).toBe(false);
    expect(first.rates).toEqual({
      records_in_per_sec: null,
      records_out_per_sec: null,
      batches_per_sec: null,
      dlq_per_sec: null,
    });
    expect(second.rates.records_out_per_sec).toBeGreaterThan(0);
    expect(second.rates.batches_per_sec).toBeGreaterThan(0);
    expect(second.rates.dlq_per_sec).toBe(0);
    expect(Math.abs(second.timestamp - Date.now() / 1000)).toBeLessThan(60);
  });

  test("the stream starts with retry and has the SSE headers", async () => {
    const r = serve(downSources(), { pollIntervalMs: 60_000, retryMs: 3000 });
    const s = await rawStream(`${r.base}${EMBED}`);
    expect(s.res.status).toBe(200);
    expect(s.res.headers.get("content-type")).toStartWith("text/event-stream");
    expect(s.res.headers.get("cache-control")).toBe("no-cache");
    await eventually("the condition", () => s.state.text.includes("data:"), 10_000, 5);
    expect(s.state.text).toStartWith("retry: 3000\n\n");
    expect(s.state.text).toMatch(/\nid: 1\ndata: \{"error":"unreachable",.*\}\n\n/);
  });

  test("two clients share one poller; a new client gets the latest snapshot at once", async () => {
    const w = fakeWorker();
    const r = serve(downSources({ embedWorkerUrl: w.url }), { pollIntervalMs: 60_000 });
    const a = listen<WorkerEvent>(`${r.base}${EMBED}`);
    await eventually("the condition", () => a.events.length === 1, 10_000, 5);
    expect(w.state.hits).toBe(1);
    const b = listen<WorkerEvent>(`${r.base}${EMBED}`);
    await eventually("the condition", () => b.events.length === 1, 10_000, 5);
    expect(b.events[0]).toEqual(a.events[0] as Received<WorkerEvent>);
    expect(w.state.hits).toBe(1);
    expect(r.backend.streams()[EMBED]).toEqual({ clients: 2, polling: true, polls: 1, lastId: 1 });
  });

  test("with a short interval every snapshot reaches both clients from one upstream request each", async () => {
    const w = fakeWorker();
    const r = serve(downSources({ embedWorkerUrl: w.url }), { pollIntervalMs: 20 });
    const a = listen<WorkerEvent>(`${r.base}${EMBED}`);
    const b = listen<WorkerEvent>(`${r.base}${EMBED}`);
    await eventually("the condition", () => a.events.length >= 5 && b.events.length >= 5, 10_000, 5);
    const state = r.backend.streams()[EMBED];
    // One upstream request per snapshot (plus at most one in flight), not one per client.
    expect(w.state.hits).toBeLessThanOrEqual((state?.lastId ?? 0) + 1);
    const common = b.events.map((e) => e.id).filter((id) => a.events.some((x) => x.id === id));
    expect(common.length).toBeGreaterThanOrEqual(3);
    for (const id of common) {
      expect(b.events.find((e) => e.id === id)?.data).toEqual(
        a.events.find((e) => e.id === id)?.data as WorkerEvent,
      );
    }
  });

  test("the poller stops when the last client disconnects", async () => {
    const w = fakeWorker();
    const witness = fakeWorker();
    const r = serve(downSources({ embedWorkerUrl: w.url, parseUrl: witness.url }), { pollIntervalMs: 20 });
    const a = listen<WorkerEvent>(`${r.base}${EMBED}`);
    const b = listen<WorkerEvent>(`${r.base}${EMBED}`);
    await eventually("the condition", () => a.events.length >= 2 && b.events.length >= 2, 10_000, 5);
    a.es.close();
    await eventually("the condition", () => r.backend.streams()[EMBED]?.clients === 1, 10_000, 5);
    expect(r.backend.streams()[EMBED]?.polling).toBe(true);
    const seen = b.events.length;
    await eventually("the condition", () => b.events.length >= seen + 2, 10_000, 5);
    b.es.close();
    await eventually("the condition", () => r.backend.streams()[EMBED]?.clients === 0, 10_000, 5);
    expect(r.backend.streams()[EMBED]?.polling).toBe(false);
    // Let a poll that was in flight land, then check that no further request is made
    // while another stream polls 5 times at the same interval.
    const hits = w.state.hits;
    const other = listen<WorkerEvent>(`${r.base}/api/parse/stream`);
    await eventually("the condition", () => other.events.length >= 5, 10_000, 5);
    expect(w.state.hits).toBeLessThanOrEqual(hits + 1);
    const settled = w.state.hits;
    const more = other.events.length;
    await eventually("the condition", () => other.events.length >= more + 3, 10_000, 5);
    expect(w.state.hits).toBe(settled);
  });

  test("an aborted request is dropped at once, and a later client restarts the poller", async () => {
    const w = fakeWorker();
    const r = serve(downSources({ embedWorkerUrl: w.url }), { pollIntervalMs: 60_000 });
    const s = await rawStream(`${r.base}${EMBED}`);
    await eventually("the condition", () => s.state.text.includes("data:"), 10_000, 5);
    expect(r.backend.streams()[EMBED]).toMatchObject({ clients: 1, polling: true });
    s.abort();
    await eventually("the condition", () => r.backend.streams()[EMBED]?.clients === 0, 10_000, 5);
    expect(r.backend.streams()[EMBED]?.polling).toBe(false);
    const c = listen<WorkerEvent>(`${r.base}${EMBED}`);
    await eventually("the condition", () => c.events.length === 1, 10_000, 5);
    expect(w.state.hits).toBe(2);
    expect(Number(c.events[0]?.id)).toBe(2);
  });

  test("a stream is exempt from the server's idle timeout when the handler gets the server", async () => {
    // Two servers with a 1 s idle timeout and no event for a minute: the one that does not
    // pass `server` to the handler (the witness) loses its stream to the timeout; the other
    // keeps it.
    const open = (withServer: boolean) => {
      const backend = createBackend(
        {
          knn: {
            query: () => Promise.reject(new Error("unused")),
            shards: () => Promise.reject(new Error("unused")),
          },
          dlqTail: async () => [],
          sources: downSources(),
        },
        { log: quiet, pollIntervalMs: 60_000, heartbeatMs: 60_000, upstreamTimeoutMs: 500 },
      );
      const server = Bun.serve({
        port: 0,
        hostname: "127.0.0.1",
        idleTimeout: 1,
        fetch: (req, srv) => backend.fetch(req, withServer ? srv : undefined),
      });
      cleanup.push(() => {
        backend.close();
        server.stop(true);
      });
      return { backend, url: `http://127.0.0.1:${server.port}${EMBED}` };
    };
    const kept = open(true);
    const witness = open(false);
    const a = await rawStream(kept.url);
    const b = await rawStream(witness.url);
    await eventually(
      "the condition",
      () => a.state.text.includes("data:") && b.state.text.includes("data:"),
      10_000,
      5,
    );
    await eventually("the condition", () => b.state.done, 10_000, 5);
    await eventually("the condition", () => witness.backend.streams()[EMBED]?.clients === 0, 10_000, 5);
    expect(a.state.done).toBe(false);
    expect(kept.backend.streams()[EMBED]?.clients).toBe(1);
  });

  test("a client that stops reading is dropped once too many frames are queued", async () => {
    let n = 0;
    const channel = new SseChannel("slow", async () => ({ n: ++n }), 1, {
      retryMs: 100,
      heartbeatMs: 60_000,
      maxQueuedFrames: 5,
      log: quiet,
    });
    cleanup.push(() => channel.close());
    const res = channel.connect(new Request("http://backend.test/stream"));
    expect(res.body).not.toBeNull(); // never read
    await eventually("the condition", () => channel.state().clients === 0, 10_000, 5);
    expect(channel.state().polling).toBe(false);
    expect(n).toBeGreaterThanOrEqual(5);
  });

  test("heartbeats are sent as comments at the heartbeat interval", async () => {
    const r = serve(downSources(), { pollIntervalMs: 60_000, heartbeatMs: 25 });
    const s = await rawStream(`${r.base}${EMBED}`);
    await eventually(
      "the condition",
      () => (s.state.text.match(/^: ping\n\n/gm) ?? []).length >= 3,
      10_000,
      5,
    );
    expect(s.state.text.match(/^data:/gm)).toHaveLength(1);
  });

  test("an EventSource reconnects after the server restarts, and ids keep increasing", async () => {
    const w = fakeWorker();
    const src = downSources({ embedWorkerUrl: w.url });
    const first = serve(src, { pollIntervalMs: 30 });
    const port = first.server.port as number;
    const c = listen<WorkerEvent>(`${first.base}${EMBED}`);
    await eventually("the condition", () => c.events.length >= 2, 10_000, 5);
    first.backend.close();
    first.server.stop(true);
    await eventually("the condition", () => c.errors.length >= 1, 10_000, 5);
    const before = c.events.length;
    const lastId = Number(c.events.at(-1)?.id);
    const second = serve(src, { pollIntervalMs: 30 }, port);
    await eventually("the condition", () => c.events.length >= before + 2, 10_000, 5);
    const after = c.events.slice(before).map((e) => Number(e.id));
    expect(after[0] as number).toBeGreaterThan(lastId);
    expect(second.backend.streams()[EMBED]?.clients).toBe(1);
  });

  test("an unreachable worker is reported as such, on every worker stream", async () => {
    const r = serve(downSources(), { pollIntervalMs: 60_000 });
    for (const path of [EMBED, "/api/parse/stream", "/api/indexer/stream"]) {
      const c = listen<WorkerEvent>(`${r.base}${path}`);
      await eventually("the condition", () => c.events.length === 1, 10_000, 5);
      const data = c.events[0]?.data;
      expect(data).toMatchObject({ error: "unreachable" });
      expect(data && "detail" in data ? data.detail : "").toContain("/metrics");
      expect(data?.timestamp).toBeNumber();
    }
  });

  test("parse and indexer streams have the embed-worker stream's shape", async () => {
    const parse = fakeWorker();
    const indexer = fakeWorker();
    const r = serve(downSources({ parseUrl: parse.url, indexerUrl: indexer.url }), { pollIntervalMs: 20 });
    const p = listen<WorkerEvent>(`${r.base}/api/parse/stream`);
    const i = listen<WorkerEvent>(`${r.base}/api/indexer/stream`);
    await eventually("the condition", () => p.events.length >= 2 && i.events.length >= 2, 10_000, 5);
    for (const e of [p.events[1]?.data, i.events[1]?.data]) {
      expect(e && "rates" in e ? e.rates.records_in_per_sec : null).toBeGreaterThan(0);
      expect(e && "metrics" in e ? e.metrics.records_out : null).toBeNumber();
    }
  });

  test("a worker counter reset gives no rate rather than a negative one", async () => {
    const w = fakeWorker();
    const r = serve(downSources({ embedWorkerUrl: w.url }), { pollIntervalMs: 20 });
    const c = listen<WorkerEvent>(`${r.base}${EMBED}`);
    await eventually("the condition", () => c.events.length >= 2, 10_000, 5);
    w.state.records = -1000; // the worker restarted: its counters start over
    w.state.hits = 0;
    await eventually("the condition", () => c.events.length >= 6, 10_000, 5);
    const rates = c.events.map((e) => ("rates" in e.data ? e.data.rates.records_out_per_sec : null));
    expect(rates[0]).toBeNull();
    expect(rates.slice(1)).toContain(null);
    expect(rates.every((x) => x === null || x >= 0)).toBe(true);
  });
});

describe("InferMesh stream", () => {
  test("healthy with a round trip, and the embed worker's throughput from its counters", async () => {
    const im = fakeInfermesh();
    const w = fakeWorker();
    const r = serve(downSources({ infermeshUrl: im.url, embedWorkerUrl: w.url }), { pollIntervalMs: 20 });
    const c = listen<InfermeshEvent>(`${r.base}/api/infermesh/stream`);
    await eventually("the condition", () => c.events.length >= 2, 10_000, 5);
    const [a, b] = c.events.map((e) => e.data);
    expect(a?.infermesh.status).toBe("healthy");
    expect(a?.infermesh.rtt_ms).toBeGreaterThanOrEqual(0);
    expect(a?.rows_est).toBeNumber();
    expect(a?.rows_per_sec).toBeNull();
    expect((b?.rows_est ?? 0) - (a?.rows_est ?? 0)).toBe(10);
    expect(b?.rows_per_sec).toBeGreaterThan(0);
    im.state.status = 503;
    await eventually(
      "the condition",
      () => c.events.at(-1)?.data.infermesh.status === "unhealthy",
      10_000,
      5,
    );
    expect(c.events.at(-1)?.data.infermesh.rtt_ms).toBeNumber();
  });

  test("unreachable InferMesh and worker: status unreachable, no RTT, no rows", async () => {
    const r = serve(downSources(), { pollIntervalMs: 60_000 });
    const c = listen<InfermeshEvent>(`${r.base}/api/infermesh/stream`);
    await eventually("the condition", () => c.events.length === 1, 10_000, 5);
    const e = c.events[0]?.data;
    expect(e?.infermesh.status).toBe("unreachable");
    expect(e?.infermesh.rtt_ms).toBeNull();
    expect(e?.rows_est).toBeNull();
    expect(e?.rows_per_sec).toBeNull();
  });
});

describe("vectorizer stream", () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  function writeParquet(dir: string, name: string, rows: number): void {
    const buf = parquetWriteBuffer({
      columnData: [{ name: "doc_id", data: Array.from({ length: rows }, (_, i) => `d${i}`), type: "STRING" }],
    });
    writeFileSync(join(dir, name), new Uint8Array(buf));
  }

  test("folder stats from footers, rates between polls, the parse folder as stats", async () => {
    const root = await mkdtemp(join(tmpdir(), "backend-vec-"));
    dirs.push(root);
    const parsed = join(root, "parsed");
    const embedded = join(root, "embeddings");
    mkdirSync(parsed);
    mkdirSync(embedded);
    writeParquet(parsed, "parsed-1.parquet", 3);
    writeParquet(embedded, "embeddings-1.parquet", 5);
    writeParquet(embedded, "embeddings-2.parquet", 7);
    writeFileSync(join(embedded, ".embeddings-3.tmp"), "partial");
    const r = serve(
      downSources({
        parquetDirs: { embed_worker_parquet: embedded, parse_parquet: parsed, other: "" },
      }),
      { pollIntervalMs: 30 },
    );
    const c = listen<VectorizerEvent>(`${r.base}/api/vectorizer/stream`);
    await eventually("the condition", () => c.events.length >= 1, 10_000, 5);
    const first = c.events[0]?.data as VectorizerEvent;
    expect(first.stats).toMatchObject({ enabled: true, path: parsed, files: 1, rows_est: 3 });
    expect(first.stats.bytes).toBeGreaterThan(0);
    expect(Math.abs((first.stats.latest_ts ?? 0) - Date.now() / 1000)).toBeLessThan(60);
    expect(first.folders.embed_worker_parquet).toMatchObject({ enabled: true, files: 2, rows_est: 12 });
    expect(first.folders.other).toMatchObject({ enabled: false, files: 0, rows_est: 0, latest_ts: null });
    expect(first.rate_rows_per_sec).toBeNull();
    writeParquet(parsed, "parsed-2.parquet", 40);
    await eventually("the condition", () => (c.events.at(-1)?.data.stats.rows_est ?? 0) === 43, 10_000, 5);
    const last = c.events.at(-1)?.data as VectorizerEvent;
    expect(last.rate_rows_per_sec).toBeGreaterThan(0);
    expect(last.rate_bytes_per_sec).toBeGreaterThan(0);
    expect(last.stats.rate_rows_per_sec).toBe(last.rate_rows_per_sec);
  });

  test("a missing folder has no files", async () => {
    const r = serve(downSources({ parquetDirs: { parse_parquet: "/nonexistent/rl-embeddings-test" } }), {
      pollIntervalMs: 60_000,
    });
    const c = listen<VectorizerEvent>(`${r.base}/api/vectorizer/stream`);
    await eventually("the condition", () => c.events.length === 1, 10_000, 5);
    expect(c.events[0]?.data.stats).toMatchObject({ enabled: true, files: 0, rows_est: 0 });
  });
});
