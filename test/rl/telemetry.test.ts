/** Telemetry: load levels from real figures; a source that is down is reported down, never guessed. */
import { afterAll, describe, expect, test } from "bun:test";
import {
  adaptSettings,
  assessLoad,
  type SourceReport,
  TelemetryClient,
  workerFigures,
} from "../../pipeline/rl/index.ts";
import { closedUrl } from "../helpers/rl-fake-backend.ts";

const servers: { stop(force?: boolean): void }[] = [];
afterAll(() => {
  for (const s of servers) s.stop(true);
});

/** A worker's /metrics (mutable between reads). */
function worker(metrics: Record<string, unknown>): { url: string; metrics: Record<string, unknown> } {
  const state = { url: "", metrics };
  const s = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: (req) =>
      new URL(req.url).pathname === "/metrics"
        ? Response.json(state.metrics)
        : new Response("not found", { status: 404 }),
  });
  servers.push(s);
  state.url = `http://127.0.0.1:${s.port}`;
  return state;
}

/** A backend whose SSE streams send one given event each (then stay open, as the real ones do). */
function backend(events: Record<string, unknown>, token?: string): string {
  const s = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req) {
      if (token && req.headers.get("authorization") !== `Bearer ${token}`)
        return Response.json({ error: "unauthorized" }, { status: 401 });
      const path = new URL(req.url).pathname;
      if (path === "/health") return Response.json({ status: "ok", timestamp: 1 });
      const name = /^\/api\/(.+)\/stream$/.exec(path)?.[1];
      if (!name || !(name in events)) return new Response("no", { status: 404 });
      const body = new ReadableStream({
        start(c) {
          c.enqueue(
            new TextEncoder().encode(
              `retry: 3000\n\n: ping\n\nid: 1\ndata: ${JSON.stringify(events[name])}\n\n`,
            ),
          );
        },
      });
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    },
  });
  servers.push(s);
  return `http://127.0.0.1:${s.port}`;
}

const calm = {
  last_infermesh_rtt_ms: 12,
  lag: 0,
  paused: false,
  outage_since: null,
  in_flight: 0,
  records_out: 10,
};
const up = (name: SourceReport["name"], figures: Partial<SourceReport["figures"]>): SourceReport => ({
  name,
  url: "u",
  status: "up",
  error: null,
  read_ms: 1,
  figures: { ...workerFigures({}, null), ...figures },
});

describe("assessLoad", () => {
  test("levels and recommendations follow the thresholds", () => {
    expect(assessLoad([up("embed-worker", { rtt_ms: 10, lag: 0, paused: false })]).level).toBe("ok");
    const busy = assessLoad([up("embed-worker", { rtt_ms: 300 })]);
    expect(busy).toMatchObject({
      level: "busy",
      recommendation: { action: "reduce_batch", batchScale: 0.5, timeoutScale: 2 },
    });
    expect(busy.reasons).toEqual(["embed-worker: RTT 300 ms ≥ 250"]);
    expect(assessLoad([up("indexer", { lag: 20_000 })]).level).toBe("overloaded");
    expect(assessLoad([up("parse", { paused: true })]).recommendation.action).toBe("back_off");
    const outage = assessLoad([up("embed-worker", { outage_since: 1_700_000_000 })]);
    expect(outage.level).toBe("outage");
    expect(outage.reasons[0]).toContain("2023-11-14T22:13:20.000Z");
    expect(assessLoad([up("embed-worker", { lag: 50 })], { lagBusy: 10 }).level).toBe("busy");
    // Up, but no figure at all: unknown, not ok.
    expect(assessLoad([up("backend", {})]).level).toBe("unknown");
  });

  test("adaptSettings scales the agent's batch and timeout", () => {
    const rec = assessLoad([up("embed-worker", { rtt_ms: 5000 })]).recommendation;
    expect(adaptSettings({ batchSize: 64, timeoutMs: 1000 }, rec)).toEqual({
      batchSize: 16,
      timeoutMs: 4000,
    });
    expect(adaptSettings({ batchSize: 2, timeoutMs: 1000 }, rec).batchSize).toBe(1);
  });
});

describe("TelemetryClient", () => {
  test("reads the workers' /metrics; a worker that is down is reported down with no figures", async () => {
    const embed = worker({ ...calm });
    const down = closedUrl();
    const t = new TelemetryClient({ workers: { "embed-worker": embed.url, indexer: down }, timeoutMs: 2000 });
    const r1 = await t.read();
    expect(r1.level).toBe("outage");
    const [e, i] = r1.sources;
    expect(e).toMatchObject({
      name: "embed-worker",
      status: "up",
      figures: { rtt_ms: 12, lag: 0, paused: false },
    });
    expect(e?.figures.records_out_per_sec).toBeNull(); // one snapshot gives no rate
    expect(i).toMatchObject({ name: "indexer", status: "down" });
    expect(i?.error).toMatch(/refused|ECONNREFUSED|Unable to connect/i);
    expect(Object.values(i?.figures ?? {}).every((v) => v === null)).toBe(true);
    expect(r1.reasons.some((x) => x.startsWith("indexer: down"))).toBe(true);
    expect(r1.recommendation.action).toBe("wait");

    embed.metrics = { ...calm, records_out: 1010, last_infermesh_rtt_ms: 400 };
    const t2 = new TelemetryClient({ workers: { "embed-worker": embed.url } });
    await t2.read();
    await Bun.sleep(50);
    embed.metrics = { ...calm, records_out: 2010, last_infermesh_rtt_ms: 400 };
    const r2 = await t2.read();
    expect(r2.level).toBe("busy");
    expect(r2.sources[0]?.figures.records_out_per_sec).toBeGreaterThan(0);
  });

  test("through the backend: its /health and one event per stream; what it reports unreachable is down", async () => {
    const url = backend(
      {
        "embed-worker": {
          metrics: { ...calm, paused: true },
          rates: { records_out_per_sec: 5 },
          timestamp: 1,
        },
        parse: {
          error: "unreachable",
          detail: "GET http://127.0.0.1:9102/metrics: ECONNREFUSED",
          timestamp: 1,
        },
        indexer: { metrics: { lag: 3 }, rates: {}, timestamp: 1 },
        infermesh: {
          infermesh: { status: "healthy", rtt_ms: 2.5 },
          rows_est: 10,
          rows_per_sec: null,
          timestamp: 1,
        },
      },
      "s3cret",
    );
    const r = await new TelemetryClient({ backendUrl: url, token: "s3cret", timeoutMs: 2000 }).read();
    const by = Object.fromEntries(r.sources.map((s) => [s.name, s]));
    expect(Object.keys(by).sort()).toEqual(["backend", "embed-worker", "indexer", "infermesh", "parse"]);
    expect(by.backend?.status).toBe("up");
    expect(by["embed-worker"]?.figures).toMatchObject({ paused: true, records_out_per_sec: 5, rtt_ms: 12 });
    expect(by.parse).toMatchObject({ status: "down" });
    expect(by.parse?.error).toContain("ECONNREFUSED");
    expect(by.indexer?.figures.lag).toBe(3);
    expect(by.indexer?.figures.paused).toBeNull(); // not reported → null, not false
    expect(by.infermesh?.figures.rtt_ms).toBe(2.5);
    expect(r.level).toBe("outage");
  });

  test("InferMesh unreachable per the backend is down; a backend that is down takes every source down with it", async () => {
    const url = backend({
      "embed-worker": { metrics: calm, rates: {}, timestamp: 1 },
      parse: { metrics: calm, rates: {}, timestamp: 1 },
      indexer: { metrics: calm, rates: {}, timestamp: 1 },
      infermesh: { infermesh: { status: "unreachable", rtt_ms: null, error: "ECONNREFUSED" }, timestamp: 1 },
    });
    const r = await new TelemetryClient({ backendUrl: url }).read();
    expect(r.sources.find((s) => s.name === "infermesh")).toMatchObject({ status: "down" });
    expect(r.level).toBe("outage");

    const gone = await new TelemetryClient({ backendUrl: closedUrl(), timeoutMs: 2000 }).read();
    expect(gone.sources).toHaveLength(5);
    expect(gone.sources.every((s) => s.status === "down" && s.error !== null)).toBe(true);
    expect(gone.level).toBe("outage");
  });

  test("a source that never answers is down after the timeout", async () => {
    const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Promise<Response>(() => {}) });
    servers.push(s);
    const t0 = performance.now();
    const r = await new TelemetryClient({
      workers: { parse: `http://127.0.0.1:${s.port}` },
      timeoutMs: 200,
    }).read();
    expect(performance.now() - t0).toBeLessThan(1500);
    expect(r.sources[0]).toMatchObject({ status: "down", error: "no answer within 200 ms" });
  });

  test("needs a source", () => {
    expect(() => new TelemetryClient({})).toThrow(/backend URL or at least one worker URL/);
  });
});
