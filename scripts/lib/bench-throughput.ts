/**
 * Throughput against the Kafka ceiling, measured in one run on the same input: a plain kafkajs
 * copy of the input topic (scripts/lib/kafka-copy.ts) is the ceiling; the embed worker
 * (hash-384, Kafka only; then Kafka + Parquet + Redis), the parse worker and the whole pipeline
 * (parse + embed with up's sinks) run on the same number of unique records, and each figure is
 * printed with its ratio to the ceiling and the process's CPU-seconds per 10k records.
 *
 * Every rate is the steady state: (n − 1) records over the time from the first record's arrival
 * in the output topic to the last one's, so start-up and group joins do not count.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createKafka } from "../../pipeline/io/kafka.ts";
import { ScriptError, step, waitUntil } from "./progress.ts";
import { replayFixture } from "./replay.ts";
import { ensureTopics } from "./topics.ts";
import { collect, startWorker, type WorkerHandle } from "./worker-process.ts";

const repoRoot = join(import.meta.dir, "..", "..");

export interface ThroughputFigure {
  name: string;
  value: number;
  unit: string;
}

/** CPU-seconds (user + system) a process has used so far, from /proc (Linux). */
export function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the command name.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** The command line of worker `name` under Bun's CPU profiler (a `.cpuprofile` and a `.md` summary in `dir`). */
export function profiledCommand(name: string, dir: string, profileName: string): string[] {
  return [
    process.execPath,
    "--cpu-prof",
    "--cpu-prof-md",
    `--cpu-prof-dir=${dir}`,
    `--cpu-prof-name=${profileName}`,
    join(repoRoot, "pipeline", "workers", `${name}.ts`),
  ];
}

interface Run {
  perSec: number;
  cpuPer10k: number;
}

/** Waits until `n` records arrived in `out`; the steady-state rate and the process's CPU. */
async function measure(
  label: string,
  n: number,
  out: { records: { receivedAt: number }[] },
  pids: number[],
): Promise<Run> {
  return step(`${label}: ${n} records`, async (p) => {
    const done = await waitUntil(
      async () => {
        p.update(`${out.records.length}/${n}`);
        return out.records.length >= n;
      },
      600,
      { intervalMs: 50 },
    );
    if (!done) throw new ScriptError(`${label}: only ${out.records.length}/${n} arrived within 600 s`);
    const times = out.records.map((r) => r.receivedAt);
    const seconds = (Math.max(...times) - Math.min(...times)) / 1000;
    const cpu = pids.reduce((s, pid) => s + cpuSeconds(pid), 0);
    return { perSec: (n - 1) / Math.max(seconds, 1e-3), cpuPer10k: (cpu / n) * 10_000 };
  });
}

export async function benchThroughput(o: {
  brokers: string[];
  partitions: number;
  id: string;
  n: number;
  infermeshUrl: string;
  texts: string[];
  dir: string;
  /** Runs each worker under Bun's CPU profiler, writing `<label>-<worker>.cpuprofile` and `.md` here. */
  profileDir?: string;
}): Promise<ThroughputFigure[]> {
  const figures: ThroughputFigure[] = [];
  const add = (name: string, value: number, unit: string) => figures.push({ name, value, unit });
  const kafka = createKafka(o.brokers, `bench-${o.id}`);
  const t = (name: string) => `bench.${o.id}.tp.${name}`;
  const topics = [
    "results",
    "input",
    "copy",
    "embed-k",
    "embed-all",
    "parsed",
    "e2e-input",
    "e2e-out",
    "e2e-eos-input",
    "e2e-eos-out",
    "dlq",
  ].map(t);
  await ensureTopics({ brokers: o.brokers, topics, partitions: o.partitions, replicationFactor: 1 });
  // ~290-byte unique texts, as parse writes them and as agents send them.
  const text = (i: number) => `${o.texts[i % o.texts.length]} (run ${i})`.slice(0, 290);
  const inputs = Array.from({ length: o.n }, (_, i) => ({
    key: `tp-${i}`,
    value: Buffer.from(
      JSON.stringify({ text: text(i), topic: "agent.results", kafka_ts: null, doc_id: `tp-${i}` }),
    ),
    headers: {},
  }));
  const results = Array.from({ length: o.n }, (_, i) => ({
    key: null,
    value: Buffer.from(JSON.stringify({ doc_id: `tp-${i}`, text: text(i), agent: "bench", status: "ok" })),
    headers: {},
  }));
  await step(`Producing ${o.n} embedding_input and ${o.n} agent results`, async () => {
    await replayFixture({ brokers: o.brokers, topic: t("input"), records: inputs });
    await replayFixture({ brokers: o.brokers, topic: t("results"), records: results });
  });

  const base: Record<string, string> = {
    EMBED_DLQ_TOPIC: t("dlq"),
    INFERMESH_URL: o.infermeshUrl,
    EMBED_MODEL: "hash-384",
    LOG_LEVEL: "warn",
  };
  const run = async (
    label: string,
    output: string,
    start: () => Promise<{ pids: number[]; stop: () => Promise<unknown> }>,
  ): Promise<Run> => {
    const out = await collect(kafka, [output], `bench-tp-collect-${o.id}-${label}`);
    const procs = await start();
    try {
      return await measure(label, o.n, out, procs.pids);
    } finally {
      await procs.stop();
      await out.stop();
    }
  };
  // No wait for the group's assignment: the rates run from the first arrival.
  const worker = (
    label: string,
    name: string,
    env: Record<string, string>,
    portVar: string,
  ): Promise<WorkerHandle> =>
    startWorker(
      name,
      { ...base, ...env },
      { portVar, ...(o.profileDir ? { cmd: profiledCommand(name, o.profileDir, `${label}-${name}`) } : {}) },
    );

  const ceiling = await run("copy", t("copy"), async () => {
    const proc = Bun.spawn(
      [
        process.execPath,
        join(repoRoot, "scripts", "lib", "kafka-copy.ts"),
        o.brokers.join(","),
        t("input"),
        t("copy"),
        `bench-tp-copy-${o.id}`,
      ],
      { stdout: "ignore", stderr: "inherit" },
    );
    return {
      pids: [proc.pid],
      stop: async () => {
        proc.kill("SIGTERM");
        await proc.exited;
      },
    };
  });
  add(
    "Kafka ceiling: kafkajs consume → produce copy (idempotent, commit per batch)",
    ceiling.perSec,
    "records/s",
  );
  add("CPU-seconds per 10k records, kafkajs copy", ceiling.cpuPer10k, "s");

  const embedEnv = (label: string, extra: Record<string, string>) => ({
    EMBED_INPUT_TOPIC: t("input"),
    EMBED_GROUP: `bench-tp-${o.id}-${label}`,
    ...extra,
  });
  const embedKafka = await run("embed-k", t("embed-k"), async () => {
    const w = await worker(
      "embed-k",
      "embed-worker",
      embedEnv("embed-k", { EMBED_OUTPUT_TOPIC: t("embed-k"), REDDB_URL: "", EMBED_WRITE_PARQUET: "0" }),
      "EMBED_METRICS_PORT",
    );
    return { pids: [w.proc.pid], stop: () => w.stop() };
  });
  add("embed-worker records/s, hash-384, Kafka only", embedKafka.perSec, "records/s");
  add("embed_ceiling_ratio: embed-worker (Kafka only) / ceiling", embedKafka.perSec / ceiling.perSec, "×");
  add("CPU-seconds per 10k records, embed-worker (Kafka only)", embedKafka.cpuPer10k, "s");

  const embedAll = await run("embed-all", t("embed-all"), async () => {
    const w = await worker(
      "embed-all",
      "embed-worker",
      embedEnv("embed-all", {
        EMBED_OUTPUT_TOPIC: t("embed-all"),
        REDDB_NAMESPACE: `bench:${o.id}:tp`,
        EMBED_WRITE_PARQUET: "1",
        EMBED_PARQUET_DIR: join(o.dir, "tp-embeddings"),
      }),
      "EMBED_METRICS_PORT",
    );
    return { pids: [w.proc.pid], stop: () => w.stop() };
  });
  add("embed-worker records/s, hash-384, Kafka + Parquet + Redis", embedAll.perSec, "records/s");
  add(
    "embed_all_sinks_ceiling_ratio: embed-worker (all sinks) / ceiling",
    embedAll.perSec / ceiling.perSec,
    "×",
  );
  add("CPU-seconds per 10k records, embed-worker (all sinks)", embedAll.cpuPer10k, "s");

  const parse = await run("parse", t("parsed"), async () => {
    const w = await worker(
      "parse",
      "parse",
      {
        SPARK_KAFKA_TOPICS: t("results"),
        SINK_INPUT_TOPIC: t("parsed"),
        PARSE_GROUP: `bench-tp-${o.id}-parse`,
      },
      "PARSE_METRICS_PORT",
    );
    return { pids: [w.proc.pid], stop: () => w.stop() };
  });
  add("parse worker records/s", parse.perSec, "records/s");
  add("parse_ceiling_ratio: parse worker / ceiling", parse.perSec / ceiling.perSec, "×");
  add("CPU-seconds per 10k records, parse worker", parse.cpuPer10k, "s");

  /** parse + embed-worker (Kafka + Parquet + Redis) from agent results to `embeddings`. */
  const endToEnd = (label: string, extra: Record<string, string>) =>
    run(label, t(`${label}-out`), async () => {
      const p = await worker(
        label,
        "parse",
        {
          SPARK_KAFKA_TOPICS: t("results"),
          SINK_INPUT_TOPIC: t(`${label}-input`),
          PARSE_GROUP: `bench-tp-${o.id}-${label}-parse`,
          ...extra,
        },
        "PARSE_METRICS_PORT",
      );
      const e = await worker(
        label,
        "embed-worker",
        {
          EMBED_INPUT_TOPIC: t(`${label}-input`),
          EMBED_OUTPUT_TOPIC: t(`${label}-out`),
          EMBED_GROUP: `bench-tp-${o.id}-${label}-embed`,
          REDDB_NAMESPACE: `bench:${o.id}:tp-${label}`,
          EMBED_WRITE_PARQUET: "1",
          EMBED_PARQUET_DIR: join(o.dir, `tp-${label}`),
          ...extra,
        },
        "EMBED_METRICS_PORT",
      );
      return { pids: [p.proc.pid, e.proc.pid], stop: () => Promise.all([p.stop(), e.stop()]) };
    });
  const e2e = await endToEnd("e2e", {});
  add(
    "end-to-end records/s, agent.results → embeddings (parse + embed, Kafka + Parquet + Redis)",
    e2e.perSec,
    "records/s",
  );
  add("e2e_ceiling_ratio: end to end / ceiling", e2e.perSec / ceiling.perSec, "×");
  add("CPU-seconds per 10k records, parse + embed-worker (end to end)", e2e.cpuPer10k, "s");

  // What exactly-once costs: the same run with Kafka transactions and two-phase Parquet.
  const eos = await endToEnd("e2e-eos", { PIPELINE_EXACTLY_ONCE: "1" });
  add("end-to-end records/s with PIPELINE_EXACTLY_ONCE=1", eos.perSec, "records/s");
  add("exactly_once_ratio: end to end exactly-once / at-least-once", eos.perSec / e2e.perSec, "×");
  add("CPU-seconds per 10k records, end to end exactly-once", eos.cpuPer10k, "s");
  return figures;
}
