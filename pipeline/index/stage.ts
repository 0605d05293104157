/**
 * The index stage: embedded records → the kNN layout in Redis (`pipeline/contracts/redis-layout.ts`). Records that are
 * not valid embedded records, or whose dimension differs from the one their model has in
 * the index, go to the DLQ: models of different dimensions never mix in one search.
 */
import type Redis from "ioredis";
import type { DlqEntry } from "../contracts/dlq.ts";
import type { EmbeddedRecord } from "../contracts/records.ts";
import {
  type IndexLayout,
  redisKeys,
  shardOf,
  UPSERT_SCRIPT,
  upsertKeys,
  vectorToBytes,
} from "../contracts/redis-layout.ts";
import { l2norm } from "../contracts/vector.ts";
import { dlqEntry } from "../core/dlq.ts";
import type { Metrics } from "../core/metrics.ts";
import { TransientError } from "../core/retry.ts";
import type { Output, ProcessResult, Sink, SourceRecord } from "../core/source.ts";

export interface IndexedRecord extends EmbeddedRecord {
  shard: number;
}

function validate(
  bytes: Buffer | null,
):
  | { ok: true; value: EmbeddedRecord }
  | { ok: false; reason: "invalid_json" | "invalid_record"; error: string } {
  if (bytes === null) return { ok: false, reason: "invalid_record", error: "record value is null" };
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString("utf8"));
  } catch (err) {
    return { ok: false, reason: "invalid_json", error: `not JSON: ${(err as Error).message}` };
  }
  const r = v as Partial<EmbeddedRecord>;
  if (typeof r !== "object" || r === null)
    return { ok: false, reason: "invalid_record", error: "expected a JSON object" };
  if (typeof r.doc_id !== "string" || r.doc_id === "")
    return { ok: false, reason: "invalid_record", error: "doc_id missing" };
  if (typeof r.model !== "string" || r.model === "")
    return { ok: false, reason: "invalid_record", error: "model missing" };
  if (
    !Array.isArray(r.vector) ||
    r.vector.length === 0 ||
    !r.vector.every((x) => typeof x === "number" && Number.isFinite(x))
  ) {
    return {
      ok: false,
      reason: "invalid_record",
      error: "vector must be a non-empty array of finite numbers",
    };
  }
  if (
    r.labels !== undefined &&
    (typeof r.labels !== "object" || r.labels === null || Array.isArray(r.labels))
  )
    return { ok: false, reason: "invalid_record", error: "labels must be an object" };
  return { ok: true, value: r as EmbeddedRecord };
}

async function redisCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new TransientError(`redis ${what} failed: ${(err as Error).message}`, "redis", { cause: err });
  }
}

export class IndexStage {
  private readonly dims = new Map<string, number>();

  constructor(
    private readonly redis: Redis,
    private readonly layout: IndexLayout,
  ) {}

  /** The index's dimension for `model`, registering `dim` when the model is new (HSETNX, so racing indexers agree). */
  private async dimOf(model: string, dim: number): Promise<number> {
    const known = this.dims.get(model);
    if (known !== undefined) return known;
    const key = redisKeys.models(this.layout);
    const stored = await redisCall("model registry", async () => {
      await this.redis.hsetnx(key, model, String(dim));
      return Number(await this.redis.hget(key, model));
    });
    this.dims.set(model, stored);
    return stored;
  }

  async process(records: SourceRecord[]): Promise<ProcessResult<IndexedRecord>> {
    const outputs: Output<IndexedRecord>[] = [];
    const dlq: DlqEntry[] = [];
    for (const record of records) {
      const v = validate(record.value);
      if (!v.ok) {
        dlq.push(dlqEntry(record, v.reason, v.error, { stage: "index" }));
        continue;
      }
      const r = v.value;
      const dim = await this.dimOf(r.model, r.vector.length);
      if (dim !== r.vector.length) {
        dlq.push(
          dlqEntry(
            record,
            "invalid_vector",
            `model ${r.model} has dimension ${dim} in the index; this vector has ${r.vector.length}`,
            {
              stage: "index",
              model: r.model,
              input: { text: r.text, doc_id: r.doc_id, topic: r.topic, kafka_ts: r.kafka_ts },
            },
          ),
        );
        continue;
      }
      outputs.push({ record, value: { ...r, dim, shard: shardOf(r.doc_id, this.layout.shards) } });
    }
    return { outputs, dlq };
  }
}

/** Writes records into the layout with one atomic script call each, pipelined per batch. */
export function indexSink(
  redis: Redis,
  layout: IndexLayout,
  opts: { maxIdsPerShard: number; streamMaxLen: number; textMaxChars: number },
  metrics: Metrics,
): Sink<IndexedRecord> {
  return {
    name: "redis:index",
    async write(outputs) {
      const results = await redisCall("index write", async () => {
        const p = redis.pipeline();
        for (const { value: r } of outputs) {
          p.eval(
            UPSERT_SCRIPT,
            3,
            ...upsertKeys(layout, r.doc_id, r.shard),
            r.doc_id,
            String(r.embedded_ts),
            String(opts.maxIdsPerShard),
            String(opts.streamMaxLen),
            redisKeys.vecPrefix(layout),
            "doc_id",
            r.doc_id,
            "model",
            r.model,
            "dim",
            String(r.dim),
            "vec",
            vectorToBytes(r.vector),
            "norm",
            String(l2norm(r.vector)),
            "topic",
            r.topic ?? "",
            "kafka_ts",
            r.kafka_ts === null ? "" : String(r.kafka_ts),
            "embedded_ts",
            String(r.embedded_ts),
            "text",
            r.text.slice(0, opts.textMaxChars),
            "shard",
            String(r.shard),
            "labels",
            JSON.stringify(r.labels ?? {}),
            "success",
            r.success === true ? "1" : r.success === false ? "0" : "",
          );
        }
        const res = await p.exec();
        const failed = res?.find(([err]) => err);
        if (failed?.[0]) throw failed[0];
        return res ?? [];
      });
      const evicted = results.reduce((n, [, v]) => n + Number(v ?? 0), 0);
      if (evicted > 0) metrics.inc("evicted", evicted);
      metrics.inc("indexed", outputs.length);
      return undefined;
    },
    async close() {},
  };
}
