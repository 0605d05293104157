/**
 * The pipeline end to end on the real broker and Redis: fixtures replayed into the source
 * topic come out in Kafka, Parquet and Redis exactly as the contracts say, bad records in
 * the DLQ with their reason; an InferMesh outage loses nothing; a worker killed with
 * SIGKILL mid-stream loses nothing when restarted.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { entryBytes } from "../../pipeline/contracts/dlq.ts";
import { parseAgentResult } from "../../pipeline/contracts/extract.ts";
import type { EmbeddedRecord } from "../../pipeline/contracts/records.ts";
import { listParquetFiles, readParquetRows, type StoredEmbeddingRow } from "../../pipeline/io/parquet.ts";
import { createEmbedder } from "../../pipeline/models/registry.ts";
import type { FixtureRecord } from "../../scripts/lib/fixture-format.ts";
import { readFixture } from "../../scripts/lib/fixture-format.ts";
import { replayFixture } from "../../scripts/lib/replay.ts";
import { eventually, scope, type TestScope } from "../helpers/infra.ts";
import { repoRoot, run } from "../helpers/run.ts";
import { collect, startWorker, type WorkerHandle } from "../helpers/workers.ts";

setDefaultTimeout(180_000); // real Kafka, Redis and worker processes

const MODEL = "hash-384";
let s: TestScope;
let dir: string;
let topics: { src: string; input: string; output: string; dlq: string };
const running: WorkerHandle[] = [];

beforeAll(async () => {
  s = await scope();
  dir = mkdtempSync(join(tmpdir(), "rl-embeddings-e2e-"));
});
afterAll(async () => {
  await Promise.all(running.map((w) => w.stop("SIGKILL")));
  await s.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

/** A fresh set of topics, a Redis namespace and Parquet folders for one scenario. */
async function lane(name: string) {
  topics = {
    src: await s.topic(`${name}.src`),
    input: await s.topic(`${name}.input`),
    output: await s.topic(`${name}.output`),
    dlq: await s.topic(`${name}.dlq`),
  };
  return {
    SPARK_KAFKA_TOPICS: topics.src,
    SINK_INPUT_TOPIC: topics.input,
    EMBED_INPUT_TOPIC: topics.input,
    EMBED_OUTPUT_TOPIC: topics.output,
    EMBED_DLQ_TOPIC: topics.dlq,
    PARSE_GROUP: `parse-${s.id}-${name}`,
    EMBED_GROUP: `embed-${s.id}-${name}`,
    REDDB_NAMESPACE: `${s.prefix}:${name}`,
    REDDB_MODE: "both",
    EMBED_MODEL: MODEL,
    EMBED_WRITE_PARQUET: "1",
    EMBED_PARQUET_DIR: join(dir, name, "embeddings"),
    VEC_OUTPUT_DIR: join(dir, name, "parsed"),
    PARQUET_ROLL_SEC: "1",
    INFERMESH_BACKOFF_SEC: "0.1",
    INFERMESH_MAX_BACKOFF_SEC: "0.5",
    WORKER_BACKOFF_SEC: "0.1",
    WORKER_MAX_BACKOFF_SEC: "0.5",
    INFERMESH_TIMEOUT_SEC: "2",
  };
}

async function start(name: string, env: Record<string, string>, portVar: string, healthy = true) {
  const w = await startWorker(name, env, { portVar, healthy });
  running.push(w);
  return w;
}

async function startInfermesh(port?: number) {
  const w = await startWorker(
    "infermesh",
    { INFERMESH_MODELS: MODEL },
    { portVar: "INFERMESH_PORT", ...(port ? { port } : {}) },
  );
  running.push(w);
  return w;
}

function embeddedOf(records: { value: Buffer | null }[]): EmbeddedRecord[] {
  return records.map((r) => JSON.parse(String(r.value)) as EmbeddedRecord);
}

describe("fixtures through parse and embed-worker", () => {
  test("every valid record reaches Kafka, Parquet and Redis as expected; every bad one the DLQ", async () => {
    const env = await lane("fixtures");
    const infermesh = await startInfermesh();
    const wenv = { ...env, INFERMESH_URL: infermesh.url };
    const parse = await start("parse", wenv, "PARSE_METRICS_PORT");
    const embed = await start("embed-worker", wenv, "EMBED_METRICS_PORT");

    const fixture: FixtureRecord[] = [
      ...readFixture(join(repoRoot, "fixtures", "agent-results.jsonl")),
      ...readFixture(join(repoRoot, "fixtures", "malformed.jsonl")),
    ];
    await replayFixture({ brokers: s.cfg.kafka.brokers, topic: topics.src, records: fixture });

    // What the contracts say must come out.
    const expected = fixture.map((r) =>
      parseAgentResult(r.value, r.key === null ? null : Buffer.from(r.key)),
    );
    const ok = expected.filter((e) => e.ok);
    const bad = expected.filter((e) => !e.ok);
    expect(ok.length).toBeGreaterThan(200);
    expect(bad.length).toBeGreaterThan(3);
    const hash = await createEmbedder(MODEL, { cacheDir: s.cfg.local.cacheDir });

    const out = await collect(s.kafka(), [topics.output, topics.dlq], `collect-${s.id}-fx`);
    await eventually("all outputs and DLQ entries", () => out.records.length >= fixture.length, 90_000);
    await out.stop();

    const embedded = embeddedOf(out.records.filter((r) => r.topic === topics.output));
    expect(embedded).toHaveLength(ok.length);
    const want = ok.map((e) => (e.ok ? `${e.doc_id}\u0000${e.text}` : "")).sort();
    expect(embedded.map((e) => `${e.doc_id}\u0000${e.text}`).sort()).toEqual(want);
    for (const e of embedded) {
      expect(e).toMatchObject({ model: MODEL, dim: 384, normalized: true, topic: topics.src }); // hash-384 returns unit vectors
      expect(typeof e.kafka_ts).toBe("number");
      expect(e.embedded_ts).toBeGreaterThan(1.6e9); // epoch seconds
      expect(e.embedded_ts).toBeLessThan(1e11);
      const ref = (await hash.embed([e.text]))[0] as Float32Array;
      expect(e.vector).toHaveLength(384);
      expect(Math.max(...e.vector.map((x, i) => Math.abs(x - (ref[i] as number))))).toBeLessThan(1e-6);
    }
    // An independent client sees the same records.
    const kcat = await run([
      "kcat",
      "-b",
      s.cfg.kafka.brokers[0] as string,
      "-C",
      "-t",
      topics.output,
      "-e",
      "-q",
      "-f",
      "%k\n",
    ]);
    expect(kcat.code).toBe(0);
    expect(kcat.stdout.trim().split("\n").sort()).toEqual(embedded.map((e) => e.doc_id).sort());
    const keys = out.records.filter((r) => r.topic === topics.output).map((r) => r.key);
    expect(keys.sort()).toEqual(embedded.map((e) => e.doc_id).sort());

    const dlq = out.records.filter((r) => r.topic === topics.dlq).map((r) => JSON.parse(String(r.value)));
    expect(dlq.map((d) => d.reason).sort()).toEqual(bad.map((b) => (b.ok ? "" : b.reason)).sort());
    for (const d of dlq) {
      expect(d).toMatchObject({ stage: "parse", source: { topic: topics.src } });
      const bytes = entryBytes(d);
      const original = fixture.find((r) => (r.value === null ? bytes === null : bytes?.equals(r.value)));
      expect(original).toBeDefined();
    }

    // Parquet: every embedded record, read back (files roll within a second).
    const rows = await eventually(
      "Parquet rows",
      async () => {
        const files = await listParquetFiles(env.EMBED_PARQUET_DIR);
        const all = (await Promise.all(files.map((f) => readParquetRows<StoredEmbeddingRow>(f.path)))).flat();
        return all.length >= ok.length ? all : undefined;
      },
      30_000,
    );
    expect(rows.map((r) => `${r.doc_id}\u0000${r.text}`).sort()).toEqual(want);
    expect(rows.every((r) => r.vector.length === 384 && r.model === MODEL)).toBe(true);

    // Redis: one KV per doc_id (the last write wins), stream entries for every doc_id.
    const r = s.redis();
    const ns = env.REDDB_NAMESPACE;
    const docIds = [...new Set(embedded.map((e) => e.doc_id))];
    const kv = await r.mget(...docIds.map((d) => `${ns}:embedding:${d}`));
    expect(kv.every((v) => v !== null)).toBe(true);
    const stream = await r.xrange(`${ns}:embeddings`, "-", "+");
    const streamIds = new Set(stream.map(([, f]) => f[1]));
    expect([...streamIds].sort()).toEqual(docIds.sort());
    expect(stream.length).toBeLessThanOrEqual(embedded.length);

    const pm = await parse.metrics();
    const em = await embed.metrics();
    expect(pm).toMatchObject({ records_in: fixture.length, records_out: ok.length, dlq_records: bad.length });
    expect(em).toMatchObject({ records_in: ok.length, records_out: ok.length, dlq_records: 0 });
  });
});

describe("faults", () => {
  test("an InferMesh outage pauses the worker and loses nothing; it resumes when InferMesh returns", async () => {
    const env = await lane("outage");
    let infermesh = await startInfermesh();
    const port = infermesh.port;
    const wenv = { ...env, INFERMESH_URL: infermesh.url };
    await start("parse", wenv, "PARSE_METRICS_PORT");
    const embed = await start("embed-worker", wenv, "EMBED_METRICS_PORT");

    const records = (n: number, from: number): FixtureRecord[] =>
      Array.from({ length: n }, (_, i) => ({
        key: null,
        value: Buffer.from(JSON.stringify({ doc_id: `o-${from + i}`, text: `outage record ${from + i}` })),
        headers: {},
      }));
    await replayFixture({ brokers: s.cfg.kafka.brokers, topic: topics.src, records: records(20, 0) });
    const out = await collect(s.kafka(), [topics.output, topics.dlq], `collect-${s.id}-out`);
    await eventually("first 20", () => out.records.length >= 20);

    await infermesh.stop("SIGKILL");
    await replayFixture({ brokers: s.cfg.kafka.brokers, topic: topics.src, records: records(30, 20) });
    await eventually("the worker notices and pauses", async () => {
      const m = await embed.metrics();
      return m.paused === true && Number(m.retries) > 0;
    });
    expect(out.records).toHaveLength(20);
    const health = await fetch(`${embed.url}/health`);
    const body = (await health.json()) as { checks: Record<string, { ok: boolean }> };
    expect(health.status).toBe(503);
    expect(body.checks.infermesh?.ok).toBe(false);

    infermesh = await startInfermesh(port);
    await eventually("all 50 after recovery", () => out.records.length >= 50, 60_000);
    await out.stop();
    expect(out.records.every((r) => r.topic === topics.output)).toBe(true);
    expect(new Set(embeddedOf(out.records).map((e) => e.doc_id)).size).toBe(50);
    const m = await embed.metrics();
    expect(m).toMatchObject({ paused: false, dlq_records: 0 });
  });

  test("a worker killed with SIGKILL mid-stream and restarted delivers every record", async () => {
    const env = await lane("kill");
    const infermesh = await startInfermesh();
    const wenv = { ...env, INFERMESH_URL: infermesh.url, EMBED_BATCH_SIZE: "16" };
    await start("parse", wenv, "PARSE_METRICS_PORT");
    let embed = await start("embed-worker", wenv, "EMBED_METRICS_PORT");

    const n = 1500;
    const records: FixtureRecord[] = Array.from({ length: n }, (_, i) => ({
      key: null,
      value: Buffer.from(JSON.stringify({ doc_id: `k-${i}`, text: `kill test record number ${i}` })),
      headers: {},
    }));
    const replay = replayFixture({ brokers: s.cfg.kafka.brokers, topic: topics.src, records, rate: 1500 });
    const out = await collect(s.kafka(), [topics.output], `collect-${s.id}-kill`);
    await eventually("some output before the kill", () => out.records.length >= 100);
    await embed.stop("SIGKILL");
    const before = out.records.length;
    expect(before).toBeLessThan(n);
    await replay;

    embed = await start("embed-worker", wenv, "EMBED_METRICS_PORT");
    await eventually(
      "every doc_id after the restart",
      () => new Set(out.records.map((r) => r.key)).size >= n,
      90_000,
    );
    await out.stop();
    const ids = new Set(embeddedOf(out.records).map((e) => e.doc_id));
    expect(ids.size).toBe(n);
    // Redelivered records are duplicates in Kafka only; Redis KV holds one entry per doc_id.
    const kvKeys = await s.redis().keys(`${env.REDDB_NAMESPACE}:embedding:*`);
    expect(kvKeys).toHaveLength(n);
    const stream = await s.redis().xlen(`${env.REDDB_NAMESPACE}:embeddings`);
    expect(stream).toBe(n);
  });
});
