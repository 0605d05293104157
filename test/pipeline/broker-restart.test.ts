/**
 * A broker killed with SIGKILL in the middle of a parse run, on a private single-node Kafka
 * (`up --infra` on a private state folder and port): nothing is lost, and what is parsed
 * again is bounded by what was not yet committed — the open Parquet roll (offsets wait for
 * its file) plus the batches in flight. With PIPELINE_EXACTLY_ONCE=1 nothing is lost and
 * nothing repeated, in Kafka and in Parquet. The figures are printed.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createKafka } from "../../pipeline/io/kafka.ts";
import { listParquetFiles, readParquetRows } from "../../pipeline/io/parquet.ts";
import { readRecord } from "../../scripts/lib/procs.ts";
import { replayFixture } from "../../scripts/lib/replay.ts";
import { ensureTopics } from "../../scripts/lib/topics.ts";
import { eventually, freePort, infra } from "../helpers/infra.ts";
import { runScript } from "../helpers/run.ts";
import { collect, startWorker, type WorkerHandle } from "../helpers/workers.ts";

setDefaultTimeout(240_000);

const stateDir = mkdtempSync(join(tmpdir(), "rl-embeddings-broker-"));
const parquetDir = join(stateDir, "parquet");
const brokers = [`127.0.0.1:${freePort(true)}`];
const env = {
  EMBED_STATE_DIR: stateDir,
  KAFKA_BOOTSTRAP_SERVERS: brokers[0] as string,
  KAFKA_HEAP: "256m",
};
const ROLL_ROWS = 1000;
const BATCH = 100;
let parse: WorkerHandle | undefined;
let embed: WorkerHandle | undefined;
let infermesh: WorkerHandle | undefined;

beforeAll(async () => {
  await infra(); // jars fetched once by the shared helper
  const r = await runScript("up", ["--infra"], env);
  expect(r.code).toBe(0);
});

afterAll(async () => {
  await Promise.all([parse, embed, infermesh].map((w) => w?.stop("SIGKILL")));
  await runScript("down", [], env);
  rmSync(stateDir, { recursive: true, force: true });
});

test("SIGKILL of the broker mid-stream: every record arrives, repeats stay within the uncommitted window", async () => {
  const n = 20_000;
  await replayFixture({
    brokers,
    topic: "agent.results",
    records: Array.from({ length: n }, (_, i) => ({
      key: null,
      value: Buffer.from(JSON.stringify({ doc_id: `b-${i}`, text: `broker restart record ${i}` })),
      headers: {},
    })),
  });
  parse = await startWorker(
    "parse",
    {
      ...env,
      PARSE_GROUP: "parse-broker-restart",
      PARSE_BATCH_SIZE: String(BATCH),
      EMBED_DLQ_TOPIC: "embeddings_dlq",
      REDDB_NAMESPACE: `test:broker-${Date.now()}`,
      VEC_OUTPUT_DIR: parquetDir,
      PARQUET_ROLL_ROWS: String(ROLL_ROWS),
      PARQUET_ROLL_SEC: "3",
    },
    { portVar: "PARSE_METRICS_PORT" },
  );
  const w = parse;
  await eventually("a third parsed", async () => Number((await w.metrics()).records_out) >= n / 3, 60_000);
  const kafka = readRecord(stateDir, "kafka");
  expect(kafka?.pid).toBeGreaterThan(0);
  process.kill(kafka?.pid as number, "SIGKILL");
  const atKill = Number((await w.metrics()).records_out);
  await Bun.sleep(1000); // the broker is really gone for a moment
  expect((await runScript("up", ["--infra"], env)).code).toBe(0);

  const kafkaClient = createKafka(brokers, "broker-restart-check");
  const out = await collect(kafkaClient, ["embedding_input"], `collect-broker-${Date.now()}`);
  await eventually(
    "every doc_id in embedding_input",
    () => new Set(out.records.map((r) => r.key)).size === n,
    90_000,
  );
  await eventually("committed", async () => (await w.metrics()).lag === 0, 60_000);
  await Bun.sleep(500);
  await out.stop();
  // The collector itself may read a stretch twice when its group rebalances: count offsets.
  const stored = new Set(out.records.map((r) => `${r.partition}/${r.offset}`)).size;
  const repeats = stored - n;
  // Not committed at the kill: the open Parquet roll and the one being written (offsets wait
  // for its file), the runner's high-water mark (4 batches, at least 1000 records), one more
  // batch per partition handler, and a batch whose produce is retried.
  const bound = 2 * ROLL_ROWS + Math.max(4 * BATCH, 1000) + (3 + 1) * BATCH;
  const skipped = (await w.metrics()).stale_skipped ?? 0;
  console.log(
    `broker SIGKILL at ${atKill}/${n} parsed: ${repeats} records parsed again (bound ${bound}), none lost; ` +
      `${skipped} buffered records left to re-delivery`,
  );
  expect(repeats).toBeLessThanOrEqual(bound);

  const files = await listParquetFiles(parquetDir);
  const rows = (await Promise.all(files.map((f) => readParquetRows<{ doc_id: string }>(f.path)))).flat();
  expect(new Set(rows.map((r) => r.doc_id)).size).toBe(n);
  expect(rows.length - n).toBeLessThanOrEqual(bound);
});

test("exactly-once: SIGKILL of the broker mid-stream loses nothing and repeats nothing; resume time printed", async () => {
  const n = 20_000;
  const topics = { src: "eos.src", input: "eos.input", output: "eos.output", dlq: "eos.dlq" };
  await ensureTopics({ brokers, topics: Object.values(topics), partitions: 3, replicationFactor: 1 });
  await replayFixture({
    brokers,
    topic: topics.src,
    records: Array.from({ length: n }, (_, i) => ({
      key: null,
      value: Buffer.from(
        JSON.stringify({ doc_id: `e-${i}`, text: `exactly once broker restart record ${i}` }),
      ),
      headers: {},
    })),
  });
  infermesh = await startWorker("infermesh", { INFERMESH_MODELS: "hash-384" }, { portVar: "INFERMESH_PORT" });
  const dirs = { parsed: join(stateDir, "eos", "parsed"), embedded: join(stateDir, "eos", "embeddings") };
  const wenv = {
    ...env,
    SPARK_KAFKA_TOPICS: topics.src,
    SINK_INPUT_TOPIC: topics.input,
    EMBED_OUTPUT_TOPIC: topics.output,
    EMBED_DLQ_TOPIC: topics.dlq,
    PARSE_GROUP: "parse-eos-broker",
    EMBED_GROUP: "embed-eos-broker",
    REDDB_NAMESPACE: `test:broker-eos-${Date.now()}`,
    EMBED_MODEL: "hash-384",
    INFERMESH_URL: infermesh.url,
    VEC_OUTPUT_DIR: dirs.parsed,
    EMBED_WRITE_PARQUET: "1",
    EMBED_PARQUET_DIR: dirs.embedded,
    PIPELINE_EXACTLY_ONCE: "1",
    PIPELINE_TXN_INTERVAL_MS: "500",
    WORKER_BACKOFF_SEC: "0.1",
    WORKER_MAX_BACKOFF_SEC: "1",
  };
  parse = await startWorker("parse", wenv, { portVar: "PARSE_METRICS_PORT" });
  embed = await startWorker("embed-worker", wenv, { portVar: "EMBED_METRICS_PORT" });
  const e = embed;
  await eventually(
    "a quarter embedded",
    async () => Number((await e.metrics()).records_out) >= n / 4,
    90_000,
  );
  const kafka = readRecord(stateDir, "kafka");
  process.kill(kafka?.pid as number, "SIGKILL");
  const atKill = Number((await e.metrics()).records_out);
  await Bun.sleep(1000); // the broker is really gone for a moment
  const commitsDown = Number((await e.metrics()).txn_commits); // none can commit meanwhile
  expect((await runScript("up", ["--infra"], env)).code).toBe(0);
  const back = performance.now();
  await eventually(
    "a transaction committed after the restart",
    async () => Number((await e.metrics()).txn_commits) > commitsDown,
    120_000,
  );
  const resumeSec = (performance.now() - back) / 1000;

  const out = await collect(
    createKafka(brokers, "broker-eos-check"),
    [topics.input, topics.output],
    `collect-eos-${Date.now()}`,
  );
  const keysOf = (topic: string) => {
    const byOffset = new Map<string, string>(); // the collector may read a stretch twice
    for (const r of out.records)
      if (r.topic === topic) byOffset.set(`${r.partition}/${r.offset}`, r.key as string);
    return [...byOffset.values()];
  };
  await eventually("every doc_id embedded", () => new Set(keysOf(topics.output)).size === n, 120_000);
  for (const w of [parse, embed]) await w?.stop("SIGTERM"); // commits the open transactions
  await Bun.sleep(1000);
  await out.stop();
  const parquetIds = async (folder: string) =>
    (
      await Promise.all(
        (
          await listParquetFiles(folder)
        ).map((f) => readParquetRows<{ doc_id: string }>(f.path, { columns: ["doc_id"] })),
      )
    )
      .flat()
      .map((r) => r.doc_id);
  const views = {
    input: keysOf(topics.input),
    output: keysOf(topics.output),
    parsedParquet: await parquetIds(dirs.parsed),
    embeddedParquet: await parquetIds(dirs.embedded),
  };
  console.log(
    `exactly-once, broker SIGKILL at ${atKill}/${n} embedded: first commit ${resumeSec.toFixed(1)} s after the broker was back; ` +
      Object.entries(views)
        .map(([k, ids]) => `${k} ${ids.length} rows / ${new Set(ids).size} doc_ids`)
        .join(", "),
  );
  for (const ids of Object.values(views)) {
    expect(ids.length).toBe(n);
    expect(new Set(ids).size).toBe(n);
  }
});
