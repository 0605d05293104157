/**
 * A private copy of the whole pipeline for a test file: InferMesh, parse, embed-worker,
 * indexer and backend as real processes on free ports, over the scope's own topics and
 * Redis namespace.
 */
import type { TestScope } from "./infra.ts";
import { freePort } from "./infra.ts";
import { startWorker, type WorkerHandle } from "./workers.ts";

export interface PrivateStack {
  env: Record<string, string>;
  topics: { src: string; input: string; output: string; dlq: string };
  workers: Record<"infermesh" | "parse" | "embed" | "indexer" | "backend", WorkerHandle>;
  backendPort: number;
  stop(): Promise<void>;
}

/** `extra` adds to (or overrides) the workers' environment, e.g. the embed worker's Parquet output. */
export async function startPrivateStack(
  s: TestScope,
  model = "glove-100d-sif",
  extra: Record<string, string> = {},
): Promise<PrivateStack> {
  const topics = {
    src: await s.topic("src"),
    input: await s.topic("input"),
    output: await s.topic("output"),
    dlq: await s.topic("dlq"),
  };
  const ports = {
    infermesh: freePort(),
    parse: freePort(),
    embed: freePort(),
    index: freePort(),
    backend: freePort(),
  };
  const env: Record<string, string> = {
    SPARK_KAFKA_TOPICS: topics.src,
    SINK_INPUT_TOPIC: topics.input,
    EMBED_INPUT_TOPIC: topics.input,
    EMBED_OUTPUT_TOPIC: topics.output,
    EMB_INDEX_TOPIC: topics.output,
    EMBED_DLQ_TOPIC: topics.dlq,
    PARSE_GROUP: `parse-${s.id}`,
    EMBED_GROUP: `embed-${s.id}`,
    EMB_INDEX_GROUP: `index-${s.id}`,
    REDDB_NAMESPACE: s.prefix,
    EMB_INDEX_SHARDS: "8",
    INFERMESH_URL: `http://127.0.0.1:${ports.infermesh}`,
    INFERMESH_MODELS: model,
    EMBED_MODEL: model,
    PARSE_METRICS_PORT: String(ports.parse),
    EMBED_METRICS_PORT: String(ports.embed),
    INDEX_METRICS_PORT: String(ports.index),
    BACKEND_PORT: String(ports.backend),
    // No Spark on this port: the Spark stream must say unreachable, whatever runs on 4041.
    SPARK_VECTOR_UI_URL: `http://127.0.0.1:${freePort()}/api/v1`,
    ...extra,
  };
  const started: WorkerHandle[] = [];
  const start = async (name: string, portVar: string, port: number) => {
    const w = await startWorker(name, env, { portVar, port });
    started.push(w);
    return w;
  };
  try {
    const workers = {
      infermesh: await start("infermesh", "INFERMESH_PORT", ports.infermesh),
      parse: await start("parse", "PARSE_METRICS_PORT", ports.parse),
      embed: await start("embed-worker", "EMBED_METRICS_PORT", ports.embed),
      indexer: await start("indexer", "INDEX_METRICS_PORT", ports.index),
      backend: await start("backend", "BACKEND_PORT", ports.backend),
    };
    return {
      env,
      topics,
      workers,
      backendPort: ports.backend,
      stop: async () => {
        await Promise.all(started.map((w) => w.stop("SIGKILL")));
      },
    };
  } catch (err) {
    await Promise.all(started.map((w) => w.stop("SIGKILL")));
    throw err;
  }
}
