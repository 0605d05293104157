/**
 * The kNN service the backend queries: an in-process {@link KnnEngine} loaded from the Redis
 * layout at start (SCAN of `embvec:*`) and kept current by following the index's change
 * stream, so a query touches no network. Free-text queries are embedded through InferMesh
 * with the index's model.
 */
import type Redis from "ioredis";
import {
  formatShardList,
  type KnnQuery,
  type KnnResult,
  type ShardStats,
  shardsMissing,
} from "../contracts/knn.ts";
import { decodeStoredVector, type IndexLayout, redisKeys, shardOf } from "../contracts/redis-layout.ts";
import type { Logger } from "../core/log.ts";
import { abortableSleep, TransientError } from "../core/retry.ts";
import { type InfermeshClient, RejectedError } from "../io/infermesh-client.ts";
import { pipelineReplies, requireConnected } from "../io/redis-store.ts";
import { KnnEngine, type KnnEngineOptions } from "./engine.ts";
import { KnnError } from "./types.ts";

export interface KnnServiceOptions {
  redis: Redis;
  /** A second connection for the blocking XREAD. */
  follower: Redis;
  layout: IndexLayout;
  /** Embeds free text; called with the model to use. */
  embed?: (model: string, texts: string[]) => Promise<Float32Array[]>;
  log: Logger;
  /** The shards this backend loads and answers for (default: every shard of the layout). */
  shards?: readonly number[] | null;
  /** The engine's int8 prefilter (`KNN_QUANTIZED`, `KNN_RESCORE_FACTOR`). */
  engine?: Pick<KnnEngineOptions, "quantized" | "rescoreFactor">;
}

/** A router's query to one shard owner: a vector and its model, and the doc_id to leave out. */
export type OwnerQuery = KnnQuery & { vector: ArrayLike<number>; model: string; exclude?: string };

export class KnnService {
  readonly engine: KnnEngine;
  /** The shards owned, sorted; every shard of the layout when none were given. */
  readonly owned: number[];
  private readonly ownsAll: boolean;
  private readonly owns: Uint8Array;
  private lastId = "0-0";
  private readonly abort = new AbortController();
  private following: Promise<void> | undefined;
  private loadedAt: number | null = null;
  private applied = 0;

  constructor(private readonly o: KnnServiceOptions) {
    this.engine = new KnnEngine(o.engine ?? {});
    const n = o.layout.shards;
    this.owned = o.shards
      ? [...new Set(o.shards)].sort((a, b) => a - b)
      : Array.from({ length: n }, (_, i) => i);
    if (this.owned.some((s) => !Number.isInteger(s) || s < 0 || s >= n))
      throw new RangeError(`owned shards must be integers in 0..${n - 1}`);
    this.owns = new Uint8Array(n);
    for (const s of this.owned) this.owns[s] = 1;
    this.ownsAll = this.owned.length === n;
  }

  /** Fetches the given doc_ids' vectors and applies them (missing ones are removed); skips other shards' ids. */
  private async apply(allIds: string[]): Promise<void> {
    const docIds = this.ownsAll
      ? allIds
      : allIds.filter((id) => this.owns[shardOf(id, this.o.layout.shards)] === 1);
    if (docIds.length === 0) return;
    const p = this.o.redis.pipeline();
    for (const id of docIds) p.hgetallBuffer(redisKeys.vec(this.o.layout, id));
    const res = (await p.exec()) ?? [];
    res.forEach(([err, h], i) => {
      const id = docIds[i] as string;
      const stored = err ? undefined : decodeStoredVector(h as Record<string, Buffer>);
      if (!stored) {
        this.engine.remove(id);
        return;
      }
      try {
        this.engine.upsert({
          doc_id: stored.doc_id,
          model: stored.model,
          vector: stored.vector,
          topic: stored.topic,
          text: stored.text,
          shard: stored.shard,
          labels: stored.labels,
          success: stored.success,
        });
      } catch (e) {
        this.o.log.warn("skipping a stored vector", { doc_id: id, error: e as Error });
      }
    });
    this.applied += docIds.length;
  }

  /** Loads everything, then follows the change stream until `close`. */
  async start(): Promise<void> {
    const stream = redisKeys.indexStream(this.o.layout);
    const newest = await this.o.redis.xrevrange(stream, "+", "-", "COUNT", 1);
    this.lastId = newest[0]?.[0] ?? "0-0";
    const prefix = redisKeys.vecPrefix(this.o.layout);
    let cursor = "0";
    do {
      const [next, keys] = await this.o.redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 2000);
      cursor = next;
      await this.apply(keys.map((k) => k.slice(prefix.length)));
    } while (cursor !== "0");
    this.loadedAt = Date.now();
    this.o.log.info("kNN index loaded", {
      vectors: this.engine.size,
      models: this.engine.models().join(","),
      shards: this.ownsAll ? "all" : formatShardList(this.owned),
      quantized: this.engine.quantized,
    });
    this.following = this.follow();
  }

  private async follow(): Promise<void> {
    const stream = redisKeys.indexStream(this.o.layout);
    while (!this.abort.signal.aborted) {
      try {
        const res = (await this.o.follower.xread(
          "COUNT",
          1000,
          "BLOCK",
          1000,
          "STREAMS",
          stream,
          this.lastId,
        )) as [string, [string, string[]][]][] | null;
        const entries = res?.[0]?.[1] ?? [];
        if (entries.length === 0) continue;
        const ids = new Set<string>();
        for (const [id, fields] of entries) {
          this.lastId = id;
          const docId = fields[fields.indexOf("doc_id") + 1];
          if (docId) ids.add(docId);
        }
        // Re-reading each id's current hash makes upserts and deletes alike idempotent.
        await this.apply([...ids]);
      } catch (err) {
        if (this.abort.signal.aborted) return;
        this.o.log.warn("following the index stream failed; retrying", { error: err as Error });
        await abortableSleep(1000, this.abort.signal).catch(() => {});
      }
    }
  }

  /** Resolves once every change logged so far has been applied (for tests and tools). */
  async caughtUp(timeoutMs = 10_000): Promise<boolean> {
    const newest = await this.o.redis.xrevrange(redisKeys.indexStream(this.o.layout), "+", "-", "COUNT", 1);
    const target = newest[0]?.[0];
    if (!target) return true;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (compareIds(this.lastId, target) >= 0) return true;
      await Bun.sleep(20);
    }
    return false;
  }

  private resolveModel(q: KnnQuery): string {
    if (q.model) return q.model;
    const models = this.engine.models();
    if (models.length === 1) return models[0] as string;
    if (models.length === 0) throw new KnnError(400, "the index is empty");
    throw new KnnError(
      400,
      `the index holds several models (${models.join(", ")}): say which one with "model"`,
    );
  }

  async query(q: KnnQuery & { text?: string }): Promise<KnnResult> {
    if (q.text !== undefined && q.vector === undefined && q.doc_id === undefined) {
      if (typeof q.text !== "string" || q.text.trim() === "")
        throw new KnnError(400, "text must be a non-blank string");
      if (!this.o.embed) throw new KnnError(400, "text queries need INFERMESH_URL");
      const model = this.resolveModel(q);
      const [vector] = await this.o.embed(model, [q.text]).catch((err: unknown) => {
        throw embedFailure(err, q.text as string);
      });
      const { text: _t, ...rest } = q;
      return this.covering(
        rest.shards,
        this.engine.query({ ...rest, model, vector: vector as Float32Array }),
      );
    }
    return this.covering(q.shards, this.engine.query(q));
  }

  /**
   * A router's query to this owner: the vector is given with its model; a model this owner holds
   * no document of is an empty answer for its shards, not an error (its shards have none).
   */
  ownerQuery(q: OwnerQuery): KnnResult {
    const { exclude, ...query } = q;
    if (!this.engine.models().includes(q.model)) {
      return this.covering(
        q.shards,
        {
          neighbors: [],
          count_scored: 0,
          took_ms: 0,
          model: q.model,
          search: "exact",
        },
        true,
      );
    }
    return this.covering(q.shards, this.engine.query(query, exclude === undefined ? {} : { exclude }), true);
  }

  /**
   * `result` with the shards it covers: the owned ones among those asked for. A backend that owns
   * only some shards marks its answers partial, naming the others (`always`: say it anyway).
   */
  private covering(asked: number[] | undefined, result: KnnResult, always = false): KnnResult {
    if (this.ownsAll && !always) return result;
    const n = this.o.layout.shards;
    const wanted = asked ? [...new Set(asked)].filter((s) => s < n) : Array.from({ length: n }, (_, i) => i);
    const shards = wanted.filter((s) => this.owns[s] === 1).sort((a, b) => a - b);
    const missing = shardsMissing(wanted, shards);
    return { ...result, shards, partial: missing.length > 0, missing_shards: missing };
  }

  /** Shard statistics from Redis; a {@link TransientError} when Redis cannot answer (never zeros). */
  async shards(): Promise<ShardStats> {
    requireConnected(this.o.redis, "shard statistics");
    const ids = this.owned;
    const n = ids.length;
    const p = this.o.redis.pipeline();
    for (const i of ids) {
      p.zcard(redisKeys.shard(this.o.layout, i));
      p.zrevrange(redisKeys.shard(this.o.layout, i), 0, 2);
    }
    p.info("memory");
    const res = pipelineReplies(await p.exec(), "shard statistics");
    const shards = ids.map((id, i) => ({
      id,
      count: Number(res[2 * i] ?? 0),
      samples: (res[2 * i + 1] as string[] | undefined) ?? [],
    }));
    const info = String(res[2 * n] ?? "");
    const usedMemory = Number(/used_memory:(\d+)/.exec(info)?.[1] ?? Number.NaN);
    const stats = this.engine.stats();
    return {
      shards,
      total_ids: shards.reduce((a, s) => a + s.count, 0),
      nonempty: shards.filter((s) => s.count > 0).length,
      dims_by_model: Object.fromEntries(Object.entries(stats.by_model).map(([m, s]) => [m, s.dim])),
      memory: {
        index_bytes: stats.bytes,
        index_vectors: stats.total,
        vector_bytes: stats.vector_bytes,
        ...(stats.total > 0 ? { bytes_per_vector: stats.vector_bytes / stats.total } : {}),
        ...(Number.isFinite(usedMemory) ? { redis_used_bytes: usedMemory } : {}),
      },
      vectors_by_model: stats.by_model,
      ...(this.ownsAll
        ? {}
        : {
            partial: true,
            missing_shards: shardsMissing(
              Array.from({ length: this.o.layout.shards }, (_, i) => i),
              this.owned,
            ),
          }),
    };
  }

  status() {
    return {
      loaded_at: this.loadedAt,
      last_stream_id: this.lastId,
      applied: this.applied,
      vectors: this.engine.size,
    };
  }

  async close(): Promise<void> {
    this.abort.abort();
    this.o.follower.disconnect();
    await this.following?.catch(() => {});
  }
}

/** A stored document's vector and model, read from its `embvec` hash (for a router's doc_id queries). */
export async function storedVector(
  redis: Redis,
  layout: IndexLayout,
  docId: string,
): Promise<{ vector: Float32Array; model: string } | undefined> {
  requireConnected(redis, "the stored vector");
  const h = await redis.hgetallBuffer(redisKeys.vec(layout, docId));
  const stored = decodeStoredVector(h);
  return stored ? { vector: stored.vector, model: stored.model } : undefined;
}

/** The index's models and their dimensions (`{ns}:index:models`). */
export async function indexModels(redis: Redis, layout: IndexLayout): Promise<Record<string, number>> {
  requireConnected(redis, "the index's models");
  const h = await redis.hgetall(redisKeys.models(layout));
  return Object.fromEntries(Object.entries(h).map(([m, d]) => [m, Number(d)]));
}

/**
 * What a failed embedding of the query text means for the caller: the service's refusal of
 * the text (too long, too many, bad model) is the caller's 400/413 with the service's reason;
 * a refused key is the backend's misconfiguration (502); an unreachable service is 503.
 */
export function embedFailure(err: unknown, text: string): unknown {
  if (err instanceof RejectedError) {
    const reason = upstreamReason(err.body);
    if (err.status === 401 || err.status === 403)
      return new KnnError(502, `InferMesh refused the backend's credentials (HTTP ${err.status}): ${reason}`);
    // A wrong INFERMESH_URL path is the backend's misconfiguration; a request timeout, a pause.
    if (err.status === 404) return new KnnError(502, `InferMesh has no such endpoint (HTTP 404): ${reason}`);
    if (err.status === 408) return new KnnError(503, `InferMesh timed out (HTTP 408): ${reason}`);
    return new KnnError(
      err.status === 413 ? 413 : 400,
      `InferMesh refused the query text (${text.length} characters): ${reason}`,
    );
  }
  if (err instanceof TransientError) return new KnnError(503, `InferMesh is unavailable: ${err.message}`);
  return err;
}

function upstreamReason(body: string): string {
  try {
    const o = JSON.parse(body) as { error?: unknown };
    if (typeof o.error === "string") return o.error;
  } catch {}
  return body.slice(0, 300) || "no reason given";
}

/** Compares Redis stream ids `ms-seq`. */
export function compareIds(a: string, b: string): number {
  const [am, as] = a.split("-").map(Number) as [number, number];
  const [bm, bs] = b.split("-").map(Number) as [number, number];
  return am === bm ? as - bs : am - bm;
}

/** Adapts an InfermeshClient to the service's `embed` (one client per model, made on demand). */
export function embedWith(clientFor: (model: string) => InfermeshClient) {
  return (model: string, texts: string[]) => clientFor(model).embed(texts);
}
