/**
 * The query router of a partitioned kNN index: a backend that holds no vectors and answers
 * every kNN query by asking the backends that own the shards (`POST /api/knn/owner-query` on
 * each of `owners`, in parallel) and merging their top k exactly ({@link mergeTopK}).
 *
 * The router turns every query into a vector query first, so that all owners search with the
 * same vector: a doc_id's stored vector is read from Redis (the owner holding it leaves it out
 * unless `include_self`), a text is embedded once. Each owner says which shards it answered
 * for; the shards asked for that no owner answered for are `missing_shards` and the answer is
 * `partial: true` (an owner down, slow or failing), never a silently smaller answer. When no
 * owner answers at all, the query fails with 503.
 */
import type { KnnQuery, KnnResult, Neighbor, OwnerPart, ShardStats, VectorBytes } from "../contracts/knn.ts";
import { shardsMissing } from "../contracts/knn.ts";
import type { Logger } from "../core/log.ts";
import { DEFAULT_K } from "./engine.ts";
import { mergeTopK } from "./merge.ts";
import { embedFailure } from "./service.ts";
import { KnnError } from "./types.ts";

type Fetch = (url: string, init?: RequestInit) => Promise<Response>;

export interface KnnRouterOptions {
  /** Base URLs of the owners (e.g. `http://10.0.0.5:8080`). */
  owners: readonly string[];
  /** EMB_INDEX_SHARDS: every shard of the index is 0..shards-1. */
  shards: number;
  /** Bearer token sent to the owners (their BACKEND_TOKEN). */
  token?: string;
  /** How long each owner may take, ms. */
  timeoutMs: number;
  /** A stored document's vector and model (from Redis), undefined when it is not indexed. */
  lookup(docId: string): Promise<{ vector: Float32Array; model: string } | undefined>;
  /** The index's models and their dimensions (Redis `{ns}:index:models`). */
  models(): Promise<Record<string, number>>;
  /** Embeds free text with a model. */
  embed?: (model: string, texts: string[]) => Promise<Float32Array[]>;
  /** Default: the global fetch. */
  fetch?: Fetch;
  log: Logger;
}

type Part<T> =
  | { url: string; ok: true; value: T; took_ms: number }
  | { url: string; ok: false; error: string; took_ms: number };

const quote = (s: string): string => JSON.stringify(s);

export class KnnRouter {
  private readonly fetchFn: Fetch;

  constructor(private readonly o: KnnRouterOptions) {
    if (o.owners.length === 0) throw new RangeError("a router needs at least one owner");
    this.fetchFn = o.fetch ?? ((url, init) => fetch(url, init));
  }

  private all(): number[] {
    return Array.from({ length: this.o.shards }, (_, i) => i);
  }

  /** Answers a query from the owners' answers (see the module comment). */
  async query(q: KnnQuery & { text?: string }): Promise<KnnResult> {
    const started = performance.now();
    const k = q.k ?? DEFAULT_K;
    const { vector, model, exclude } = await this.resolve(q);
    const body = {
      vector: Array.from(vector),
      model,
      k,
      ...(q.shards ? { shards: q.shards } : {}),
      ...(q.filter ? { filter: q.filter } : {}),
      ...(q.exact ? { exact: true } : {}),
      ...(exclude === undefined ? {} : { exclude }),
    };
    const parts = await Promise.all(
      this.o.owners.map((url) => this.ask<KnnResult>(url, "/api/knn/owner-query", body)),
    );
    const answers = parts.flatMap((p) => (p.ok ? [p.value] : []));
    // Shards beyond the index's hold nothing: asking for them misses nothing.
    const wanted = q.shards ? [...new Set(q.shards)].filter((x) => x < this.o.shards) : this.all();
    const covered = new Set(answers.flatMap((a) => a.shards ?? this.all()));
    const missing = shardsMissing(wanted, covered);
    const owners = parts.map((p) => ownerPart(p, p.ok ? (p.value.shards ?? this.all()) : []));
    if (answers.length === 0)
      throw new KnnError(
        503,
        `no shard owner answered (${owners.map((o) => `${o.url}: ${o.error}`).join("; ")})`,
      );
    const lists: Neighbor[][] = answers.map((a) => a.neighbors);
    const rescored = answers.reduce((s, a) => s + (a.rescored ?? 0), 0);
    const int8 = answers.some((a) => a.search === "int8");
    return {
      neighbors: mergeTopK(lists, k, exclude),
      count_scored: answers.reduce((s, a) => s + a.count_scored, 0),
      took_ms: performance.now() - started,
      model,
      search: int8 ? "int8" : "exact",
      ...(int8 ? { rescored } : {}),
      shards: [...covered].filter((s) => wanted.includes(s)).sort((a, b) => a - b),
      partial: missing.length > 0,
      missing_shards: missing,
      owners,
    };
  }

  /** Every owner's shard statistics, added up; shards no owner reported are `missing_shards`. */
  async shards(): Promise<ShardStats> {
    const parts = await Promise.all(this.o.owners.map((url) => this.ask<ShardStats>(url, "/api/knn/shards")));
    const answers = parts.flatMap((p) => (p.ok ? [p.value] : []));
    const owners = parts.map((p) => ownerPart(p, p.ok ? p.value.shards.map((s) => s.id) : []));
    if (answers.length === 0)
      throw new KnnError(
        503,
        `no shard owner answered (${owners.map((o) => `${o.url}: ${o.error}`).join("; ")})`,
      );
    const byId = new Map<number, ShardStats["shards"][number]>();
    for (const a of answers) for (const s of a.shards) if (!byId.has(s.id)) byId.set(s.id, s);
    const shards = [...byId.values()].sort((a, b) => a.id - b.id);
    const memory: Record<string, number> = {};
    const vectors: Record<string, VectorBytes> = {};
    for (const a of answers) {
      for (const [key, value] of Object.entries(a.memory)) {
        // One Redis serves them all: its memory is not added up.
        memory[key] =
          key === "redis_used_bytes" ? Math.max(memory[key] ?? 0, value) : (memory[key] ?? 0) + value;
      }
      for (const [m, v] of Object.entries(a.vectors_by_model ?? {})) {
        const had = vectors[m];
        vectors[m] = had ? { ...had, count: had.count + v.count } : { ...v };
      }
    }
    if ((memory.index_vectors ?? 0) > 0 && memory.vector_bytes !== undefined)
      memory.bytes_per_vector = memory.vector_bytes / (memory.index_vectors as number);
    const missing = shardsMissing(this.all(), byId.keys());
    return {
      shards,
      total_ids: shards.reduce((s, x) => s + x.count, 0),
      nonempty: shards.filter((s) => s.count > 0).length,
      dims_by_model: Object.assign({}, ...answers.map((a) => a.dims_by_model)),
      memory,
      vectors_by_model: vectors,
      partial: missing.length > 0,
      missing_shards: missing,
      owners,
    };
  }

  /** The vector, model and excluded document a query searches with. */
  private async resolve(
    q: KnnQuery & { text?: string },
  ): Promise<{ vector: ArrayLike<number>; model: string; exclude?: string }> {
    if (q.doc_id !== undefined && q.doc_id !== null) {
      const stored = await this.o.lookup(q.doc_id);
      if (!stored) throw new KnnError(404, `unknown doc_id ${quote(q.doc_id)}`);
      if (q.model && q.model !== stored.model)
        throw new KnnError(
          404,
          `doc_id ${quote(q.doc_id)} is not indexed under model ${quote(q.model)} (it is under ${quote(stored.model)})`,
        );
      return { vector: stored.vector, model: stored.model, ...(q.include_self ? {} : { exclude: q.doc_id }) };
    }
    const models = await this.o.models();
    const names = Object.keys(models).sort();
    const list = names.map((n) => `${n} (dim ${models[n]})`).join(", ") || "none";
    if (q.model && models[q.model] === undefined)
      throw new KnnError(400, `unknown model ${quote(q.model)}; indexed models: ${list}`);
    if (q.vector === undefined || q.vector === null) {
      if (typeof q.text !== "string" || q.text.trim() === "")
        throw new KnnError(400, 'give a "vector", a "doc_id" or a "text" to search from');
      if (!this.o.embed) throw new KnnError(400, "text queries need INFERMESH_URL");
      const model = q.model ?? onlyModel(names);
      const text = q.text;
      const [vector] = await this.o.embed(model, [text]).catch((err: unknown) => {
        throw embedFailure(err, text);
      });
      return { vector: vector as Float32Array, model };
    }
    const dim = q.vector.length;
    let model = q.model;
    if (!model) {
      if (names.length === 0) throw new KnnError(400, "the index is empty: no model has any document yet");
      const same = names.filter((n) => models[n] === dim);
      if (names.length === 1) model = names[0] as string;
      else if (same.length === 1) model = same[0] as string;
      else
        throw new KnnError(
          400,
          `several models are indexed (${list}) and ${same.length === 0 ? "none" : "more than one"} has dimension ${dim}; say which with "model"`,
        );
    }
    if (models[model] !== dim)
      throw new KnnError(
        400,
        `query vector has dimension ${dim} but the index has ${models[model]} dimensions for model ${quote(model)}`,
      );
    return { vector: q.vector, model };
  }

  /**
   * One owner's answer: GET `path`, or POST `body` to it. A 4xx is the query's fault and fails
   * the whole query with the owner's reason; anything else that is not a 200 answer is this
   * owner's failure.
   */
  private async ask<T>(url: string, path: string, body?: unknown): Promise<Part<T>> {
    const started = performance.now();
    const took = () => performance.now() - started;
    let res: Response;
    try {
      res = await this.fetchFn(`${url}${path}`, {
        method: body === undefined ? "GET" : "POST",
        headers: {
          accept: "application/json",
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          ...(this.o.token ? { authorization: `Bearer ${this.o.token}` } : {}),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.o.timeoutMs),
      });
    } catch (err) {
      const e = err as Error;
      const error = e.name === "TimeoutError" ? `no answer within ${this.o.timeoutMs} ms` : e.message;
      this.o.log.warn("shard owner failed", { owner: url, error });
      return { url, ok: false, error, took_ms: took() };
    }
    let json: unknown;
    try {
      json = await res.json();
    } catch {
      json = undefined;
    }
    const reason =
      typeof (json as { error?: unknown } | undefined)?.error === "string"
        ? (json as { error: string }).error
        : `HTTP ${res.status}`;
    if (
      res.status >= 400 &&
      res.status < 500 &&
      res.status !== 401 &&
      res.status !== 403 &&
      res.status !== 404
    )
      throw new KnnError(res.status === 413 ? 413 : 400, reason);
    if (res.status !== 200 || json === undefined) {
      const error = res.status === 200 ? "invalid JSON" : `HTTP ${res.status}: ${reason}`;
      this.o.log.warn("shard owner failed", { owner: url, error });
      return { url, ok: false, error, took_ms: took() };
    }
    return { url, ok: true, value: json as T, took_ms: took() };
  }
}

function ownerPart<T>(p: Part<T>, shards: number[]): OwnerPart {
  return p.ok
    ? { url: p.url, ok: true, shards, took_ms: p.took_ms }
    : { url: p.url, ok: false, shards: [], error: p.error, took_ms: p.took_ms };
}

function onlyModel(names: string[]): string {
  if (names.length === 1) return names[0] as string;
  if (names.length === 0) throw new KnnError(400, "the index is empty");
  throw new KnnError(400, `the index holds several models (${names.join(", ")}): say which one with "model"`);
}
