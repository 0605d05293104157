#!/usr/bin/env bun
/**
 * Throughput figures of the pipeline on this machine, against the real Kafka, Redis and
 * worker processes (not asserted anywhere; printed). Uses its own topics, Redis namespace
 * and temp Parquet folders, removed at the end.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import Redis from "ioredis";
import { loadConfig } from "../pipeline/config.ts";
import { createKafka } from "../pipeline/io/kafka.ts";
import { MINILM_INT8_MODEL, MINILM_MODEL } from "../pipeline/models/registry.ts";
import { benchAdaptiveStep } from "./lib/bench-adaptive.ts";
import { corpus } from "./lib/bench-corpus.ts";
import { benchKnn, parseSize } from "./lib/bench-knn.ts";
import { benchModels } from "./lib/bench-models.ts";
import { benchParse } from "./lib/bench-parse.ts";
import { benchSse } from "./lib/bench-sse.ts";
import { benchThroughput, profiledCommand } from "./lib/bench-throughput.ts";
import { timeThrough } from "./lib/bench-timing.ts";
import { benchTui } from "./lib/bench-tui.ts";
import { benchVectorJson } from "./lib/bench-vector-json.ts";
import { numberFlag, runScript } from "./lib/cli.ts";
import { info, ScriptError, step } from "./lib/progress.ts";
import { ensureTopics } from "./lib/topics.ts";
import { up } from "./lib/up.ts";
import { collect, startWorker, untilAssigned, type WorkerHandle } from "./lib/worker-process.ts";

const id = `b${Date.now().toString(36)}${randomBytes(2).toString("hex")}`;

interface Figure {
  name: string;
  value: number;
  unit: string;
}

/** Texts of realistic agent results, made unique per record so the cache cannot help. */
async function infermeshSentencesPerSec(
  url: string,
  model: string,
  texts: string[],
  n: number,
): Promise<number> {
  const batch = 64;
  const started = performance.now();
  for (let i = 0; i < n; i += batch) {
    const inputs = Array.from(
      { length: Math.min(batch, n - i) },
      (_, j) => `${texts[(i + j) % texts.length]} #${i + j}`,
    );
    const res = await fetch(`${url}/embed`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model, inputs }),
    });
    if (!res.ok) throw new ScriptError(`InferMesh answered ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
  }
  return n / ((performance.now() - started) / 1000);
}

interface RunResult {
  recordsPerSec: number;
  batchesPerSec: number;
  seconds: number;
  batches: number;
}

/** One end-to-end run: N agent results into a fresh source topic until all N are in `embeddings`. */
async function endToEnd(
  label: string,
  n: number,
  texts: string[],
  env: Record<string, string>,
  infermeshUrl: string,
  dir: string,
): Promise<RunResult> {
  const cfg = loadConfig();
  const t = (name: string) => `bench.${id}.${label}.${name}`;
  const topics = { src: t("src"), input: t("input"), output: t("output"), dlq: t("dlq") };
  await ensureTopics({
    brokers: cfg.kafka.brokers,
    topics: Object.values(topics),
    partitions: cfg.kafka.partitions,
    replicationFactor: cfg.kafka.replicationFactor,
  });
  const wenv: Record<string, string> = {
    SPARK_KAFKA_TOPICS: topics.src,
    SINK_INPUT_TOPIC: topics.input,
    EMBED_INPUT_TOPIC: topics.input,
    EMBED_OUTPUT_TOPIC: topics.output,
    EMBED_DLQ_TOPIC: topics.dlq,
    PARSE_GROUP: `bench-parse-${id}-${label}`,
    EMBED_GROUP: `bench-embed-${id}-${label}`,
    REDDB_NAMESPACE: `bench:${id}:${label}`,
    INFERMESH_URL: infermeshUrl,
    EMBED_WRITE_PARQUET: "1",
    EMBED_PARQUET_DIR: join(dir, label, "embeddings"),
    VEC_OUTPUT_DIR: join(dir, label, "parsed"),
    PARQUET_ROLL_SEC: "1",
    LOG_LEVEL: "warn",
    ...env,
  };
  const workers: WorkerHandle[] = [];
  try {
    const parse = await startWorker("parse", wenv, { portVar: "PARSE_METRICS_PORT" });
    workers.push(parse);
    const embed = await startWorker("embed-worker", wenv, { portVar: "EMBED_METRICS_PORT" });
    workers.push(embed);
    // Measure the steady state, not the consumer groups' first join.
    await Promise.all([untilAssigned(parse), untilAssigned(embed)]);
    const out = await collect(
      createKafka(cfg.kafka.brokers, `bench-${id}`),
      [topics.output],
      `bench-collect-${id}-${label}`,
    );
    const records = Array.from({ length: n }, (_, i) => ({
      key: null,
      value: Buffer.from(
        JSON.stringify({ doc_id: `${label}-${i}`, text: `${texts[i % texts.length]} (run ${i})` }),
      ),
      headers: {},
    }));
    const seconds = await timeThrough({
      label: `${label}: end to end`,
      brokers: cfg.kafka.brokers,
      topic: topics.src,
      records,
      out,
    });
    const m = await embed.metrics();
    await out.stop();
    return {
      seconds,
      recordsPerSec: n / seconds,
      batches: Number(m.batches),
      batchesPerSec: Number(m.batches) / seconds,
    };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
}

/** InferMesh sentences/s, end-to-end runs with both models, and the naive baseline. */
async function benchPipeline(
  infermeshUrl: string,
  o: {
    n: number;
    naiveN: number;
    skipNaive: boolean;
    texts: string[];
    dir: string;
    add: (name: string, value: number, unit: string) => void;
  },
): Promise<void> {
  const { n, naiveN, texts, dir, add } = o;
  for (const model of ["hash-384", "glove-100d-sif", MINILM_MODEL, MINILM_INT8_MODEL]) {
    // The transformer is ~100× slower than the word-vector models: fewer sentences suffice.
    const count = model.startsWith("sentence-transformers/") ? Math.min(n, 2000) : n;
    const rate = await step(`InferMesh ${model}: ${count} sentences`, () =>
      infermeshSentencesPerSec(infermeshUrl, model, texts, count),
    );
    add(`InferMesh sentences/s, ${model}, batches of 64, one client`, rate, "sentences/s");
  }
  const runs: Record<string, RunResult> = {};
  for (const model of ["hash-384", "glove-100d-sif", MINILM_MODEL]) {
    // Topic names allow [a-zA-Z0-9._-] only.
    const label = model.replace(/[^a-zA-Z0-9._-]/g, "_");
    const r = await endToEnd(label, n, texts, { EMBED_MODEL: model }, infermeshUrl, dir);
    runs[model] = r;
    add(
      `end-to-end records/s, ${model} (${n} records, batch ${loadConfig().embed.batchSize})`,
      r.recordsPerSec,
      "records/s",
    );
    add(`embed-worker batches/s, ${model}`, r.batchesPerSec, "batches/s");
  }
  if (o.skipNaive) return;
  const naive = {
    EMBED_MODEL: "hash-384",
    EMBED_BATCH_SIZE: "1",
    EMBED_MAX_WAIT_SEC: "0",
    PARSE_BATCH_SIZE: "1",
    PARSE_MAX_WAIT_SEC: "0",
  };
  const r = await endToEnd("naive", naiveN, texts, naive, infermeshUrl, dir);
  add(
    `naive end-to-end records/s, hash-384 (${naiveN} records, one at a time)`,
    r.recordsPerSec,
    "records/s",
  );
  const batched = runs["hash-384"];
  if (batched)
    add("batching speed-up over the naive baseline (hash-384)", batched.recordsPerSec / r.recordsPerSec, "×");
}

async function cleanup(): Promise<void> {
  const cfg = loadConfig();
  const admin = createKafka(cfg.kafka.brokers, `bench-${id}`).admin();
  await admin.connect();
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(`bench.${id}.`));
  if (topics.length) await admin.deleteTopics({ topics }).catch(() => {});
  const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.includes(id));
  if (groups.length) await admin.deleteGroups(groups).catch(() => {});
  await admin.disconnect();
  if (cfg.redis.url.startsWith("redis")) {
    const r = new Redis(cfg.redis.url);
    let cursor = "0";
    do {
      const [next, keys] = await r.scan(cursor, "MATCH", `bench:${id}:*`, "COUNT", 1000);
      cursor = next;
      if (keys.length) await r.del(...keys);
    } while (cursor !== "0");
    r.disconnect();
  }
}

await runScript(
  {
    usage:
      "bun run bench [--only LIST] [--records N] [--naive-records N] [--skip-naive] [--knn-sizes LIST] [--quick] [--json]",
    description:
      "Measures, on this machine, with the real Kafka, Redis and worker processes:\n" +
      "  • each model in this process: paraphrase precision@5, and sentences/s of all-MiniLM-L6-v2 (fp32, int8)\n" +
      "    at 1 and 2 onnxruntime threads for ~30-token and ~9-word sentences (--only models);\n" +
      "  • the local InferMesh's sentences/s per model over HTTP (batches of 64, one client);\n" +
      "  • end-to-end records/s from the source topic to `embeddings` (parse + embed-worker + Parquet + Redis)\n" +
      "    with hash-384, glove-100d-sif and the default all-MiniLM-L6-v2, and the embed worker's batches/s;\n" +
      "  • the same end-to-end figure for a naive baseline: one message at a time (batch size 1, no wait);\n" +
      "  • parse records/s of the Bun parse worker and of the Spark parse job on the same input\n" +
      "    (the first Spark run installs pyspark into the cache);\n" +
      "  • the Kafka ceiling (a plain kafkajs copy of the same input) and, against it, the embed worker\n" +
      "    (Kafka only; all sinks), the parse worker and the whole pipeline, with CPU-seconds per 10k\n" +
      "    records (--only throughput; --json gives embed_ceiling_ratio, e2e_ceiling_ratio, parse_ceiling_ratio),\n" +
      "    and the cost and size of a record's JSON with the vector as doubles and at float32 precision;\n" +
      "  • fixed against adaptive batching (EMBED_BATCH_ADAPTIVE) when InferMesh slows down (--only adaptive);\n" +
      "  • kNN latency (unfiltered and filtered on labels), exact float32 against the int8 prefilter with exact\n" +
      "    rescoring: recall@10, bytes read per query, p50/p95, on random and real model vectors (--only knn);\n" +
      "  • SSE fan-out and the console's CPU and memory.\n" +
      "Starts Kafka and Redis if needed; uses its own topics and keys and removes them afterwards.",
    options: [
      ["--records N", "records per end-to-end run (20000)"],
      ["--naive-records N", "records for the naive baseline (20000)"],
      ["--skip-naive", "skip the naive baseline"],
      [
        "--only LIST",
        "run only these parts: models, throughput, pipeline, adaptive, parse, knn, sse, tui (comma list; default all)",
      ],
      [
        "--knn-sizes LIST",
        "row counts of the 384-d kNN cases (comma list, default 10k,100k; e.g. 100k,1M adds 1M × 384)",
      ],
      ["--quick", "kNN sizes ÷ 10, no MiniLM in the kNN recall (smoke run)"],
      ["--json", "also print the figures as JSON"],
      [
        "--cpu-prof DIR",
        "run the throughput part's workers and its InferMesh under Bun's CPU profiler (.cpuprofile and .md in DIR)",
      ],
    ],
    string: ["records", "naive-records", "only", "cpu-prof", "knn-sizes"],
    boolean: ["skip-naive", "json", "quick"],
  },
  async (args) => {
    const n = numberFlag("records", args.records, { integer: true, min: 1 }) ?? 20_000;
    const naiveN = numberFlag("naive-records", args["naive-records"], { integer: true, min: 1 }) ?? 20_000;
    const knnSizes =
      args["knn-sizes"] === undefined
        ? undefined
        : String(args["knn-sizes"])
            .split(",")
            .map((x) => {
              const size = parseSize(x);
              if (Number.isNaN(size))
                throw new ScriptError(`--knn-sizes: not a row count: ${JSON.stringify(x)} (e.g. 100k,1M)`);
              return size;
            });
    const cfg = loadConfig();
    await up(cfg, ["infra"]);
    const texts = corpus();
    const dir = mkdtempSync(join(tmpdir(), "rl-embeddings-bench-"));
    const figures: Figure[] = [];
    const add = (name: string, value: number, unit: string) => {
      figures.push({ name, value, unit });
      info(`  ${name}: ${value.toFixed(value < 1 ? 3 : value < 10 ? 2 : 0)} ${unit}`);
    };
    const parts = new Set(
      String(args.only ?? "models,throughput,pipeline,adaptive,parse,knn,sse,tui").split(","),
    );
    let infermesh: WorkerHandle | undefined;
    // One InferMesh with hash-384 only, shared by the throughput and adaptive parts.
    let hashInfermesh: WorkerHandle | undefined;
    const profileDir = args["cpu-prof"] ? resolve(String(args["cpu-prof"])) : undefined;
    const hashInfermeshUrl = async () => {
      hashInfermesh ??= await startWorker(
        "infermesh",
        { INFERMESH_MODELS: "hash-384" },
        {
          portVar: "INFERMESH_PORT",
          ...(profileDir ? { cmd: profiledCommand("infermesh", profileDir, "infermesh-hash-384") } : {}),
        },
      );
      return hashInfermesh.url;
    };
    try {
      if (parts.has("models")) {
        for (const f of await benchModels({ quick: Boolean(args.quick) })) add(f.name, f.value, f.unit);
      }
      if (parts.has("knn")) {
        await step(
          "kNN: exact and int8 + rescore latency, recall@10 and bytes read; naive Redis baseline",
          async (p) => {
            const figs = await benchKnn({
              redisUrl: cfg.redis.url,
              keyPrefix: `bench:${id}:knn`,
              quick: Boolean(args.quick),
              ...(knnSizes ? { sizes: knnSizes } : {}),
              log: (l) => p.update(l),
            });
            for (const f of figs) add(f.name, f.value, f.unit);
          },
        );
      }
      if (parts.has("sse")) {
        const figs = await step("SSE fan-out to 50 clients (10 s)", () => benchSse());
        for (const f of figs) add(f.name, f.value, f.unit);
      }
      if (parts.has("tui")) {
        const figs = await step("Console CPU and memory over 60 s of live streaming", () => benchTui());
        for (const f of figs) add(f.name, f.value, f.unit);
      }
      if (parts.has("parse")) {
        const figs = await benchParse({
          brokers: cfg.kafka.brokers,
          partitions: cfg.kafka.partitions,
          id,
          n,
          dir,
          engines: ["bun", "spark"],
        });
        for (const f of figs) add(f.name, f.value, f.unit);
      }
      if (parts.has("throughput")) {
        for (const f of await step("Vector encoding: JSON doubles against float32 precision", async () =>
          benchVectorJson(),
        ))
          add(f.name, f.value, f.unit);
        const figs = await benchThroughput({
          brokers: cfg.kafka.brokers,
          partitions: cfg.kafka.partitions,
          id,
          n,
          infermeshUrl: await hashInfermeshUrl(),
          texts,
          dir,
          ...(profileDir ? { profileDir } : {}),
        });
        for (const f of figs) add(f.name, f.value, f.unit);
      }
      if (parts.has("adaptive")) {
        const figs = await benchAdaptiveStep({
          brokers: cfg.kafka.brokers,
          partitions: cfg.kafka.partitions,
          id,
          n: Math.min(n, 3000),
          infermeshUrl: await hashInfermeshUrl(),
          texts,
        });
        for (const f of figs) add(f.name, f.value, f.unit);
      }
      if (parts.has("pipeline")) {
        infermesh = await step(
          "Starting InferMesh (hash-384, glove-100d-sif, all-MiniLM-L6-v2 fp32 and int8)",
          () =>
            startWorker(
              "infermesh",
              { INFERMESH_MODELS: `hash-384,glove-100d-sif,${MINILM_MODEL},${MINILM_INT8_MODEL}` },
              { portVar: "INFERMESH_PORT", timeoutSec: 120 },
            ),
        );
        await benchPipeline(infermesh.url, {
          n,
          naiveN,
          skipNaive: Boolean(args["skip-naive"]),
          texts,
          dir,
          add,
        });
      }
    } finally {
      await infermesh?.stop();
      await hashInfermesh?.stop();
      await cleanup().catch((err) => info(`cleanup: ${(err as Error).message}`));
      rmSync(dir, { recursive: true, force: true });
    }
    const w = Math.max(...figures.map((f) => f.name.length));
    console.log(`\nbenchmark ${new Date().toISOString()} (${navigator.hardwareConcurrency} cores)`);
    for (const f of figures)
      console.log(
        `${f.name.padEnd(w)}  ${f.value.toFixed(f.value < 1 ? 3 : f.value < 10 ? 2 : 0).padStart(9)} ${f.unit}`,
      );
    if (args.json) {
      // The ratios to the Kafka ceiling also as top-level fields (embed_ceiling_ratio, …).
      const ratios = Object.fromEntries(
        figures.flatMap((f) => {
          const m = /^([a-z_]+_ceiling_ratio):/.exec(f.name);
          return m ? [[m[1], f.value]] : [];
        }),
      );
      console.log(JSON.stringify({ ...ratios, figures }, null, 2));
    }
    return 0;
  },
);
