/**
 * In-process data for the RL library's tests: embedding rows as the embed worker writes them
 * (the same sink and schema), in temporary folders removed by `cleanup`.
 */
import { rmSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Labels } from "../../pipeline/contracts/extract.ts";
import { createParquetSink, EMBEDDINGS_SCHEMA, type EmbeddingRow } from "../../pipeline/io/parquet.ts";
import type { VectorRecord } from "../../pipeline/rl/rows.ts";

const dirs: string[] = [];

export async function tempDir(name = "rl"): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), `${name}-test-`));
  dirs.push(d);
  return d;
}

export function cleanup(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** A row of the embeddings schema with labels (success derived from `status` when not given). */
export function row(
  doc_id: string,
  vector: number[],
  labels: Labels = {},
  over: Partial<EmbeddingRow> = {},
): EmbeddingRow {
  const status = typeof labels.status === "string" ? labels.status : null;
  const success =
    typeof labels.success === "boolean"
      ? labels.success
      : status === "ok"
        ? true
        : status === "failed" || status === "error"
          ? false
          : null;
  return {
    doc_id,
    topic: "agent.results",
    text: `text of ${doc_id}`,
    vector,
    dim: vector.length,
    model: "test-model",
    normalized: false,
    kafka_ts: 1_736_900_000_000,
    embedded_ts: 1_736_900_000 + Number(/\d+/.exec(doc_id)?.[0] ?? 0) / 1000,
    success,
    status,
    agent: typeof labels.agent === "string" ? labels.agent : null,
    task: typeof labels.task === "string" ? labels.task : null,
    reward: typeof labels.reward === "number" ? labels.reward : null,
    episode: null,
    labels: JSON.stringify(labels),
    source_topic: "agent.results",
    source_partition: 0,
    source_offset: 0,
    ...over,
  };
}

/** Writes `rows` as one complete Parquet file of `dir` (the embed worker's sink and prefix). */
export async function writeFile(dir: string, rows: EmbeddingRow[]): Promise<void> {
  const sink = createParquetSink({
    dir,
    prefix: "embeddings",
    schema: EMBEDDINGS_SCHEMA,
    rollRows: Math.max(1, rows.length),
    rollSec: 60,
  });
  await sink.append(rows);
  await sink.close();
}

/** A unit vector of `dim` along axis `axis`, nudged by `noise` on the next axis. */
export function axis(dim: number, at: number, noise = 0): number[] {
  const v = new Array<number>(dim).fill(0);
  v[at % dim] = 1;
  v[(at + 1) % dim] = noise;
  return v;
}

/** A VectorRecord without a file. */
export function record(
  doc_id: string,
  vector: number[],
  success: boolean | null,
  labels: Labels = {},
): VectorRecord {
  return {
    doc_id,
    vector: Float32Array.from(vector),
    dim: vector.length,
    model: "test-model",
    text: `text of ${doc_id}`,
    topic: "agent.results",
    labels,
    success,
    embedded_ts: 0,
  };
}
