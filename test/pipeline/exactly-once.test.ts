/**
 * Exactly-once under crashes, the way Kafka's own transaction tests prove it: 20,000 records
 * through parse, the embed worker and the indexer on the real broker and Redis while the test
 * kills parse and the embed worker with SIGKILL at random moments (5 times each) and restarts
 * them; then the outputs are compared set for set:
 * - `PIPELINE_EXACTLY_ONCE=1`: the read_committed view of `embedding_input` and `embeddings`,
 *   both Parquet folders and the Redis index hold every doc_id exactly once;
 * - the same with the mode off shows duplicates, so the test can tell the difference.
 * The figures (duplicates, aborted records a read_uncommitted reader would see) are printed.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { redisKeys } from "../../pipeline/contracts/redis-layout.ts";
import { listParquetFiles, readParquetRows } from "../../pipeline/io/parquet.ts";
import { replayFixture } from "../../scripts/lib/replay.ts";
import { eventually, scope, type TestScope } from "../helpers/infra.ts";
import { collect, startWorker, type WorkerHandle } from "../helpers/workers.ts";

setDefaultTimeout(300_000); // real Kafka, Redis and ten crash-restarts per scenario

const MODEL = "hash-384";
const SHARDS = 8;
const N = 20_000;
/** SIGKILLs of each of parse and the embed worker with the mode on. */
const KILLS = 5;
let s: TestScope;
let dir: string;
let infermesh: WorkerHandle;
const running = new Set<WorkerHandle>();

beforeAll(async () => {
  s = await scope();
  dir = mkdtempSync(join(tmpdir(), "rl-embeddings-eos-"));
  infermesh = await startWorker("infermesh", { INFERMESH_MODELS: MODEL }, { portVar: "INFERMESH_PORT" });
});
afterAll(async () => {
  await Promise.all([...running, infermesh].map((w) => w?.stop("SIGKILL")));
  await s.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

/** A seeded generator, so a failure can be rerun with the same kill schedule. */
function seeded(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (x * 1664525 + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

const count = (ids: string[]) => {
  const by = new Map<string, number>();
  for (const id of ids) by.set(id, (by.get(id) ?? 0) + 1);
  return by;
};

/** doc_ids seen more than once, and expected ones never seen. */
function tally(ids: string[], expected: Set<string>) {
  const by = count(ids);
  let duplicates = 0;
  for (const n of by.values()) duplicates += n - 1;
  const missing = [...expected].filter((id) => !by.has(id));
  return { rows: ids.length, duplicates, missing: missing.length, firstMissing: missing.slice(0, 5) };
}

async function parquetDocIds(folder: string): Promise<string[]> {
  const ids: string[] = [];
  for (const f of await listParquetFiles(folder)) {
    for (const row of await readParquetRows<{ doc_id: string }>(f.path, { columns: ["doc_id"] })) {
      ids.push(row.doc_id);
    }
  }
  return ids;
}

interface Outcome {
  kills: number;
  input: ReturnType<typeof tally>;
  output: ReturnType<typeof tally>;
  parsedParquet: ReturnType<typeof tally>;
  embeddedParquet: ReturnType<typeof tally>;
  redisIndex: ReturnType<typeof tally>;
  /** Records in `embeddings` that only a read_uncommitted reader sees (aborted transactions). */
  abortedSeen: number;
}

/**
 * Streams `n` records into a fresh lane at `rate`/s while parse and the embed worker are each
 * killed `kills` times at random moments and restarted; waits until everything settled.
 */
async function crashRun(name: string, exactlyOnce: boolean, n: number, kills: number): Promise<Outcome> {
  const topics = {
    src: await s.topic(`${name}.src`),
    input: await s.topic(`${name}.input`),
    output: await s.topic(`${name}.output`),
    dlq: await s.topic(`${name}.dlq`),
  };
  const ns = `${s.prefix}:${name}`;
  const env = {
    SPARK_KAFKA_TOPICS: topics.src,
    SINK_INPUT_TOPIC: topics.input,
    EMBED_OUTPUT_TOPIC: topics.output,
    EMBED_DLQ_TOPIC: topics.dlq,
    PARSE_GROUP: `parse-${s.id}-${name}`,
    EMBED_GROUP: `embed-${s.id}-${name}`,
    EMB_INDEX_GROUP: `index-${s.id}-${name}`,
    EMB_INDEX_SHARDS: String(SHARDS),
    REDDB_NAMESPACE: ns,
    REDDB_MODE: "kv",
    EMBED_MODEL: MODEL,
    INFERMESH_URL: infermesh.url,
    EMBED_WRITE_PARQUET: "1",
    EMBED_PARQUET_DIR: join(dir, name, "embeddings"),
    VEC_OUTPUT_DIR: join(dir, name, "parsed"),
    PARQUET_ROLL_SEC: "2",
    PIPELINE_EXACTLY_ONCE: exactlyOnce ? "1" : "0",
    PIPELINE_TXN_INTERVAL_MS: "500",
    WORKER_BACKOFF_SEC: "0.1",
    WORKER_MAX_BACKOFF_SEC: "0.5",
  };
  const workers = {
    parse: { port: "PARSE_METRICS_PORT", handle: undefined as WorkerHandle | undefined },
    "embed-worker": { port: "EMBED_METRICS_PORT", handle: undefined as WorkerHandle | undefined },
    indexer: { port: "INDEX_METRICS_PORT", handle: undefined as WorkerHandle | undefined },
  };
  const start = async (w: keyof typeof workers) => {
    const h = await startWorker(w, env, { portVar: workers[w].port, healthy: false });
    workers[w].handle = h;
    running.add(h);
  };
  await Promise.all((Object.keys(workers) as (keyof typeof workers)[]).map(start));

  const ids = Array.from({ length: n }, (_, i) => `${name}-${i}`);
  const expected = new Set(ids);
  const rate = 400;
  const feeding = replayFixture({
    brokers: s.cfg.kafka.brokers,
    topic: topics.src,
    rate,
    records: ids.map((id, i) => ({
      key: null,
      value: Buffer.from(JSON.stringify({ doc_id: id, text: `exactly once record ${i} of ${name}` })),
      headers: {},
    })),
  });

  // Kill each stage `kills` times at random moments while records flow, restarting at once.
  const random = seeded(exactlyOnce ? 12 : 34);
  let done = 0;
  const killer = async (w: "parse" | "embed-worker") => {
    for (let k = 0; k < kills; k++) {
      await Bun.sleep(1000 + random() * 3000);
      const h = workers[w].handle as WorkerHandle;
      await h.stop("SIGKILL");
      running.delete(h);
      done++;
      await start(w);
    }
  };
  await Promise.all([killer("parse"), killer("embed-worker")]);
  await feeding;

  // Settled: every doc_id in the committed output, and the indexer has caught up.
  const kafka = s.kafka();
  const committed = await collect(kafka, [topics.input, topics.output], `collect-${s.id}-${name}`);
  // The collector itself may read a stretch twice if its group rebalances: one row per offset.
  const keysOf = (topic: string) => {
    const byOffset = new Map<string, string>();
    for (const r of committed.records) {
      if (r.topic === topic) byOffset.set(`${r.partition}/${r.offset}`, r.key as string);
    }
    return [...byOffset.values()];
  };
  const outputIds = () => keysOf(topics.output);
  await eventually("every record in the committed output", () => count(outputIds()).size >= n, 120_000);
  const redis = s.redis();
  const indexIds = async () => {
    const all: string[] = [];
    for (let shard = 0; shard < SHARDS; shard++) {
      all.push(...(await redis.zrange(redisKeys.shard({ namespace: ns }, shard), "0", "-1")));
    }
    return all;
  };
  await eventually("every record indexed", async () => (await indexIds()).length >= n, 60_000);
  // Let the workers finish what they hold (a graceful stop commits the open transaction).
  await Promise.all(
    Object.values(workers).map(async (w) => {
      if (w.handle) {
        await w.handle.stop("SIGTERM");
        running.delete(w.handle);
      }
    }),
  );
  await Bun.sleep(1000); // the last commits' records reach the collector
  await committed.stop();

  // Everything a read_uncommitted reader sees, aborted transactions included.
  const raw = kafka.consumer({ groupId: `raw-${s.id}-${name}`, readUncommitted: true });
  let rawCount = 0;
  await raw.connect();
  await raw.subscribe({ topics: [topics.output], fromBeginning: true });
  await raw.run({
    eachMessage: async () => {
      rawCount++;
    },
  });
  const outputRows = outputIds().length;
  await eventually("the raw view read", () => rawCount >= outputRows, 30_000);
  await Bun.sleep(1000);
  await raw.disconnect();

  return {
    kills: done,
    input: tally(keysOf(topics.input), expected),
    output: tally(outputIds(), expected),
    parsedParquet: tally(await parquetDocIds(env.VEC_OUTPUT_DIR), expected),
    embeddedParquet: tally(await parquetDocIds(env.EMBED_PARQUET_DIR), expected),
    redisIndex: tally(await indexIds(), expected),
    abortedSeen: rawCount - outputRows,
  };
}

describe("exactly-once under SIGKILL", () => {
  test("mode on: 20,000 records, parse and embed-worker killed 5 times each: every doc_id exactly once everywhere", async () => {
    const o = await crashRun("eos-on", true, N, KILLS);
    console.log("exactly-once on:", JSON.stringify(o));
    expect(o.kills).toBe(2 * KILLS);
    for (const t of [o.input, o.output, o.parsedParquet, o.embeddedParquet, o.redisIndex]) {
      expect({ duplicates: t.duplicates, missing: t.missing }).toEqual({ duplicates: 0, missing: 0 });
      expect(t.rows).toBe(N);
    }
  });

  test("mode off: the same crashes leave duplicates (at least once), and lose nothing", async () => {
    const o = await crashRun("eos-off", false, N, KILLS);
    console.log("exactly-once off:", JSON.stringify(o));
    for (const t of [o.input, o.output, o.parsedParquet, o.embeddedParquet, o.redisIndex]) {
      expect(t.missing).toBe(0);
    }
    expect(o.redisIndex.duplicates).toBe(0); // idempotent by doc_id in both modes
    expect(o.input.duplicates + o.output.duplicates + o.embeddedParquet.duplicates).toBeGreaterThan(0);
  });
});
