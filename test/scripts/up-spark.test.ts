/**
 * `up --spark` as an operator runs it, on a private state folder, topics and ports (the
 * suite's Kafka and Redis), with `SPARK_MASTER=spark://127.0.0.1:<port>`: `up` starts a
 * standalone master and a worker from the job's pyspark, then the job on them. Parse switches
 * from the Bun worker to the Spark job without losing or repeating records, records flow
 * through Spark to `embeddings`, the backend and the console show the driver and the worker's
 * executor, the choice sticks until `down`, and `down` leaves nothing running.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAgentResult } from "../../pipeline/contracts/extract.ts";
import { readFixture } from "../../scripts/lib/fixture-format.ts";
import type { StackStatus } from "../../scripts/lib/status.ts";
import { eventually, freePort, scope, type TestScope } from "../helpers/infra.ts";
import { alive, processTree } from "../helpers/procs.ts";
import { repoRoot, runScript } from "../helpers/run.ts";
import { firstEvent } from "../helpers/sse.ts";
import { fitsPane, openConsole } from "../helpers/terminal.ts";
import { type Collected, collect } from "../helpers/workers.ts";

setDefaultTimeout(240_000); // a whole stack, a real Spark driver, Kafka and Redis

let s: TestScope;
let env: Record<string, string>;
let out: { records: Collected[]; stop: () => Promise<void> };
const stateDir = mkdtempSync(join(tmpdir(), "rl-embeddings-spark-"));
const fixture = (name: string) => join(repoRoot, "fixtures", name);
/** doc_ids of the records parse publishes (a fixture repeats some on purpose). */
const okIds = (name: string) =>
  readFixture(fixture(name))
    .map((r) => parseAgentResult(r.value, r.key === null ? null : Buffer.from(r.key)))
    .flatMap((r) => (r.ok ? [r.doc_id] : []));

async function status(): Promise<Record<string, StackStatus["components"][number]>> {
  const r = await runScript("status", ["--json"], env);
  const st = JSON.parse(r.stdout) as StackStatus;
  return Object.fromEntries(st.components.map((c) => [c.name, c]));
}

beforeAll(async () => {
  s = await scope();
  const uiPort = freePort();
  env = {
    EMBED_STATE_DIR: stateDir,
    SPARK_KAFKA_TOPICS: await s.topic("src"),
    SINK_INPUT_TOPIC: await s.topic("input"),
    EMBED_OUTPUT_TOPIC: await s.topic("output"),
    EMBED_DLQ_TOPIC: await s.topic("dlq"),
    PARSE_GROUP: `parse-${s.id}`,
    EMBED_GROUP: `embed-${s.id}`,
    EMB_INDEX_GROUP: `index-${s.id}`,
    REDDB_NAMESPACE: s.prefix,
    INFERMESH_URL: `http://127.0.0.1:${freePort()}`,
    INFERMESH_MODELS: "hash-384",
    EMBED_MODEL: "hash-384",
    PARSE_METRICS_PORT: String(freePort()),
    EMBED_METRICS_PORT: String(freePort()),
    INDEX_METRICS_PORT: String(freePort()),
    BACKEND_PORT: String(freePort()),
    SPARK_UI_PORT: String(uiPort),
    SPARK_MASTER: `spark://127.0.0.1:${freePort()}`,
    SPARK_MASTER_WEBUI_PORT: String(freePort()),
    SPARK_WORKER_WEBUI_PORT: String(freePort()),
    SPARK_VECTOR_UI_URL: `http://127.0.0.1:${uiPort}/api/v1`,
  };
  out = await collect(
    s.kafka(),
    [env.SINK_INPUT_TOPIC as string, env.EMBED_OUTPUT_TOPIC as string],
    `c-${s.id}`,
  );
});

afterAll(async () => {
  await out?.stop();
  await runScript("down", [], env);
  await s?.cleanup();
  rmSync(stateDir, { recursive: true, force: true });
});

const of = (topic: string | undefined) => out.records.filter((r) => r.topic === topic);

test("up starts the Bun parse worker; up --spark replaces it and picks up where it stopped", async () => {
  const first = await runScript("up", [], env);
  expect(first.code).toBe(0);
  expect((await status()).parse).toMatchObject({ healthy: true, state: "managed" });
  expect((await runScript("replay", [fixture("agent-results.jsonl")], env)).code).toBe(0);
  const a = okIds("agent-results.jsonl");
  await eventually("the Bun worker's output", () => of(env.SINK_INPUT_TOPIC).length >= a.length, 60_000);

  const r = await runScript("up", ["--spark"], env);
  expect(r.code).toBe(0);
  expect(r.stderr).toContain("Stopping parse");
  expect(r.stderr).toContain("Starting spark-master");
  expect(r.stderr).toContain("Starting spark-worker");
  expect(r.stderr).toContain("Starting spark-vectorizer");
  const st = await status();
  expect(st.parse).toBeUndefined();
  for (const name of ["spark-master", "spark-worker", "spark-vectorizer"]) {
    expect(st[name]).toMatchObject({ healthy: true, state: "managed" });
  }

  expect((await runScript("replay", [fixture("paraphrase-stream.jsonl")], env)).code).toBe(0);
  const b = okIds("paraphrase-stream.jsonl");
  const all = new Set([...a, ...b]);
  const published = a.length + b.length;
  // Through Spark, the embed worker and InferMesh to `embeddings`.
  await eventually(
    "every record embedded",
    () => new Set(of(env.EMBED_OUTPUT_TOPIC).map((x) => x.key)).size >= all.size,
    120_000,
  );
  // Spark started from the parse group's committed offsets: agent-results was not parsed again.
  const inputs = of(env.SINK_INPUT_TOPIC);
  expect(new Set(inputs.map((x) => x.key))).toEqual(all);
  await eventually("every record parsed", () => of(env.SINK_INPUT_TOPIC).length >= published);
  expect(of(env.SINK_INPUT_TOPIC).length).toBe(published);
}, 600_000); // the first up --spark on a machine installs pyspark (a 455 MB download)

test("the backend streams the real driver and the job's counters", async () => {
  const first = (name: string, ok?: (e: Record<string, unknown>) => boolean) =>
    firstEvent(`http://127.0.0.1:${env.BACKEND_PORT}/api/${name}/stream`, ok);
  const spark = await first("spark", (e) => e.status !== "unreachable");
  expect(spark).toMatchObject({ status: "running", master: env.SPARK_MASTER });
  expect(spark.applications).toContainEqual(expect.objectContaining({ name: "kafka_vectorizer" }));
  // The driver and the standalone worker's executor, which has the worker's 2 cores.
  const executors = spark.executors as { id: string; totalCores: number; isActive: boolean }[];
  expect(executors.map((e) => e.id).sort()).toEqual(["0", "driver"]);
  expect(executors.find((e) => e.id === "0")).toMatchObject({ totalCores: 2, isActive: true });
  const parse = await first("parse");
  // Only the second fixture went through Spark (it started from the Bun worker's offsets).
  expect(parse.metrics).toMatchObject({
    engine: "spark",
    records_in: readFixture(fixture("paraphrase-stream.jsonl")).length,
    records_out: okIds("paraphrase-stream.jsonl").length,
  });
});

test("the console shows parse on Spark, and the Spark view the real driver", async () => {
  const tui = await openConsole(`http://127.0.0.1:${env.BACKEND_PORT}`);
  try {
    fitsPane(await tui.showing("the overview", [/parse\s+running \(Spark\)/, /Spark\s+running · 2 exec/]));
    await tui.key("2");
    const view = await tui.showing("the Spark view", [
      /app kafka_vectorizer \(app-[\d-]+\) · master spark:\/\/127\.0\.0\.1:\d+/,
      /cores 2 · memory/,
      /input rows\/s/,
      /processing rows\/s/,
      /driver\s+127\.0\.0\.1:\d+\s+0\s/,
      /\b0\s+127\.0\.0\.1:\d+\s+2\s/,
    ]);
    fitsPane(view);
    await tui.key("3");
    fitsPane(await tui.showing("the parse view", [/parse \(Spark job\) in .* records \d/]));
  } finally {
    await tui.close();
  }
});

test("the stack stays on Spark: a plain up reuses it and starts nothing", async () => {
  const r = await runScript("up", [], env);
  expect(r.code).toBe(0);
  expect(r.stderr).not.toContain("Starting");
  expect(r.stderr).toContain("spark-vectorizer already answers");
});

test("down stops the job, its JVM included, the worker with its executor, and the master", async () => {
  const st0 = await status();
  const pid = st0["spark-vectorizer"]?.pid;
  expect(pid).toBeGreaterThan(0);
  const job = processTree(pid as number);
  expect(job.length).toBeGreaterThan(1); // python and the driver's JVM
  // The executor's JVM is started by a thread of the worker's: /proc lists it under that thread.
  const worker = st0["spark-worker"]?.pid as number;
  expect(alive(worker)).toBe(true);
  const procs = [...job, worker, st0["spark-master"]?.pid as number];
  const r = await runScript("down", [], env);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/spark-vectorizer \(pid \d+\): stopped/);
  expect(r.stdout).toMatch(/spark-worker \(pid \d+\): stopped/);
  expect(r.stdout).toMatch(/spark-master \(pid \d+\): stopped/);
  await eventually("no process left", () => procs.every((p) => !alive(p)), 30_000);
  const st = await status();
  expect(st["spark-vectorizer"]).toBeUndefined(); // back to the default engine
  expect(st.parse).toMatchObject({ healthy: false, state: "down" });
});
