/**
 * The real Spark parse job (pipeline/spark/spark_vectorize.py) against the real broker and
 * Redis: on the same input it writes exactly what the Bun parse worker writes (order aside),
 * the backend reads its real driver, and it recovers from a SIGKILL through its checkpoint.
 * The first run installs pyspark into the cache (about a minute) and fetches the connector.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Redis from "ioredis";
import { createSparkSource } from "../../pipeline/backend/spark.ts";
import type { DlqEntry } from "../../pipeline/contracts/dlq.ts";
import { parseAgentResult } from "../../pipeline/contracts/extract.ts";
import { folderStats, readParquetRows } from "../../pipeline/io/parquet-read.ts";
import { type FixtureRecord, readFixture, readGoldenCases } from "../../scripts/lib/fixture-format.ts";
import { toMessage } from "../../scripts/lib/replay.ts";
import { startSparkJob } from "../../scripts/lib/spark-local.ts";
import { eventually, freePort, scope, type TestScope } from "../helpers/infra.ts";
import { alive, processTree } from "../helpers/procs.ts";
import { repoRoot } from "../helpers/run.ts";
import { firstEvent } from "../helpers/sse.ts";
import { type Collected, collect, startWorker, type WorkerHandle } from "../helpers/workers.ts";

setDefaultTimeout(180_000); // a real Spark driver, Kafka and Redis

let s: TestScope;
let topics: Record<"src" | "bunOut" | "bunDlq" | "sparkOut" | "sparkDlq", string>;
let records: FixtureRecord[];
let bunParse: WorkerHandle;
let spark: WorkerHandle;
let sparkEnv: Record<string, string>;
let out: { records: Collected[]; stop: () => Promise<void> };
const running: WorkerHandle[] = [];
const work = mkdtempSync(join(tmpdir(), "spark-job-"));
const uiPort = freePort();

/** The fixtures, plus the golden cases that use the default settings. */
function input(): FixtureRecord[] {
  const fixtures = ["agent-results.jsonl", "malformed.jsonl"].flatMap((f) =>
    readFixture(join(repoRoot, "fixtures", f)),
  );
  const golden = readGoldenCases(join(repoRoot, "fixtures", "golden", "parse-cases.jsonl"))
    .filter((c) => !c.fields && !c.max_chars)
    .map((c) => c.record);
  return [...fixtures, ...golden];
}

const expectedOk = () =>
  records.filter((r) => parseAgentResult(r.value, r.key === null ? null : Buffer.from(r.key)).ok).length;

const of = (topic: string) => out.records.filter((r) => r.topic === topic);
/** Records as comparable lines: key, the exact value bytes, and headers. */
const lines = (rs: Collected[], strip?: (v: Record<string, unknown>) => unknown) =>
  rs
    .map((r) => {
      const value = strip ? JSON.stringify(strip(JSON.parse(String(r.value)))) : String(r.value);
      return `${r.key}\t${value}\t${JSON.stringify(r.headers)}`;
    })
    .sort();
const withoutTs = (e: Record<string, unknown>) => ({ ...e, ts: 0 });

beforeAll(async () => {
  s = await scope();
  topics = {
    src: await s.topic("src"),
    bunOut: await s.topic("bun-out"),
    bunDlq: await s.topic("bun-dlq"),
    sparkOut: await s.topic("spark-out"),
    sparkDlq: await s.topic("spark-dlq"),
  };
  records = input();
  const producer = s.kafka().producer();
  await producer.connect();
  await producer.send({ topic: topics.src, messages: records.map(toMessage) });
  await producer.disconnect();

  out = await collect(s.kafka(), Object.values(topics).slice(1), `collect-${s.id}`);
  bunParse = await startWorker(
    "parse",
    {
      SPARK_KAFKA_TOPICS: topics.src,
      SINK_INPUT_TOPIC: topics.bunOut,
      EMBED_DLQ_TOPIC: topics.bunDlq,
      PARSE_GROUP: `parse-${s.id}`,
      REDDB_NAMESPACE: `${s.prefix}:bun`,
    },
    { portVar: "PARSE_METRICS_PORT" },
  );
  running.push(bunParse);
  sparkEnv = {
    SPARK_KAFKA_TOPICS: topics.src,
    SINK_INPUT_TOPIC: topics.sparkOut,
    EMBED_DLQ_TOPIC: topics.sparkDlq,
    REDDB_NAMESPACE: `${s.prefix}:spark`,
    VEC_OUTPUT_DIR: join(work, "parquet"),
    VEC_CHECKPOINT: join(work, "checkpoint"),
    SPARK_UI_PORT: String(uiPort),
    SPARK_STARTING_OFFSETS: "earliest",
  };
  spark = await startSparkJob(sparkEnv);
  running.push(spark);
}, 900_000);

afterAll(async () => {
  await out?.stop();
  for (const w of running) if (w.proc.exitCode === null) await w.stop("SIGKILL");
  await s?.cleanup();
  rmSync(work, { recursive: true, force: true });
});

describe("the Spark job and the Bun parse worker, on the same input", () => {
  test("write the same embedding_input records, byte for byte (order aside)", async () => {
    const n = expectedOk();
    expect(n).toBeGreaterThan(250);
    await eventually(
      "both outputs complete",
      () => of(topics.bunOut).length >= n && of(topics.sparkOut).length >= n,
      120_000,
    );
    expect(of(topics.sparkOut).length).toBe(n);
    expect(lines(of(topics.sparkOut))).toEqual(lines(of(topics.bunOut)));
  });

  test("dead-letter the same records with the same envelope and headers (dead-letter time aside)", async () => {
    const n = records.length - expectedOk();
    expect(n).toBeGreaterThan(10);
    await eventually(
      "both DLQs complete",
      () => of(topics.bunDlq).length >= n && of(topics.sparkDlq).length >= n,
    );
    const spark = lines(of(topics.sparkDlq), withoutTs);
    expect(spark).toEqual(lines(of(topics.bunDlq), withoutTs));
    expect(spark.length).toBe(n);
    const entry = JSON.parse(String(of(topics.sparkDlq)[0]?.value)) as DlqEntry;
    expect(entry).toMatchObject({ stage: "parse", source: { topic: topics.src } });
    expect(typeof entry.ts).toBe("number");
  });

  test("append the same DLQ entries to the Redis stream", async () => {
    const read = async (ns: string) =>
      (await s.redis().xrange(`${ns}:embeddings_dlq`, "-", "+")).map(([, f]) => {
        const fields: Record<string, string> = {};
        for (let i = 0; i < f.length; i += 2) fields[f[i] as string] = f[i + 1] as string;
        return JSON.stringify({ ...fields, value: withoutTs(JSON.parse(fields.value ?? "{}")) });
      });
    const n = records.length - expectedOk();
    const full = (ns: string) =>
      eventually(`the DLQ stream of ${ns}`, async () => {
        const got = await read(ns);
        return got.length >= n && got;
      });
    const [spark, bun] = await Promise.all([full(`${s.prefix}:spark`), full(`${s.prefix}:bun`)]);
    expect(spark.sort()).toEqual(bun.sort());
  });

  test("count the same records in /metrics", async () => {
    // Counted when the whole micro-batch is written (the Parquet file is its last sink).
    const sp = await eventually("the batches counted", async () => {
      const m = await spark.metrics();
      return m.records_in === records.length && m;
    });
    const b = await bunParse.metrics();
    // Lag as the Bun worker reports it: records behind the newest, over all partitions.
    await eventually("lag 0 once caught up", async () => (await spark.metrics()).lag === 0);
    expect(sp).toMatchObject({
      engine: "spark",
      records_in: records.length,
      records_out: expectedOk(),
      dlq_records: records.length - expectedOk(),
      dlq_by_reason: b.dlq_by_reason as Record<string, number>,
      truncated: b.truncated as number,
      paused: false,
    });
  });

  test("the Spark job's Parquet holds every parsed row", async () => {
    const dir = join(work, "parquet");
    const stats = await eventually("the Parquet rows", async () => {
      const st = await folderStats(dir);
      return st.rows >= expectedOk() && st;
    });
    expect(stats).toMatchObject({ rows: expectedOk(), unreadable: 0 });
    const files = readdirSync(dir).filter((f) => f.endsWith(".parquet"));
    const rows = (await Promise.all(files.map((f) => readParquetRows(join(dir, f))))).flat();
    const bun = of(topics.bunOut).map((r) => JSON.parse(String(r.value)));
    const key = (r: Record<string, unknown>) => `${r.doc_id}\t${r.text}\t${r.topic}\t${Number(r.kafka_ts)}`;
    expect(rows.map(key).sort()).toEqual(bun.map(key).sort());
  });
});

describe("the backend reads the real driver", () => {
  test("the Spark source shows the application, its executors and the streaming rates", async () => {
    const source = createSparkSource({ apiUrl: `http://127.0.0.1:${uiPort}/api/v1`, fetch, timeoutMs: 5000 });
    const snap = await eventually("streaming rates", async () => {
      const e = await source();
      return e.status === "running" && e.streaming.input_rate !== null && e;
    });
    if (snap.status !== "running") throw new Error("not running");
    expect(snap.master).toBe("local[2]");
    expect(snap.applications).toContainEqual(expect.objectContaining({ name: "kafka_vectorizer" }));
    const driver = snap.executors[0] as Record<string, unknown>;
    expect(driver).toMatchObject({ id: "driver", totalCores: 2, isActive: true });
    expect(Number(driver.maxMemory)).toBeGreaterThan(0);
    expect(Number(driver.memoryUsed)).toBeGreaterThanOrEqual(0);
    expect(snap.cluster_metrics).toMatchObject({ cores_total: 2, executors: 1 });
    expect(snap.streaming).toMatchObject({ source: "metrics", queries: ["parse"] });
    expect(snap.jobs.length).toBeGreaterThan(0);
    expect(typeof snap.streaming.processing_rate).toBe("number");
    expect(typeof snap.streaming.batch_duration_ms).toBe("number");
  });

  test("GET /api/spark/stream sends it, and the parse stream shows the job's counters", async () => {
    const backend = await startWorker(
      "backend",
      { SPARK_VECTOR_UI_URL: `http://127.0.0.1:${uiPort}/api/v1`, PARSE_METRICS_PORT: String(spark.port) },
      { portVar: "BACKEND_PORT" },
    );
    running.push(backend);
    const first = (name: string, ok?: (e: Record<string, unknown>) => boolean) =>
      firstEvent(`${backend.url}/api/${name}/stream`, ok);
    const sparkEvent = await first("spark", (e) => e.status !== "unreachable");
    expect(sparkEvent).toMatchObject({ status: "running", master: "local[2]" });
    const parse = await first("parse");
    expect(parse.metrics).toMatchObject({ engine: "spark", records_in: records.length });
    await backend.stop();
  });
});

describe("recovery", () => {
  test("after a SIGKILL the job resumes from its checkpoint and loses nothing", async () => {
    const jvm = processTree(spark.proc.pid).slice(1);
    expect(jvm.length).toBeGreaterThan(0);
    const more = Array.from({ length: 400 }, (_, i) => ({
      key: `recover-${i}`,
      value: JSON.stringify({ doc_id: `recover-${i}`, text: `record ${i} written around a crash` }),
    }));
    const producer = s.kafka().producer();
    await producer.connect();
    await producer.send({ topic: topics.src, messages: more.slice(0, 200) });
    await eventually("some of them parsed", () =>
      of(topics.sparkOut).some((r) => r.key?.startsWith("recover-")),
    );
    await spark.stop("SIGKILL");
    // The driver's JVM exits with its Python parent (PySpark's gateway watches its stdin).
    await eventually("the JVM gone", () => jvm.every((pid) => !alive(pid)), 30_000);
    await producer.send({ topic: topics.src, messages: more.slice(200) });
    await producer.disconnect();

    spark = await startSparkJob({ ...sparkEnv, SPARK_UI_PORT: String(freePort()) });
    running.push(spark);
    const keys = () =>
      new Set(
        of(topics.sparkOut)
          .map((r) => r.key)
          .filter((k) => k?.startsWith("recover-")),
      );
    await eventually("all 400 after the restart", () => keys().size === 400, 120_000);
    // A batch replayed from the checkpoint replaces its Parquet files: each row once.
    const dir = join(work, "parquet");
    const recovered = async () => {
      const files = readdirSync(dir).filter((f) => f.endsWith(".parquet"));
      const rows = (
        await Promise.all(files.map((f) => readParquetRows<{ doc_id: string }>(join(dir, f))))
      ).flat();
      return rows.map((r) => r.doc_id).filter((id) => id.startsWith("recover-"));
    };
    await eventually("all 400 in Parquet", async () => new Set(await recovered()).size === 400, 60_000);
    expect((await recovered()).length).toBe(400);
  });

  test("a Redis outage pauses the job; the DLQ write is retried until Redis is back, nothing lost or doubled", async () => {
    const port = freePort();
    const startRedis = () =>
      Bun.spawn(
        ["redis-server", "--bind", "127.0.0.1", "--port", String(port), "--save", "", "--appendonly", "no"],
        { stdout: "ignore", stderr: "ignore" },
      );
    let redis = startRedis();
    const src = await s.topic("outage-src");
    const ns = `${s.prefix}:outage`;
    const job = await startSparkJob({
      ...sparkEnv,
      SPARK_KAFKA_TOPICS: src,
      REDDB_URL: `redis://127.0.0.1:${port}`,
      REDDB_NAMESPACE: ns,
      VEC_OUTPUT_DIR: "",
      VEC_CHECKPOINT: join(work, "checkpoint-outage"),
      SPARK_UI_PORT: String(freePort()),
    });
    running.push(job);
    redis.kill("SIGKILL");
    await redis.exited;
    const malformed = readFixture(join(repoRoot, "fixtures", "malformed.jsonl"));
    const bad = malformed.filter(
      (r) => !parseAgentResult(r.value, r.key === null ? null : Buffer.from(r.key)).ok,
    );
    const producer = s.kafka().producer();
    await producer.connect();
    await producer.send({ topic: src, messages: malformed.map(toMessage) });
    await producer.disconnect();

    const paused = await eventually(
      "the job paused on the Redis sink",
      async () => {
        const m = await job.metrics();
        return Number(m.retries) >= 2 && m;
      },
      60_000,
    );
    expect(paused).toMatchObject({ paused: true, restarts: 0, records_in: 0 }); // not counted, not committed
    expect(String(paused.last_error)).toMatch(/^Redis DLQ stream: ConnectionError/);
    expect(typeof paused.outage_since).toBe("number");

    redis = startRedis();
    const client = new Redis(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: 1 });
    client.on("error", () => {}); // until the restarted server accepts connections
    try {
      const m = await eventually(
        "the batch written and counted",
        async () => {
          const x = await job.metrics();
          return x.records_in === malformed.length && x;
        },
        120_000,
      );
      expect(m).toMatchObject({ dlq_records: bad.length, paused: false, outage_since: null, restarts: 0 });
      // Each sink wrote the batch once: the Kafka sinks before the outage were not repeated.
      expect(await client.xlen(`${ns}:embeddings_dlq`)).toBe(bad.length);
      const fromSrc = (r: Collected) => (JSON.parse(String(r.value)) as { topic: string }).topic === src;
      expect(of(topics.sparkDlq).filter(fromSrc)).toHaveLength(bad.length);
      expect(of(topics.sparkOut).filter(fromSrc)).toHaveLength(malformed.length - bad.length);
    } finally {
      client.disconnect();
      await job.stop();
      redis.kill("SIGKILL");
    }
  });

  test("SIGTERM stops the query, the driver and the process cleanly", async () => {
    const jvm = processTree(spark.proc.pid).slice(1);
    const code = await spark.stop("SIGTERM");
    expect(code).toBe(0);
    await eventually("the JVM gone", () => jvm.every((pid) => !alive(pid)), 30_000);
    expect(spark.output()).toContain("stopped");
  });
});
