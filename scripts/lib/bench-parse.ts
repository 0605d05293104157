/**
 * Parse throughput, the Bun parse worker next to the Spark job, on the same input: the
 * fixtures' agent results (malformed ones included) cycled to N records. Each engine is
 * started and idle first; then the N records are produced as fast as possible and the clock
 * runs until all N have an outcome (`embedding_input` or the DLQ).
 */
import { join } from "node:path";
import { parseAgentResult } from "../../pipeline/contracts/extract.ts";
import { createKafka } from "../../pipeline/io/kafka.ts";
import { timeThrough } from "./bench-timing.ts";
import { type FixtureRecord, readFixture } from "./fixture-format.ts";
import { step, waitUntil } from "./progress.ts";
import { startSparkJob } from "./spark-local.ts";
import { ensureTopics } from "./topics.ts";
import { collect, startWorker, untilAssigned, type WorkerHandle } from "./worker-process.ts";

export interface ParseBenchOptions {
  brokers: string[];
  partitions: number;
  /** Names of topics, groups and keys start with this (the benchmark removes them afterwards). */
  id: string;
  n: number;
  dir: string;
  engines: ("bun" | "spark")[];
}

export interface ParseFigure {
  name: string;
  value: number;
  unit: string;
}

function input(n: number): FixtureRecord[] {
  const root = join(import.meta.dir, "..", "..", "fixtures");
  const base = ["agent-results.jsonl", "malformed.jsonl"].flatMap((f) => readFixture(join(root, f)));
  return Array.from({ length: n }, (_, i) => base[i % base.length] as FixtureRecord);
}

async function run(
  engine: "bun" | "spark",
  o: ParseBenchOptions,
  records: FixtureRecord[],
): Promise<{ seconds: number; worker: WorkerHandle }> {
  const t = (name: string) => `bench.${o.id}.parse-${engine}.${name}`;
  const topics = { src: t("src"), out: t("out"), dlq: t("dlq") };
  await ensureTopics({
    brokers: o.brokers,
    topics: Object.values(topics),
    partitions: o.partitions,
    replicationFactor: 1,
  });
  const env: Record<string, string> = {
    SPARK_KAFKA_TOPICS: topics.src,
    SINK_INPUT_TOPIC: topics.out,
    EMBED_DLQ_TOPIC: topics.dlq,
    PARSE_GROUP: `bench-parse-${o.id}-${engine}`,
    REDDB_NAMESPACE: `bench:${o.id}:parse-${engine}`,
    VEC_OUTPUT_DIR: join(o.dir, `parse-${engine}`, "parsed"),
    VEC_CHECKPOINT: join(o.dir, `parse-${engine}`, "checkpoint"),
    SPARK_STARTING_OFFSETS: "earliest",
    LOG_LEVEL: "warn",
  };
  const worker =
    engine === "bun"
      ? await startWorker("parse", env, { portVar: "PARSE_METRICS_PORT" })
      : await step("Starting the Spark parse job", () => startSparkJob(env));
  if (engine === "bun") await untilAssigned(worker);
  else await waitUntil(async () => (await worker.metrics()).spark !== undefined, 120); // first (empty) batch done
  const out = await collect(
    createKafka(o.brokers, `bench-${o.id}`),
    [topics.out, topics.dlq],
    `bench-c-${o.id}-${engine}`,
  );
  const seconds = await timeThrough({
    label: engine === "bun" ? "Bun parse worker" : "Spark parse job",
    brokers: o.brokers,
    topic: topics.src,
    records,
    out,
  });
  await out.stop();
  return { seconds, worker };
}

export async function benchParse(o: ParseBenchOptions): Promise<ParseFigure[]> {
  const records = input(o.n);
  const ok = records.filter(
    (r) => parseAgentResult(r.value, r.key === null ? null : Buffer.from(r.key)).ok,
  ).length;
  const figures: ParseFigure[] = [];
  const label = `${o.n} agent results, ${o.n - ok} to the DLQ`;
  const rates: Partial<Record<"bun" | "spark", number>> = {};
  for (const engine of o.engines) {
    const { seconds, worker } = await run(engine, o, records);
    await worker.stop();
    rates[engine] = o.n / seconds;
    const name = engine === "bun" ? "Bun parse worker" : "Spark parse job (local[2])";
    figures.push({ name: `parse records/s, ${name} (${label})`, value: o.n / seconds, unit: "records/s" });
  }
  if (rates.bun && rates.spark) {
    figures.push({
      name: "parse: Bun worker over Spark job, same input",
      value: rates.bun / rates.spark,
      unit: "×",
    });
  }
  return figures;
}
