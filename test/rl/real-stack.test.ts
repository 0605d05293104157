/**
 * The RL library on the real stack: the agent-results fixture replayed through parse →
 * embed-worker (glove-100d-sif, Parquet on) → indexer → backend, then, from the Parquet files
 * the worker wrote and the live index: balanced sampler batches with the right labels, a
 * context iterator that ends (and follows new files when asked), the similarity verifier
 * ranking a paraphrase of a known-good result above unrelated text, a curriculum preferring
 * hard and novel items, filtered kNN answering only matching labels, skills and telemetry;
 * and pyarrow reading the same files' labels, success and vectors with the declared types.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAgentResult } from "../../pipeline/contracts/extract.ts";
import { listParquetFiles } from "../../pipeline/io/parquet-read.ts";
import {
  CurriculumSampler,
  indexDifficulty,
  KnnClient,
  readVectorFile,
  readVectorFolder,
  recommendSkills,
  SimilarityVerifier,
  TelemetryClient,
  VectorLabelSampler,
  type VectorRecord,
  vectorBatches,
} from "../../pipeline/rl/index.ts";
import { readFixture } from "../../scripts/lib/fixture-format.ts";
import { replayFixture } from "../../scripts/lib/replay.ts";
import { eventually, scope, type TestScope } from "../helpers/infra.ts";
import { runPyarrow } from "../helpers/pyarrow.ts";
import { repoRoot } from "../helpers/run.ts";
import { type PrivateStack, startPrivateStack } from "../helpers/stack.ts";

setDefaultTimeout(120_000); // real Kafka, Redis and worker processes

const MODEL = "glove-100d-sif"; // fast on 2 cores; paraphrase neighbours 57/60 (test/backend/real-stack.test.ts)
const fixture = readFixture(join(repoRoot, "fixtures", "agent-results.jsonl"));

/**
 * What parse makes of the fixture: doc_id → success (null when unknown), by the contract's rules.
 * (A doc_id the fixture gives twice has the same success both times, so the order rows land in
 * does not matter.)
 */
const expected = new Map<string, boolean | null>();
for (const r of fixture) {
  const out = parseAgentResult(r.value, r.key === null ? null : Buffer.from(r.key));
  if (out.ok) expected.set(out.doc_id, out.success ?? null);
}
const labelled = [...expected.values()].filter((v) => v !== null);

let s: TestScope;
let stack: PrivateStack;
let dir: string;
let client: KnnClient;
let records: VectorRecord[];

beforeAll(async () => {
  s = await scope();
  dir = mkdtempSync(join(tmpdir(), "rl-real-stack-"));
  stack = await startPrivateStack(s, MODEL, {
    EMBED_WRITE_PARQUET: "1",
    EMBED_PARQUET_DIR: dir,
    PARQUET_ROLL_SEC: "1",
  });
  await replayFixture({ brokers: s.cfg.kafka.brokers, topic: stack.topics.src, records: fixture });
  client = new KnnClient({ baseUrl: stack.workers.backend.url });
  await eventually(
    `${expected.size} documents in the backend's index`,
    async () => (await client.shards()).total_ids === expected.size,
    60_000,
  );
  await eventually(
    `${expected.size} documents in Parquet`,
    async () => (await readVectorFolder(dir)).records.length === expected.size,
    30_000,
  );
  records = (await readVectorFolder(dir)).records;
});

afterAll(async () => {
  await stack?.stop();
  await s?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("from the embed worker's Parquet files", () => {
  test("the records carry the labels and success parse derived", () => {
    expect(records).toHaveLength(expected.size);
    for (const r of records) {
      expect(r.model).toBe(MODEL);
      expect(r.dim).toBe(100);
      expect(r.success).toBe(expected.get(r.doc_id) as boolean | null);
    }
    expect(labelled.length).toBeGreaterThan(100);
  });

  test("the sampler yields balanced batches with the right labels, and no doc_id in both splits", async () => {
    const sampler = await VectorLabelSampler.fromParquet(dir, { seed: 1 });
    expect(sampler.classes).toEqual([false, true]);
    const all = [...sampler.counts("train"), ...sampler.counts("validation")].reduce((a, c) => a + c.rows, 0);
    expect(all).toBe(labelled.length);
    const failures = sampler.counts("train")[0]?.rows as number;
    const successes = sampler.counts("train")[1]?.rows as number;
    expect(successes).toBeGreaterThan(2 * failures); // the fixture: ~1 failure per 3 successes
    for (const b of sampler.batches(32, { count: 10 })) {
      expect(b.values.filter((v) => v === false)).toHaveLength(16);
      b.records.forEach((r, i) => {
        expect(r.success).toBe(b.values[i] as boolean);
        expect(expected.get(r.doc_id)).toBe(b.values[i] as boolean);
        // success is derived from the status label: ok ↔ true, failed/error ↔ false
        expect(["ok", "failed", "error"]).toContain(r.labels.status as string);
        expect(r.labels.status === "ok").toBe(r.success as boolean);
      });
    }
    const train = new Set(sampler.docIds("train"));
    expect(sampler.docIds("validation").filter((d) => train.has(d))).toEqual([]);
    for (const d of sampler.sample(64, "validation").doc_ids) expect(train.has(d)).toBe(false);
  });

  test("the context iterator ends when the files are read, and follows new ones when asked", async () => {
    const t0 = performance.now();
    const reader = vectorBatches(dir, { batchSize: 64 });
    let rows = 0;
    for await (const b of reader) {
      expect(b.dim).toBe(100);
      expect(b.matrix.length).toBe(b.rows * 100);
      rows += b.rows;
    }
    expect(rows).toBe(reader.stats.rows);
    expect(rows).toBeGreaterThanOrEqual(expected.size);
    expect(performance.now() - t0).toBeLessThan(5000);

    const ctl = new AbortController();
    const seen = new Set<string>();
    const follower = vectorBatches(dir, { batchSize: 64, follow: true, pollMs: 200, signal: ctl.signal });
    const done = (async () => {
      for await (const b of follower) for (const id of b.doc_ids) seen.add(id);
    })();
    await eventually("the follower caught up", () => seen.size === expected.size, 10_000);
    const fresh = ["rl-new-1", "rl-new-2"].map((id) => ({
      key: id,
      value: Buffer.from(
        JSON.stringify({ doc_id: id, text: `Follow-up ${id}: reran the suite, all green.`, status: "ok" }),
      ),
    }));
    await replayFixture({ brokers: s.cfg.kafka.brokers, topic: stack.topics.src, records: fresh });
    await eventually(
      "the new documents reached the follower",
      () => seen.has("rl-new-1") && seen.has("rl-new-2"),
      30_000,
    );
    ctl.abort();
    await done;
    expect(follower.stats.files).toBeGreaterThan(reader.stats.files);
  });

  test("the curriculum prefers hard items (failure neighbourhoods) and novel ones", () => {
    const items = records.map((r) => ({ doc_id: r.doc_id, vector: r.vector }));
    const hard = new CurriculumSampler(items, { pool: records, k: 5, weights: { novelty: 0 }, seed: 3 });
    const scores = hard.scores();
    const mean = scores.reduce((a, x) => a + x.difficulty, 0) / scores.length;
    const first = hard.take(30);
    const firstMean = first.reduce((a, x) => a + x.difficulty, 0) / first.length;
    expect(firstMean).toBeGreaterThan(mean);
    // Documents that failed sit among failures: harder than successes on average.
    const by = (want: boolean) => {
      const xs = scores.filter((x) => expected.get(x.doc_id) === want);
      return xs.reduce((a, x) => a + x.difficulty, 0) / xs.length;
    };
    expect(by(false)).toBeGreaterThan(by(true) + 0.2);

    // Novelty: with every review already trained on, reviews come up less than their share.
    const review = new Set(
      records.filter((r) => String(r.text).startsWith("Review of PR")).map((r) => r.doc_id),
    );
    const history = records.filter((r) => review.has(r.doc_id)).map((r) => r.vector);
    const novel = new CurriculumSampler(items, { history, weights: { difficulty: 0 }, seed: 4 });
    const picks = novel.take(40).filter((x) => review.has(x.doc_id)).length;
    expect(review.size / items.length).toBeGreaterThan(0.05);
    expect(picks / 40).toBeLessThan(review.size / items.length / 2);
  });
});

describe("from the live index", () => {
  test("the verifier ranks a paraphrase of a known-good result above unrelated text", async () => {
    const verifier = new SimilarityVerifier(client, { k: 1 });
    const para = await verifier.score({
      text: "Plan: break the 900-line handler up into modules for request parsing, validation and persistence.",
    });
    const unrelated = await verifier.score({
      text: "The bakery on the corner sells fresh bread and croissants every morning.",
    });
    console.log(`verifier: paraphrase ${para.score.toFixed(3)}, unrelated ${unrelated.score.toFixed(3)}`);
    expect(para.neighbors[0]?.text).toContain("900-line handler");
    expect(para.neighbors.every((n) => n.success === true)).toBe(true);
    expect(para.score).toBeGreaterThan(unrelated.score + 0.2);
    expect(para.score).toBeLessThanOrEqual(1);
    expect(unrelated.score).toBeGreaterThanOrEqual(0);
  });

  test("a filtered kNN query returns only matching labels", async () => {
    const failed = await client.query({
      text: "the build failed with a timeout",
      k: 25,
      filter: { success: false },
    });
    expect(failed.neighbors.length).toBeGreaterThan(10);
    for (const n of failed.neighbors) {
      expect(n.success).toBe(false);
      expect(expected.get(n.doc_id)).toBe(false);
    }
    const plans = await client.query({
      text: "plan the refactoring",
      k: 50,
      filter: { agent: ["planner", "refactor-bot"], kind: "plan" },
    });
    expect(plans.neighbors.length).toBeGreaterThan(0);
    for (const n of plans.neighbors) {
      expect(["planner", "refactor-bot"]).toContain(n.labels.agent as string);
      expect(n.labels.kind).toBe("plan");
    }
  });

  test("index difficulty: a failed build's neighbourhood is harder than a passing test run's", async () => {
    const build = records.find((r) => r.success === false && r.text.startsWith("Build of"));
    const passing = records.find((r) => r.success === true && /^Ran \d+ tests.*0 failed/.test(r.text));
    expect(build && passing).toBeTruthy();
    const hard = await indexDifficulty(client, { doc_id: build?.doc_id as string }, 5);
    const easy = await indexDifficulty(client, { doc_id: passing?.doc_id as string }, 5);
    expect(hard.labelled).toBe(5);
    expect(hard.difficulty).toBeGreaterThan(easy.difficulty);
  });

  test("skills: the nearest successful actions and what they used", async () => {
    const rec = await recommendSkills(
      client,
      { text: "Plan: reproduce the failing test and bisect the commits" },
      { k: 8 },
    );
    expect(rec.neighbors.length).toBeGreaterThan(0);
    expect(rec.neighbors.every((n) => n.success === true)).toBe(true);
    expect(rec.by.kind?.[0]?.value).toBe("plan");
    expect(rec.by.agent?.length).toBeGreaterThan(0);
  });

  test("telemetry through the backend: every source up, with real figures", async () => {
    const r = await new TelemetryClient({ backendUrl: stack.workers.backend.url, timeoutMs: 10_000 }).read();
    const by = Object.fromEntries(r.sources.map((x) => [x.name, x]));
    for (const name of ["backend", "embed-worker", "parse", "indexer", "infermesh"])
      expect(by[name]?.status).toBe("up");
    expect(by["embed-worker"]?.figures.paused).toBe(false);
    expect(typeof by["embed-worker"]?.figures.rtt_ms).toBe("number");
    expect(["ok", "busy"]).toContain(r.level);
  });
});

describe("Python interop", () => {
  test("pyarrow reads labels, success and vectors of the same files with the declared types", async () => {
    const py = await runPyarrow<{
      types: Record<string, string>;
      rows: {
        doc_id: string;
        success: boolean | null;
        labels: string;
        status: string | null;
        vector: number[];
      }[];
    }>(
      `
import json, sys, pyarrow.parquet as pq
t = pq.read_table(sys.argv[1])
cols = ["doc_id", "success", "labels", "status", "vector"]
print(json.dumps({
    "types": {f.name: str(f.type) for f in t.schema},
    "rows": t.select(cols).to_pylist(),
}))
`,
      [dir],
    );
    expect(py.types).toMatchObject({
      success: "bool",
      labels: "string",
      status: "string",
      agent: "string",
      reward: "double",
      vector: "list<element: float>",
      dim: "int32",
    });
    // Every row as the library reads it (a doc_id given twice in the fixture is two rows here).
    const ours: VectorRecord[] = [];
    for (const f of await listParquetFiles(dir)) ours.push(...(await readVectorFile(f.path)));
    const key = (id: string, labels: string) => `${id}\0${labels}`;
    const mine = new Map(ours.map((r) => [key(r.doc_id, JSON.stringify(r.labels)), r]));
    expect(py.rows).toHaveLength(ours.length);
    for (const p of py.rows) {
      const labels = JSON.parse(p.labels);
      const r = mine.get(key(p.doc_id, JSON.stringify(labels)));
      expect(r).toBeDefined();
      expect(p.success).toBe(r?.success as boolean | null);
      expect(p.status).toBe((labels.status as string | undefined) ?? null);
      expect(Array.from(Float32Array.from(p.vector))).toEqual(Array.from(r?.vector ?? []));
    }
    expect(new Set(py.rows.map((p) => p.doc_id)).size).toBeGreaterThanOrEqual(expected.size);
  });
});
