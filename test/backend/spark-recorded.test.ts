/**
 * The backend's Spark source and stream against answers recorded from a real Spark 4.1.1
 * driver running the parse job (fixtures/spark, `bun scripts/record-spark.ts`), served at
 * the same paths as the driver serves them, the `/metrics/json` redirect and the DStreams 404
 * included. Expected figures are derived from the recorded files, so re-recording needs no
 * change here.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createSparkSource, streamingFromMetrics } from "../../pipeline/backend/spark.ts";
import { serveSparkBackend } from "../helpers/backend.ts";
import { repoRoot } from "../helpers/run.ts";
import { firstEvent } from "../helpers/sse.ts";

type Json = Record<string, unknown>;
const recorded = (name: string): unknown =>
  JSON.parse(readFileSync(join(repoRoot, "fixtures", "spark", name), "utf8"));
const applications = recorded("applications.json") as Json[];
const executors = recorded("executors.json") as Json[];
const jobs = recorded("jobs.json") as Json[];
const metrics = recorded("metrics.json") as { gauges: Record<string, { value: number }> };
const statistics = recorded("streaming-statistics.json") as { status: number; body: unknown };
const appId = String(applications[0]?.id);
const gauge = (suffix: string) =>
  Object.entries(metrics.gauges).find(([k]) => k.endsWith(`.spark.streaming.parse.${suffix}`))?.[1].value;

let driver: ReturnType<typeof Bun.serve>;
let api: string;

beforeAll(() => {
  const app = `/api/v1/applications/${appId}`;
  const routes: Record<string, () => Response> = {
    "/api/v1/applications": () => Response.json(applications),
    [`${app}/executors`]: () => Response.json(executors),
    [`${app}/jobs`]: () => Response.json(jobs),
    [`${app}/stages`]: () => Response.json(recorded("stages.json")),
    [`${app}/environment`]: () => Response.json(recorded("environment.json")),
    [`${app}/streaming/statistics`]: () =>
      new Response(String(statistics.body), { status: statistics.status }),
    // As the driver does: /metrics/json answers with a redirect to /metrics/json/.
    "/metrics/json": () => new Response(null, { status: 302, headers: { location: "/metrics/json/" } }),
    "/metrics/json/": () => Response.json(metrics),
  };
  driver = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: (req) => routes[new URL(req.url).pathname]?.() ?? new Response("not found", { status: 404 }),
  });
  api = `http://127.0.0.1:${driver.port}/api/v1`;
});
afterAll(() => driver.stop(true));

test("the recordings come from the parse job: app kafka_vectorizer, query parse, a 404 for DStreams", () => {
  expect(applications[0]).toMatchObject({ name: "kafka_vectorizer", attempts: [{ completed: false }] });
  expect(statistics.status).toBe(404);
  expect(typeof gauge("inputRate-total")).toBe("number");
  expect(executors[0]).toHaveProperty("maxMemory");
  expect(executors[0]).toHaveProperty("memoryUsed");
  expect(executors[0]).toHaveProperty("totalCores");
});

test("the Spark source turns the real answers into a running snapshot", async () => {
  const snap = await createSparkSource({ apiUrl: api, fetch, timeoutMs: 2000 })();
  if (snap.status !== "running") throw new Error(`expected running, got ${JSON.stringify(snap)}`);
  const sum = (f: string) => executors.reduce((s, e) => s + Number(e[f]), 0);
  expect(snap.application_id).toBe(appId);
  expect(snap.master).toBe("local[2]");
  expect(snap.executors).toEqual(executors);
  expect(snap.cluster_metrics).toEqual({
    cores_total: sum("totalCores"),
    memory_max: sum("maxMemory"),
    memory_used: sum("memoryUsed"),
    executors: executors.length,
    active_tasks: sum("activeTasks"),
  });
  expect(snap.workers).toEqual([
    expect.objectContaining({ host: "127.0.0.1", executors: 1, cores: sum("totalCores") }),
  ]);
  expect(snap.jobs.map((j) => (j as Json).jobId)).toEqual(jobs.map((j) => j.jobId));
  expect(snap.jobs[0]).toMatchObject({
    jobId: jobs[0]?.jobId,
    status: jobs[0]?.status,
    numTasks: jobs[0]?.numTasks,
  });
  expect(snap.stages[0]).toMatchObject({ stageId: expect.any(Number), status: expect.any(String) });
  expect(JSON.stringify(snap).length).toBeLessThan(64 * 1024); // an SSE event every 5 s
  expect(snap.streaming).toEqual({
    input_rate: gauge("inputRate-total") as number,
    processing_rate: gauge("processingRate-total") as number,
    batch_duration_ms: gauge("latency") as number,
    source: "metrics",
    queries: ["parse"],
  });
  expect(streamingFromMetrics(metrics)?.queries).toEqual(["parse"]);
});

test("GET /api/spark/stream sends that snapshot to clients", async () => {
  const backend = serveSparkBackend(api);
  try {
    const event = await firstEvent(`${backend.url}/api/spark/stream`, undefined, 10_000);
    expect(event).toMatchObject({
      status: "running",
      application_id: appId,
      master: "local[2]",
      streaming: { source: "metrics", queries: ["parse"], input_rate: gauge("inputRate-total") },
      cluster_metrics: { executors: executors.length },
    });
  } finally {
    backend.stop();
  }
});
