/**
 * The exact kNN engine: every document's vector, per model, in one contiguous float32 block,
 * unit-normalised at insert, and an exhaustive cosine scan per query. Pure and in-process (no
 * I/O); the service loads it from Redis and answers HTTP queries with it.
 *
 * Per model: a {@link VectorSlab} (rows of the model's dimension padded to a multiple of 4,
 * grown by doubling) and parallel arrays of doc_id, shard, topic, text and the original norm;
 * one `Map` finds any doc_id's model and row. Removal moves the last row into the hole, so it
 * is O(1) and rows stay dense. A query scores every row (or the rows of the requested shards)
 * with the SIMD kernel and keeps the best k in a small heap.
 *
 * With `quantized`, each model also keeps an int8 copy of its rows ({@link Int8Slab}: per-row
 * scale, about a quarter of the float32 bytes). A query then scans the int8 rows instead,
 * keeps the best k × `rescoreFactor` as candidates, and rescores those exactly in float32: the
 * answer's scores are the exact ones, and its neighbours are the exact top k whenever the
 * exact top k are among the candidates (recall measured by `npm run bench -- --only knn`).
 * `exact: true` in a query scans the float32 rows as without `quantized`.
 */

import type { Labels, LabelValue } from "../contracts/extract.ts";
import {
  DEFAULT_RESCORE_FACTOR,
  type KnnQuery,
  type KnnResult,
  MAX_FILTER_KEYS,
  MAX_FILTER_VALUES,
  type Neighbor,
} from "../contracts/knn.ts";
import { normalizeInto } from "../contracts/vector.ts";
import { defaultBackend, Int8Slab, type KernelBackend, strideOf, VectorSlab } from "./kernel.ts";
import { TopK } from "./topk.ts";
import { type EngineStats, type IndexEntry, KnnError, type ModelStats } from "./types.ts";

/** Largest `k` a query may ask for. */
export const MAX_K = 1000;
/** `k` when a query gives none. */
export const DEFAULT_K = 5;

/** Rows a model's slab starts with; it doubles from there and halves when a quarter full. */
const MIN_CAPACITY = 16;
/**
 * Estimated bytes per document beyond its vector and strings: three array slots, a Map entry
 * and its location object (with the string estimate below, within a few % of Bun's heap growth
 * for 1M documents).
 */
const ROW_OVERHEAD_BYTES = 3 * 8 + 48 + 32;
/** Estimated bytes of a string of n UTF-16 units. */
const stringBytes = (s: string | null): number => (s === null ? 0 : 24 + 2 * s.length);

/** An indexed document as {@link KnnEngine.get} returns it. */
export interface StoredEntry extends IndexEntry {
  /**
   * The stored unit vector (length = the model's dimension): a view into the engine's block,
   * valid until the next `upsert` or `remove`; copy it (`Float32Array.from`) to keep it.
   */
  vector: Float32Array;
  /** Euclidean norm of the vector as given to `upsert` (0 for a zero vector). */
  norm: number;
}

export interface KnnEngineOptions {
  /** Scoring kernel: "wasm" (SIMD, the default where available) or "js". */
  backend?: KernelBackend;
  /** Keep an int8 copy of the vectors and search it first, rescoring candidates exactly (default false). */
  quantized?: boolean;
  /** With `quantized`: candidates rescored per query = k × this (default {@link DEFAULT_RESCORE_FACTOR}). */
  rescoreFactor?: number;
}

export { DEFAULT_RESCORE_FACTOR };

/** What a query may add to {@link KnnQuery} inside the backend. */
export interface EngineQueryOptions {
  /** Leave this document out (as a doc_id query leaves itself out), e.g. for a router's owners. */
  exclude?: string;
  /** The engine's `rescoreFactor` for this query (the benchmark compares several). */
  rescoreFactor?: number;
}

/** One model's documents. */
class ModelIndex {
  readonly stride: number;
  readonly slab: VectorSlab;
  /** The int8 copy of the rows (with `quantized`). */
  readonly q8: Int8Slab | null;
  count = 0;
  readonly ids: string[] = [];
  readonly topics: (string | null)[] = [];
  readonly texts: string[] = [];
  readonly labels: Labels[] = [];
  readonly success: (boolean | null)[] = [];
  shards = new Int32Array(MIN_CAPACITY);
  norms = new Float64Array(MIN_CAPACITY);
  strings = 0;

  constructor(
    readonly name: string,
    readonly dim: number,
    backend: KernelBackend,
    quantized: boolean,
  ) {
    this.stride = strideOf(dim);
    this.slab = new VectorSlab(backend, this.stride, MIN_CAPACITY);
    this.q8 = quantized ? new Int8Slab(backend, dim, MIN_CAPACITY) : null;
  }

  get bytes(): number {
    return (
      this.slab.bytes +
      (this.q8?.bytes ?? 0) +
      this.shards.byteLength +
      this.norms.byteLength +
      this.strings +
      this.count * ROW_OVERHEAD_BYTES
    );
  }

  /** Appends an empty row and returns its index. */
  addRow(): number {
    if (this.count === this.slab.capacity) this.setCapacity(this.slab.capacity * 2);
    this.ids.push("");
    this.topics.push(null);
    this.texts.push("");
    this.labels.push(NO_LABELS);
    this.success.push(null);
    return this.count++;
  }

  /** Writes entry `e` (already validated; `unit` its normalised vector) into row `row`. */
  write(row: number, e: IndexEntry, norm: number, unit: Float64Array): void {
    const o = row * this.stride;
    this.slab.vectors.set(unit, o);
    this.slab.vectors.fill(0, o + this.dim, o + this.stride);
    this.q8?.write(row, unit);
    this.strings -=
      stringBytes(this.ids[row] as string) +
      stringBytes(this.topics[row] as string | null) +
      stringBytes(this.texts[row] as string) +
      labelBytes(this.labels[row] as Labels);
    const topic = e.topic ?? null;
    const labels = e.labels ?? NO_LABELS;
    this.ids[row] = e.doc_id;
    this.topics[row] = topic;
    this.texts[row] = e.text;
    this.labels[row] = labels;
    this.success[row] = e.success ?? null;
    this.strings += stringBytes(e.doc_id) + stringBytes(topic) + stringBytes(e.text) + labelBytes(labels);
    this.shards[row] = e.shard;
    this.norms[row] = norm;
  }

  /** Removes row `row` by moving the last row into it; returns the doc_id moved (or null). */
  removeRow(row: number): string | null {
    const last = this.count - 1;
    this.strings -=
      stringBytes(this.ids[row] as string) +
      stringBytes(this.topics[row] as string | null) +
      stringBytes(this.texts[row] as string) +
      labelBytes(this.labels[row] as Labels);
    let moved: string | null = null;
    if (row !== last) {
      const s = this.stride;
      this.slab.vectors.copyWithin(row * s, last * s, last * s + s);
      this.q8?.copyRow(last, row);
      this.ids[row] = this.ids[last] as string;
      this.topics[row] = this.topics[last] as string | null;
      this.texts[row] = this.texts[last] as string;
      this.labels[row] = this.labels[last] as Labels;
      this.success[row] = this.success[last] as boolean | null;
      this.shards[row] = this.shards[last] as number;
      this.norms[row] = this.norms[last] as number;
      moved = this.ids[row] as string;
    }
    this.ids.pop();
    this.topics.pop();
    this.texts.pop();
    this.labels.pop();
    this.success.pop();
    this.count = last;
    const cap = this.slab.capacity;
    if (cap > MIN_CAPACITY && this.count <= cap / 4) this.setCapacity(Math.max(MIN_CAPACITY, cap / 2));
    return moved;
  }

  private setCapacity(capacity: number): void {
    this.slab.resize(capacity, this.count);
    this.q8?.resize(capacity, this.count);
    const shards = new Int32Array(capacity);
    shards.set(this.shards.subarray(0, this.count));
    this.shards = shards;
    const norms = new Float64Array(capacity);
    norms.set(this.norms.subarray(0, this.count));
    this.norms = norms;
  }
}

interface Location {
  index: ModelIndex;
  row: number;
}

const bad = (message: string): KnnError => new KnnError(400, message);
const quote = (s: string): string => JSON.stringify(s);

/**
 * Checks that `vector` is a non-empty array of finite numbers and writes it scaled to unit
 * length into `out` (a zero vector stays zero); returns its norm. Dividing by the largest
 * component first keeps huge and subnormal values finite. Writing into a separate buffer also
 * keeps a vector that is a view into the engine's own memory (from `get`) valid while the
 * slab grows.
 */
function normalise(vector: unknown, what: string, out: Float64Array): number {
  if (
    vector === null ||
    typeof vector !== "object" ||
    typeof (vector as ArrayLike<number>).length !== "number"
  )
    throw bad(`${what} must be an array of numbers`);
  const v = vector as ArrayLike<unknown>;
  if (v.length === 0) throw bad(`${what} is empty`);
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (typeof x !== "number" || !Number.isFinite(x))
      throw bad(`${what}[${i}] is not a finite number (${String(x)})`);
  }
  return normalizeInto(v as ArrayLike<number>, out);
}

/**
 * Exact cosine kNN over in-memory vectors, per model.
 *
 * ```ts
 * const engine = new KnnEngine();
 * engine.upsert({ doc_id: "a", model: "hash-384", vector, topic: null, text: "…", shard: 0 });
 * const { neighbors } = engine.query({ doc_id: "a", k: 10 });
 * ```
 */
export class KnnEngine {
  /** The scoring kernel in use. */
  readonly backend: KernelBackend;
  /** Whether each model keeps an int8 copy searched first. */
  readonly quantized: boolean;
  /** Candidates per neighbour rescored exactly after the int8 scan. */
  readonly rescoreFactor: number;
  private readonly indexes = new Map<string, ModelIndex>();
  private readonly where = new Map<string, Location>();
  /** The normalised vector being inserted or searched for. */
  private scratch = new Float64Array(1024);

  constructor(options: KnnEngineOptions = {}) {
    this.backend = options.backend ?? defaultBackend();
    this.quantized = options.quantized ?? false;
    this.rescoreFactor = options.rescoreFactor ?? DEFAULT_RESCORE_FACTOR;
    if (!Number.isInteger(this.rescoreFactor) || this.rescoreFactor < 1)
      throw new RangeError(`rescoreFactor must be an integer ≥ 1 (got ${this.rescoreFactor})`);
  }

  /** Number of documents, all models together. */
  get size(): number {
    return this.where.size;
  }

  /** The models holding at least one document, sorted. */
  models(): string[] {
    return [...this.indexes.keys()].sort();
  }

  /**
   * Inserts a document or replaces the one with the same doc_id (also when it moves to
   * another model: it leaves the old one). The vector is stored unit-normalised (a zero vector
   * as zeros). The first document of a model fixes the model's dimension; a model that loses
   * its last document is forgotten, dimension included.
   *
   * @throws KnnError 400 for a blank doc_id or model, a shard that is not a 32-bit integer, a
   *   topic that is not a string or null, a text that is not a string, an empty or non-finite
   *   vector, or a vector whose dimension differs from the model's (the message names both).
   *   Nothing is changed when it throws.
   */
  upsert(e: IndexEntry): void {
    if (e === null || typeof e !== "object") throw bad("entry must be an object");
    if (typeof e.doc_id !== "string" || e.doc_id === "") throw bad("doc_id must be a non-empty string");
    if (typeof e.model !== "string" || e.model === "") throw bad("model must be a non-empty string");
    if (!Number.isInteger(e.shard) || e.shard < -(2 ** 31) || e.shard >= 2 ** 31)
      throw bad(`shard must be a 32-bit integer (got ${String(e.shard)})`);
    if (e.topic !== null && e.topic !== undefined && typeof e.topic !== "string")
      throw bad("topic must be a string or null");
    if (typeof e.text !== "string") throw bad("text must be a string");
    const { unit, norm } = this.normalised(e.vector, `vector of doc_id ${quote(e.doc_id)}`);
    const dim = unit.length;
    let index = this.indexes.get(e.model);
    if (index && index.dim !== dim)
      throw bad(
        `vector of doc_id ${quote(e.doc_id)} has dimension ${dim} but the index has ${index.dim} dimensions for model ${quote(e.model)}`,
      );
    const at = this.where.get(e.doc_id);
    if (at && at.index === index) {
      index.write(at.row, e, norm, unit);
      return;
    }
    if (at) this.remove(e.doc_id);
    if (!index) {
      index = new ModelIndex(e.model, dim, this.backend, this.quantized);
      this.indexes.set(e.model, index);
    }
    const row = index.addRow();
    index.write(row, e, norm, unit);
    this.where.set(e.doc_id, { index, row });
  }

  /** Removes a document in O(1); false when the doc_id is not indexed. */
  remove(doc_id: string): boolean {
    const at = this.where.get(doc_id);
    if (!at) return false;
    this.where.delete(doc_id);
    const moved = at.index.removeRow(at.row);
    if (moved !== null) {
      const m = this.where.get(moved);
      if (m) m.row = at.row;
    }
    if (at.index.count === 0) this.indexes.delete(at.index.name);
    return true;
  }

  /** Removes every document of every model. */
  clear(): void {
    this.indexes.clear();
    this.where.clear();
  }

  /**
   * A document as stored, without copying its vector (see {@link StoredEntry.vector}), or
   * undefined when the doc_id is not indexed.
   */
  get(doc_id: string): StoredEntry | undefined {
    const at = this.where.get(doc_id);
    if (!at) return undefined;
    const { index, row } = at;
    const o = row * index.stride;
    return {
      doc_id,
      model: index.name,
      vector: index.slab.vectors.subarray(o, o + index.dim),
      norm: index.norms[row] as number,
      topic: index.topics[row] as string | null,
      text: index.texts[row] as string,
      shard: index.shards[row] as number,
      labels: index.labels[row] as Labels,
      success: index.success[row] as boolean | null,
    };
  }

  /** Document count and dimension per model, and the bytes held (vectors plus an estimate of the rest). */
  stats(): EngineStats {
    const by_model: Record<string, ModelStats> = {};
    let bytes = 0;
    let vectorBytes = 0;
    for (const name of this.models()) {
      const index = this.indexes.get(name) as ModelIndex;
      const float32 = index.slab.rowBytes;
      const int8 = index.q8?.rowBytes ?? 0;
      by_model[name] = {
        count: index.count,
        dim: index.dim,
        float32_bytes_per_vector: float32,
        int8_bytes_per_vector: int8,
      };
      bytes += index.bytes;
      vectorBytes += index.count * (float32 + int8);
    }
    return { total: this.where.size, by_model, bytes, vector_bytes: vectorBytes };
  }

  /**
   * The k documents most similar (cosine) to a vector or to an indexed document, among every
   * document of the model (or only those in `shards`), best first; equal scores by doc_id.
   *
   * The model is `q.model` when given; else the model of `q.doc_id`; else the only model; else
   * the one model whose dimension equals the vector's length. A doc_id query leaves the
   * document itself out unless `include_self`. `count_scored` counts the documents compared.
   *
   * @throws KnnError 400 when neither or both of vector and doc_id are given, k is not an
   *   integer in 1..1000, shards is not an array of integers, the model is unknown or cannot
   *   be told, or the vector is empty, has non-finite numbers or the wrong dimension;
   *   404 when the doc_id is not indexed (under `q.model`, when given).
   */
  query(q: KnnQuery, opts: EngineQueryOptions = {}): KnnResult {
    const started = performance.now();
    if (q === null || typeof q !== "object") throw bad("query must be an object");
    const k = q.k ?? DEFAULT_K;
    if (typeof k !== "number" || !Number.isInteger(k) || k < 1 || k > MAX_K)
      throw bad(`k must be an integer from 1 to ${MAX_K} (got ${String(k)})`);
    const hasVector = q.vector !== undefined && q.vector !== null;
    const hasDoc = q.doc_id !== undefined && q.doc_id !== null;
    if (!hasVector && !hasDoc) throw bad('give a "vector" or a "doc_id" to search from');
    if (hasVector && hasDoc) throw bad('give either "vector" or "doc_id", not both');
    if (hasDoc && typeof q.doc_id !== "string") throw bad("doc_id must be a string");
    if (q.model !== undefined && q.model !== null && typeof q.model !== "string")
      throw bad("model must be a string");
    const shards = q.shards ?? null;
    if (shards !== null && (!Array.isArray(shards) || !shards.every((s) => Number.isInteger(s))))
      throw bad("shards must be an array of integers");
    const match = q.filter === undefined || q.filter === null ? null : filterOf(q.filter);
    const unit = hasVector ? this.normalised(q.vector, "vector").unit : undefined;

    const doc = hasDoc ? this.where.get(q.doc_id as string) : undefined;
    const index = this.resolve(q, doc);
    const query = index.slab.query;
    let self = -1;
    if (opts.exclude !== undefined) {
      const ex = this.where.get(opts.exclude);
      if (ex && ex.index === index) self = ex.row;
    }
    if (hasDoc) {
      if (!doc) throw new KnnError(404, `unknown doc_id ${quote(q.doc_id as string)}`);
      if (doc.index !== index)
        throw new KnnError(
          404,
          `doc_id ${quote(q.doc_id as string)} is not indexed under model ${quote(index.name)} (it is under ${quote(doc.index.name)})`,
        );
      const o = doc.row * index.stride;
      query.set(index.slab.vectors.subarray(o, o + index.stride));
      if (!q.include_self) self = doc.row;
    } else {
      const v = unit as Float64Array;
      if (v.length !== index.dim)
        throw bad(
          `query vector has dimension ${v.length} but the index has ${index.dim} dimensions for model ${quote(index.name)}`,
        );
      query.set(v);
      query.fill(0, index.dim);
    }

    const top = new TopK(k, index.ids);
    const n = index.count;
    const inShards = shards === null ? null : shardFilter(shards);
    const rowShards = index.shards;
    const allowed =
      inShards === null && match === null
        ? null
        : (row: number) =>
            (inShards === null || inShards(rowShards[row] as number)) &&
            (match === null ||
              match(
                index.labels[row] as Labels,
                index.topics[row] as string | null,
                index.success[row] as boolean | null,
              ));
    // A label filter selects scattered rows: scoring all of them in one scan (bandwidth-bound)
    // and offering only the allowed ones is cheaper than a scan per short run. With shards
    // (alone or with a filter) only the allowed runs are scanned.
    const scanAll = match !== null && inShards === null;
    const candidates = k * (opts.rescoreFactor ?? this.rescoreFactor);
    let scored: number;
    let rescored: number | undefined;
    if (index.q8 && !q.exact && candidates < n - (self >= 0 ? 1 : 0)) {
      // int8 prefilter: the best `candidates` by the int8 scan, then their exact float32 scores.
      index.q8.setQuery(query.subarray(0, index.dim));
      const approx = new TopK(candidates, index.ids, false);
      scored = offerAll(index.q8, approx, n, allowed, scanAll, self);
      const rows = approx.keptRows();
      for (const row of rows) index.slab.scan(row, 1);
      top.offerRows(index.slab.scores, rows);
      rescored = rows.length;
    } else {
      scored = offerAll(index.slab, top, n, allowed, scanAll, self);
    }
    if (self >= 0 && (allowed === null || allowed(self))) scored--;

    const neighbors: Neighbor[] = top.sorted().map(({ row, score }) => ({
      doc_id: index.ids[row] as string,
      score,
      model: index.name,
      topic: index.topics[row] as string | null,
      text: index.texts[row] as string,
      labels: index.labels[row] as Labels,
      success: index.success[row] as boolean | null,
    }));
    return {
      neighbors,
      count_scored: scored,
      took_ms: performance.now() - started,
      model: index.name,
      search: rescored === undefined ? "exact" : "int8",
      ...(rescored === undefined ? {} : { rescored }),
    };
  }

  /** `vector` validated and normalised into the scratch buffer, and its norm. */
  private normalised(vector: unknown, what: string): { unit: Float64Array; norm: number } {
    const length = (vector as { length?: unknown } | null)?.length;
    if (typeof length === "number" && length > this.scratch.length)
      this.scratch = new Float64Array(Math.max(length, 2 * this.scratch.length));
    const norm = normalise(vector, what, this.scratch);
    return { unit: this.scratch.subarray(0, (vector as ArrayLike<number>).length), norm };
  }

  /** The model a query searches (see {@link query}). */
  private resolve(q: KnnQuery, doc: Location | undefined): ModelIndex {
    if (typeof q.model === "string") {
      const index = this.indexes.get(q.model);
      if (!index) throw bad(`unknown model ${quote(q.model)}; indexed models: ${this.modelList()}`);
      return index;
    }
    if (q.doc_id !== undefined && q.doc_id !== null) {
      if (!doc) throw new KnnError(404, `unknown doc_id ${quote(q.doc_id)}`);
      return doc.index;
    }
    if (this.indexes.size === 0) throw bad("the index is empty: no model has any document yet");
    const all = [...this.indexes.values()];
    if (all.length === 1) return all[0] as ModelIndex;
    const length = (q.vector as ArrayLike<number>).length;
    const same = all.filter((i) => i.dim === length);
    if (same.length === 1) return same[0] as ModelIndex;
    throw bad(
      `several models are indexed (${this.modelList()}) and ${same.length === 0 ? "none" : "more than one"} has dimension ${length}; say which with "model"`,
    );
  }

  private modelList(): string {
    const names = this.models();
    if (names.length === 0) return "none";
    return names.map((n) => `${n} (dim ${this.indexes.get(n)?.dim})`).join(", ");
  }
}

/** A membership test for a list of shard numbers: a lookup table when they are close together. */
const NO_LABELS: Labels = Object.freeze({}) as Labels;

/** An estimate of the bytes a labels object holds. */
function labelBytes(labels: Labels): number {
  let n = 0;
  for (const k in labels) {
    const v = labels[k];
    n += 2 * k.length + (typeof v === "string" ? 2 * v.length : 8) + 16;
  }
  return n;
}

const isScalar = (v: unknown): v is LabelValue =>
  v === null ||
  typeof v === "string" ||
  typeof v === "boolean" ||
  (typeof v === "number" && Number.isFinite(v));

/**
 * The predicate of a {@link KnnFilter}, or a 400 naming what is wrong with it.
 */
export function filterOf(
  filter: unknown,
): (labels: Labels, topic: string | null, success: boolean | null) => boolean {
  if (typeof filter !== "object" || filter === null || Array.isArray(filter))
    throw bad('filter must be an object of label → value (or array of values), e.g. {"success": true}');
  const entries = Object.entries(filter as Record<string, unknown>);
  if (entries.length > MAX_FILTER_KEYS)
    throw bad(`filter has ${entries.length} keys; at most ${MAX_FILTER_KEYS}`);
  const tests: [string, LabelValue[]][] = entries.map(([k, v]) => {
    const values = Array.isArray(v) ? v : [v];
    if (Array.isArray(v) && v.length === 0) throw bad(`filter.${k}: an empty list matches nothing`);
    if (values.length > MAX_FILTER_VALUES)
      throw bad(`filter.${k}: ${values.length} values; at most ${MAX_FILTER_VALUES}`);
    for (const x of values) {
      if (!isScalar(x)) throw bad(`filter.${k}: values must be strings, finite numbers, booleans or null`);
    }
    return [k, values as LabelValue[]];
  });
  // Tight loops: this runs once per row of the model.
  const keys = tests.map(([k]) => k);
  const kinds = keys.map((k) => (k === "topic" ? 1 : k === "success" ? 2 : 0));
  const sets = tests.map(([, values]) => new Set(values));
  const firsts = tests.map(([, values]) => values[0]);
  const singles = tests.map(([, values]) => values.length === 1);
  const count = keys.length;
  return (labels, topic, success) => {
    for (let i = 0; i < count; i++) {
      const kind = kinds[i];
      const have = kind === 1 ? topic : kind === 2 ? success : labels[keys[i] as string];
      if (have === undefined) return false;
      if (singles[i] ? have !== firsts[i] : !(sets[i] as Set<LabelValue>).has(have)) return false;
    }
    return true;
  };
}

/**
 * Scores the rows `allowed` lets through (every row when null) with `slab` and offers them to
 * `top`, skipping row `skip`; `scanAll` scores all rows in one scan even when only some are
 * allowed. Returns the rows offered (`skip` included when allowed).
 */
function offerAll(
  slab: VectorSlab | Int8Slab,
  top: TopK,
  n: number,
  allowed: ((row: number) => boolean) | null,
  scanAll: boolean,
  skip: number,
): number {
  if (allowed === null) {
    slab.scan(0, n);
    top.offerRange(slab.scores, 0, n, skip);
    return n;
  }
  if (scanAll) slab.scan(0, n);
  let scored = 0;
  let r = 0;
  while (r < n) {
    while (r < n && !allowed(r)) r++;
    const from = r;
    while (r < n && allowed(r)) r++;
    if (r > from) {
      if (!scanAll) slab.scan(from, r - from);
      top.offerRange(slab.scores, from, r, skip);
      scored += r - from;
    }
  }
  return scored;
}

function shardFilter(shards: number[]): (shard: number) => boolean {
  if (shards.length === 0) return () => false;
  let lo = shards[0] as number;
  let hi = lo;
  for (const s of shards) {
    if (s < lo) lo = s;
    if (s > hi) hi = s;
  }
  if (hi - lo < 1 << 16) {
    const table = new Uint8Array(hi - lo + 1);
    for (const s of shards) table[s - lo] = 1;
    return (s) => s >= lo && s <= hi && table[s - lo] === 1;
  }
  const set = new Set(shards);
  return (s) => set.has(s);
}
