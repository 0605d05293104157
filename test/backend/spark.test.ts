import { afterEach, describe, expect, test } from "bun:test";
import { EventSource } from "eventsource";
import { createSparkSource, streamingFromMetrics } from "../../pipeline/backend/spark.ts";
import type { SparkEvent, SparkSnapshot } from "../../pipeline/contracts/streams.ts";
import { serveSparkBackend } from "../helpers/backend.ts";
import { eventually, freePort } from "../helpers/wait.ts";

const cleanup: (() => void)[] = [];
afterEach(() => {
  while (cleanup.length > 0) cleanup.pop()?.();
});

const APP = "app-20250301101500-0003";

// Payload shapes as documented in Spark's monitoring guide (REST API, MetricsServlet).
const applications = [
  {
    id: APP,
    name: "rl-embeddings-vectorizer",
    attempts: [
      {
        startTime: "2025-03-01T10:15:00.123GMT",
        endTime: "1969-12-31T23:59:59.999GMT",
        lastUpdated: "2025-03-01T10:15:00.123GMT",
        duration: 3_600_000,
        sparkUser: "spark",
        completed: false,
        appSparkVersion: "3.5.1",
        startTimeEpoch: 1_740_824_100_123,
        endTimeEpoch: -1,
        lastUpdatedEpoch: 1_740_824_100_123,
      },
    ],
  },
  {
    id: "app-20250228090000-0002",
    name: "backfill",
    attempts: [
      {
        startTime: "2025-02-28T09:00:00.000GMT",
        endTime: "2025-02-28T09:30:00.000GMT",
        lastUpdated: "2025-02-28T09:30:00.000GMT",
        duration: 1_800_000,
        sparkUser: "spark",
        completed: true,
        appSparkVersion: "3.5.1",
        startTimeEpoch: 1_740_733_200_000,
        endTimeEpoch: 1_740_735_000_000,
        lastUpdatedEpoch: 1_740_735_000_000,
      },
    ],
  },
];

function executor(
  id: string,
  hostPort: string,
  cores: number,
  maxMemory: number,
  memoryUsed: number,
  active: number,
) {
  return {
    id,
    hostPort,
    isActive: true,
    rddBlocks: 0,
    memoryUsed,
    diskUsed: 0,
    totalCores: cores,
    maxTasks: cores,
    activeTasks: active,
    failedTasks: 1,
    completedTasks: 420,
    totalTasks: 421 + active,
    totalDuration: 98_765,
    totalGCTime: 1234,
    totalInputBytes: 1_048_576,
    totalShuffleRead: 0,
    totalShuffleWrite: 0,
    isBlacklisted: false,
    maxMemory,
    addTime: "2025-03-01T10:15:02.000GMT",
    executorLogs: {},
    memoryMetrics: {
      usedOnHeapStorageMemory: memoryUsed,
      usedOffHeapStorageMemory: 0,
      totalOnHeapStorageMemory: maxMemory,
      totalOffHeapStorageMemory: 0,
    },
    blacklistedInStages: [],
    attributes: {},
    resources: {},
    resourceProfileId: 0,
    isExcluded: false,
    excludedInStages: [],
  };
}

const executors = [
  executor("driver", "10.0.0.5:40123", 0, 455_501_414, 1_000, 0),
  executor("0", "10.0.0.6:35001", 4, 2_101_975_449, 52_428_800, 2),
  executor("1", "10.0.0.7:35001", 4, 2_101_975_449, 10_485_760, 1),
];

const jobs = [
  {
    jobId: 41,
    name: "start at NativeMethodAccessorImpl.java:0",
    submissionTime: "2025-03-01T11:14:58.000GMT",
    stageIds: [82, 83],
    jobGroup: "2f1d…",
    status: "RUNNING",
    numTasks: 8,
    numActiveTasks: 3,
    numCompletedTasks: 5,
    numSkippedTasks: 0,
    numFailedTasks: 0,
    numKilledTasks: 0,
    numCompletedIndices: 5,
    numActiveStages: 1,
    numCompletedStages: 1,
    numSkippedStages: 0,
    numFailedStages: 0,
    killedTasksSummary: {},
  },
  ...Array.from({ length: 60 }, (_, i) => ({
    jobId: 40 - i,
    status: "SUCCEEDED",
    numTasks: 8,
    stageIds: [],
  })),
];

const stages = [
  {
    status: "ACTIVE",
    stageId: 83,
    attemptId: 0,
    numTasks: 4,
    numActiveTasks: 3,
    numCompleteTasks: 1,
    numFailedTasks: 0,
    numKilledTasks: 0,
    numCompletedIndices: 1,
    executorRunTime: 1200,
    inputBytes: 4096,
    inputRecords: 64,
    outputBytes: 0,
    outputRecords: 0,
    shuffleReadBytes: 0,
    shuffleWriteBytes: 0,
    name: "start at NativeMethodAccessorImpl.java:0",
    schedulingPool: "default",
    rddIds: [301, 300],
    accumulatorUpdates: [],
    killedTasksSummary: {},
    resourceProfileId: 0,
  },
];

const environment = {
  runtime: { javaVersion: "17.0.10", javaHome: "/opt/java", scalaVersion: "version 2.12.18" },
  sparkProperties: [
    ["spark.app.name", "rl-embeddings-vectorizer"],
    ["spark.master", "spark://10.0.0.5:7077"],
    ["spark.sql.streaming.metricsEnabled", "true"],
  ],
  hadoopProperties: [],
  systemProperties: [],
  classpathEntries: [],
};

const metricsJson = {
  version: "4.0.0",
  gauges: {
    [`${APP}.driver.BlockManager.memory.maxMem_MB`]: { value: 434 },
    [`${APP}.driver.spark.streaming.parse_query.inputRate-total`]: { value: 120.5 },
    [`${APP}.driver.spark.streaming.parse_query.processingRate-total`]: { value: 118.25 },
    [`${APP}.driver.spark.streaming.parse_query.latency`]: { value: 850 },
    [`${APP}.driver.spark.streaming.parse_query.eventTime-watermark`]: { value: 0 },
    [`${APP}.driver.spark.streaming.parse_query.states-rowsTotal`]: { value: 0 },
    [`${APP}.driver.spark.streaming.dlq_query.inputRate-total`]: { value: 4.5 },
    [`${APP}.driver.spark.streaming.dlq_query.processingRate-total`]: { value: "NaN" },
    [`${APP}.driver.spark.streaming.dlq_query.latency`]: { value: 120 },
  },
  counters: {},
  histograms: {},
  meters: {},
  timers: {},
};

interface FakeSparkOptions {
  /** Path prefix before `/api/v1` and `/metrics/json` (a reverse proxy). */
  prefix?: string;
  apps?: unknown;
  applicationsStatus?: number;
  statistics?: unknown;
  metrics?: unknown;
}

/** A Spark driver UI: REST API under `{prefix}/api/v1`, metrics servlet at `{prefix}/metrics/json`. */
function fakeSpark(o: FakeSparkOptions = {}) {
  const prefix = o.prefix ?? "";
  const hits: string[] = [];
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req) {
      const path = new URL(req.url).pathname;
      hits.push(path);
      const app = `${prefix}/api/v1/applications/${APP}`;
      const routes: Record<string, unknown> = {
        [`${prefix}/api/v1/applications`]: o.apps ?? applications,
        [`${app}/executors`]: executors,
        [`${app}/jobs`]: jobs,
        [`${app}/stages`]: stages,
        [`${app}/environment`]: environment,
        [`${prefix}/metrics/json`]: o.metrics ?? metricsJson,
      };
      if (o.statistics !== undefined) routes[`${app}/streaming/statistics`] = o.statistics;
      if (path === `${prefix}/api/v1/applications` && o.applicationsStatus) {
        return new Response("<html>Error 500</html>", { status: o.applicationsStatus });
      }
      if (path in routes) return Response.json(routes[path]);
      // Spark answers unknown API paths (e.g. DStreams statistics of a Structured Streaming app) with 404.
      return new Response(`no such endpoint: ${path}`, { status: 404 });
    },
  });
  cleanup.push(() => server.stop(true));
  return { url: `http://127.0.0.1:${server.port}${prefix}/api/v1`, hits };
}

const source = (apiUrl: string) =>
  createSparkSource({ apiUrl, fetch: (u, i) => fetch(u, i), timeoutMs: 1000 });

describe("Spark source", () => {
  test("a running application: executors with Spark's field names, cluster totals, streaming rates", async () => {
    const spark = fakeSpark();
    const e = (await source(spark.url)()) as SparkSnapshot;
    expect(e.status).toBe("running");
    expect(e.application_id).toBe(APP);
    expect(e.master).toBe("spark://10.0.0.5:7077");
    expect(e.applications).toHaveLength(2);
    expect(e.executors).toHaveLength(3);
    for (const x of e.executors) {
      for (const field of [
        "id",
        "hostPort",
        "totalCores",
        "maxMemory",
        "memoryUsed",
        "activeTasks",
        "completedTasks",
        "failedTasks",
      ]) {
        expect(x).toHaveProperty(field);
      }
    }
    expect(e.cluster_metrics).toEqual({
      cores_total: 8,
      memory_max: 455_501_414 + 2 * 2_101_975_449,
      memory_used: 1_000 + 52_428_800 + 10_485_760,
      executors: 3,
      active_tasks: 3,
    });
    expect(e.workers.map((w) => w.host).sort()).toEqual(["10.0.0.5", "10.0.0.6", "10.0.0.7"]);
    expect(e.workers.find((w) => w.host === "10.0.0.6")).toEqual({
      host: "10.0.0.6",
      executors: 1,
      cores: 4,
      memory_max: 2_101_975_449,
      memory_used: 52_428_800,
      active_tasks: 2,
    });
    expect(e.jobs).toHaveLength(50);
    expect((e.jobs[0] as { jobId: number }).jobId).toBe(41);
    // Stages keep their summary fields; task-level detail (accumulators, rdd ids…) is left out.
    expect(e.stages).toEqual([
      {
        stageId: 83,
        attemptId: 0,
        name: "start at NativeMethodAccessorImpl.java:0",
        status: "ACTIVE",
        numTasks: 4,
        numActiveTasks: 3,
        numCompleteTasks: 1,
        numFailedTasks: 0,
        executorRunTime: 1200,
        inputRecords: 64,
        outputRecords: 0,
        inputBytes: 4096,
        outputBytes: 0,
      },
    ]);
    // Structured Streaming: statistics answered 404 (tolerated), rates come from the metrics servlet.
    expect(spark.hits).toContain(`/api/v1/applications/${APP}/streaming/statistics`);
    expect(e.streaming).toEqual({
      input_rate: 125,
      processing_rate: 118.25,
      batch_duration_ms: 850,
      source: "metrics",
      queries: ["dlq_query", "parse_query"],
    });
    expect(Math.abs(e.timestamp - Date.now() / 1000)).toBeLessThan(60);
  });

  test("the environment (spark.master) is fetched once per application", async () => {
    const spark = fakeSpark();
    const poll = source(spark.url);
    await poll();
    const second = (await poll()) as SparkSnapshot;
    expect(second.master).toBe("spark://10.0.0.5:7077");
    expect(spark.hits.filter((h) => h.endsWith("/environment"))).toHaveLength(1);
  });

  test("behind a path prefix, the metrics servlet is looked up under the same prefix", async () => {
    const spark = fakeSpark({ prefix: "/proxy/driver" });
    const e = (await source(spark.url)()) as SparkSnapshot;
    expect(spark.hits).toContain("/proxy/driver/metrics/json");
    expect(e.streaming.input_rate).toBe(125);
  });

  test("no running application", async () => {
    const spark = fakeSpark({ apps: applications.slice(1) });
    const e = (await source(spark.url)()) as SparkSnapshot;
    expect(e.status).toBe("no_application");
    expect(e.application_id).toBeNull();
    expect(e.applications).toHaveLength(1);
    expect(e.executors).toEqual([]);
    expect(e.streaming.source).toBeNull();
    expect(spark.hits).toEqual(["/api/v1/applications"]);
  });

  test("a DStreams application: rates from streaming/statistics when the metrics have none", async () => {
    const spark = fakeSpark({
      statistics: {
        startTime: "2025-03-01T10:15:05.000GMT",
        batchDuration: 2000,
        numReceivers: 1,
        numActiveReceivers: 1,
        numInactiveReceivers: 0,
        numTotalCompletedBatches: 1800,
        numRetainedCompletedBatches: 1000,
        numActiveBatches: 0,
        numProcessedRecords: 216_000,
        numReceivedRecords: 216_000,
        avgInputRate: 60.2,
        avgSchedulingDelay: 3,
        avgProcessingTime: 410,
        avgTotalDelay: 413,
      },
      metrics: { version: "4.0.0", gauges: {}, counters: {}, histograms: {}, meters: {}, timers: {} },
    });
    const e = (await source(spark.url)()) as SparkSnapshot;
    expect(e.streaming).toEqual({
      input_rate: 60.2,
      processing_rate: null,
      batch_duration_ms: 410,
      source: "dstreams",
      queries: [],
    });
  });

  test("unreachable REST API: status unreachable with the error, nothing made up", async () => {
    const e = await source(`http://127.0.0.1:${freePort()}/api/v1`)();
    expect(e.status).toBe("unreachable");
    expect(Object.keys(e).sort()).toEqual(["error", "status", "timestamp"]);
    expect((e as { error: string }).error).toContain("/api/v1/applications");
  });

  test("an error status from /applications is unreachable too", async () => {
    const spark = fakeSpark({ applicationsStatus: 500 });
    const e = await source(spark.url)();
    expect(e).toMatchObject({ status: "unreachable", error: expect.stringContaining("HTTP 500") });
  });

  test("streamingFromMetrics: DStreams gauges, non-numeric values, no streaming gauges", () => {
    expect(
      streamingFromMetrics({
        gauges: {
          "app-1.driver.MyApp.StreamingMetrics.streaming.lastCompletedBatch_processingDelay": { value: 321 },
          "app-1.driver.MyApp.StreamingMetrics.streaming.receivers": { value: 1 },
        },
      }),
    ).toEqual({
      input_rate: null,
      processing_rate: null,
      batch_duration_ms: 321,
      source: "metrics",
      queries: ["MyApp"],
    });
    expect(
      streamingFromMetrics({ gauges: { "a.driver.spark.streaming.q.inputRate-total": { value: "NaN" } } }),
    ).toEqual({
      input_rate: null,
      processing_rate: null,
      batch_duration_ms: null,
      source: "metrics",
      queries: ["q"],
    });
    expect(
      streamingFromMetrics({ gauges: { "a.driver.BlockManager.memory.maxMem_MB": { value: 1 } } }),
    ).toBeUndefined();
    expect(streamingFromMetrics("not json")).toBeUndefined();
  });
});

describe("Spark stream", () => {
  function serve(sparkUiUrl: string) {
    const backend = serveSparkBackend(sparkUiUrl);
    cleanup.push(backend.stop);
    return backend.url;
  }

  function listen(url: string) {
    const events: { id: string; data: SparkEvent }[] = [];
    const es = new EventSource(url);
    es.addEventListener("message", (e) => events.push({ id: e.lastEventId, data: JSON.parse(e.data) }));
    cleanup.push(() => es.close());
    return events;
  }

  test("a reachable Spark: running snapshots with executors, polled at the Spark interval", async () => {
    const spark = fakeSpark();
    const events = listen(`${serve(spark.url)}/api/spark/stream`);
    await eventually("the condition", () => events.length >= 2, 10_000, 5);
    const e = events[0]?.data as SparkSnapshot;
    expect(events[0]?.id).toBe("1");
    expect(e.status).toBe("running");
    expect((e.executors[1] as { hostPort: string; totalCores: number }).hostPort).toBe("10.0.0.6:35001");
    expect(e.cluster_metrics.cores_total).toBe(8);
    expect(e.streaming.processing_rate).toBe(118.25);
  });

  test("an unreachable Spark: events say unreachable", async () => {
    const events = listen(`${serve(`http://127.0.0.1:${freePort()}/api/v1`)}/api/spark/stream`);
    await eventually("the condition", () => events.length >= 2, 10_000, 5);
    for (const { data } of events) {
      expect(data.status).toBe("unreachable");
      expect("executors" in data).toBe(false);
    }
  });
});
