/**
 * Fixed against adaptive batching when InferMesh slows down: the embed worker reads the same
 * records through a proxy in front of the real InferMesh (hash-384) that delays each request
 * by 20 ms + 2 ms per input + 0.02 ms per input² (a service that degrades with large batches,
 * as one under memory pressure does). Fixed batches of 256 pay the quadratic term; adaptive
 * ones shrink until the round trip is under EMBED_BATCH_TARGET_MS.
 */
import { createKafka } from "../../pipeline/io/kafka.ts";
import { timeThrough } from "./bench-timing.ts";
import { step } from "./progress.ts";
import { ensureTopics } from "./topics.ts";
import { collect, startWorker, untilAssigned, type WorkerHandle } from "./worker-process.ts";

export interface AdaptiveFigure {
  name: string;
  value: number;
  unit: string;
}

/** Delay of one request of `n` inputs, ms. */
export const slowDelayMs = (n: number): number => 20 + 2 * n + 0.02 * n * n;

/** A proxy to `target` that delays every POST /embed by {@link slowDelayMs}. */
function slowProxy(target: string) {
  return Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      const body = req.method === "POST" ? await req.text() : undefined;
      if (body !== undefined && url.pathname === "/embed") {
        const n = (JSON.parse(body) as { inputs?: unknown[] }).inputs?.length ?? 1;
        await Bun.sleep(slowDelayMs(n));
      }
      const res = await fetch(`${target}${url.pathname}`, {
        method: req.method,
        headers: { "content-type": "application/json" },
        ...(body !== undefined ? { body } : {}),
      });
      return new Response(await res.arrayBuffer(), { status: res.status, headers: res.headers });
    },
  });
}

export async function benchAdaptive(o: {
  brokers: string[];
  partitions: number;
  id: string;
  n: number;
  infermeshUrl: string;
  texts: string[];
}): Promise<AdaptiveFigure[]> {
  const proxy = slowProxy(o.infermeshUrl);
  const figures: AdaptiveFigure[] = [];
  try {
    for (const mode of ["fixed", "adaptive"] as const) {
      const t = (name: string) => `bench.${o.id}.adaptive-${mode}.${name}`;
      const topics = { input: t("input"), output: t("output"), dlq: t("dlq") };
      await ensureTopics({
        brokers: o.brokers,
        topics: Object.values(topics),
        partitions: o.partitions,
        replicationFactor: 1,
      });
      const env: Record<string, string> = {
        EMBED_INPUT_TOPIC: topics.input,
        SINK_INPUT_TOPIC: topics.input,
        EMBED_OUTPUT_TOPIC: topics.output,
        EMBED_DLQ_TOPIC: topics.dlq,
        EMBED_GROUP: `bench-adaptive-${o.id}-${mode}`,
        REDDB_NAMESPACE: `bench:${o.id}:adaptive-${mode}`,
        INFERMESH_URL: `http://127.0.0.1:${proxy.port}`,
        EMBED_MODEL: "hash-384",
        EMBED_BATCH_SIZE: "256",
        EMBED_MAX_WAIT_SEC: "0.2",
        EMBED_CACHE_MAX: "0",
        EMBED_BATCH_ADAPTIVE: mode === "adaptive" ? "1" : "0",
        EMBED_BATCH_TARGET_MS: "250",
        LOG_LEVEL: "warn",
      };
      let worker: WorkerHandle | undefined;
      try {
        worker = await startWorker("embed-worker", env, { portVar: "EMBED_METRICS_PORT" });
        await untilAssigned(worker);
        const out = await collect(
          createKafka(o.brokers, `bench-${o.id}`),
          [topics.output],
          `bench-collect-${o.id}-adaptive-${mode}`,
        );
        const records = Array.from({ length: o.n }, (_, i) => ({
          key: null,
          value: Buffer.from(
            JSON.stringify({
              text: `${o.texts[i % o.texts.length]} (#${i})`,
              doc_id: `${mode}-${i}`,
              topic: "bench",
              kafka_ts: null,
            }),
          ),
          headers: {},
        }));
        const seconds = await timeThrough({
          label: `embed worker, ${mode} batches, slowed InferMesh`,
          brokers: o.brokers,
          topic: topics.input,
          records,
          out,
        });
        const m = await worker.metrics();
        await out.stop();
        figures.push({
          name: `embed-worker records/s, slowed InferMesh, ${mode} batches (start 256)`,
          value: o.n / seconds,
          unit: "records/s",
        });
        if (mode === "adaptive")
          figures.push({
            name: "adaptive batch limit at the end (slowed InferMesh, target 250 ms)",
            value: Number(m.batch_limit),
            unit: "records",
          });
      } finally {
        await worker?.stop();
      }
    }
    const fixed = figures.find((f) => f.name.includes("fixed"))?.value ?? Number.NaN;
    const adaptive = figures.find((f) => f.name.includes("adaptive batches"))?.value ?? Number.NaN;
    figures.push({
      name: "adaptive / fixed batching records/s (slowed InferMesh)",
      value: adaptive / fixed,
      unit: "×",
    });
    return figures;
  } finally {
    proxy.stop(true);
  }
}

export const benchAdaptiveStep = (o: Parameters<typeof benchAdaptive>[0]) =>
  step(`Fixed vs adaptive batching with a slowed InferMesh (${o.n} records each)`, () => benchAdaptive(o));
