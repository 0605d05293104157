/**
 * The kNN query and its answers as they travel: `POST /api/knn/query` (or GET with the same
 * fields as parameters) and `GET /api/knn/shards`. The backend's engine answers them; the
 * console decodes them.
 */

import type { Labels, LabelValue } from "./extract.ts";

/**
 * A filter on what is stored with each vector: every key must match. `topic` matches the
 * source topic, `success` the derived success, any other key the label of that name; a value
 * matches when equal (strings exactly), an array when any of its values is equal.
 */
export type KnnFilter = Record<string, LabelValue | LabelValue[]>;

/**
 * Candidates per wanted neighbour that an int8 prefilter hands to exact float32 rescoring, by
 * default (`KNN_RESCORE_FACTOR`).
 */
export const DEFAULT_RESCORE_FACTOR = 4;

/** At most this many keys in a filter, and values per key. */
export const MAX_FILTER_KEYS = 32;
export const MAX_FILTER_VALUES = 256;

export interface KnnQuery {
  /** Model whose vectors are searched; may be omitted when it is unambiguous. */
  model?: string;
  vector?: ArrayLike<number>;
  doc_id?: string;
  /** 1..1000 (default 5). */
  k?: number;
  /** Restrict to these shards (default: every shard). */
  shards?: number[];
  /** With doc_id: include the document itself (default false). */
  include_self?: boolean;
  /** Only documents whose labels, topic or success match ({@link KnnFilter}). */
  filter?: KnnFilter;
  /** Score every row in float32 even where an int8 prefilter is on (default false). */
  exact?: boolean;
}

export interface Neighbor {
  doc_id: string;
  /** Cosine similarity. */
  score: number;
  model: string;
  topic: string | null;
  text: string;
  /** The document's labels ({} when it has none). */
  labels: Labels;
  success: boolean | null;
}

export interface KnnResult {
  neighbors: Neighbor[];
  count_scored: number;
  took_ms: number;
  model: string;
  /**
   * How the neighbours were found: `exact` (every row scored in float32) or `int8` (an int8
   * prefilter picked `rescored` candidates, whose float32 scores are the ones given).
   */
  search?: "exact" | "int8";
  /** With `search: "int8"`: candidates rescored exactly (over all owners, through a router). */
  rescored?: number;
  /**
   * The shards searched, when not every shard was (a backend owning some shards, or a router).
   * Absent when every shard of the index was searched by one backend.
   */
  shards?: number[];
  /**
   * True when some shards the query asked for could not be searched (an owner that did not
   * answer, or a backend that owns only some): the neighbours are the best of the others only.
   */
  partial?: boolean;
  /** With `partial`: the shards not searched. */
  missing_shards?: number[];
  /** Through a router: each owner's part. */
  owners?: OwnerPart[];
}

/** One owner's part in a routed answer (or in routed shard statistics). */
export interface OwnerPart {
  url: string;
  ok: boolean;
  /** The shards it answered for (none when it failed). */
  shards: number[];
  /** Why it failed. */
  error?: string;
  took_ms: number;
}

/** Bytes one vector of a model takes in a backend's memory. */
export interface VectorBytes {
  count: number;
  dim: number;
  /** The float32 row (the dimension padded to a multiple of 4 floats). */
  float32_bytes_per_vector: number;
  /** The int8 copy (components and scale, padded to 16 bytes); 0 without the int8 prefilter. */
  int8_bytes_per_vector: number;
}

/** Shard statistics (`GET /api/knn/shards`). */
export interface ShardStats {
  /** Every shard of the index; a backend owning some shards lists those only. */
  shards: { id: number; count: number; samples: string[] }[];
  total_ids: number;
  nonempty: number;
  dims_by_model: Record<string, number>;
  /**
   * `index_bytes` (vectors and bookkeeping held by the backend, summed over a router's owners),
   * `index_vectors`, `vector_bytes` (the rows alone), `bytes_per_vector` (float32 + int8 copy,
   * averaged over models), `redis_used_bytes` when Redis answered.
   */
  memory: Record<string, number>;
  /** Per model: documents and bytes per vector (float32 row, int8 copy). */
  vectors_by_model?: Record<string, VectorBytes>;
  /** True when some shards are not covered: a backend owning only some, or a router missing an owner. */
  partial?: boolean;
  missing_shards?: number[];
  /** Through a router: each owner's part. */
  owners?: OwnerPart[];
}

/**
 * A list of shard numbers written as ranges and single numbers, comma-separated, e.g. `0-3,7`
 * → [0, 1, 2, 3, 7] (sorted, without repeats). Throws an Error saying what is wrong.
 */
export function parseShardList(s: string): number[] {
  const out = new Set<number>();
  for (const part of s.split(",")) {
    const p = part.trim();
    if (p === "") continue;
    const m = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(p);
    if (!m) throw new Error(`not a shard or a range of shards: ${JSON.stringify(p)} (e.g. 0-3,7)`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) throw new Error(`range ${p} runs backwards`);
    if (to - from > 100_000) throw new Error(`range ${p} is too long`);
    for (let i = from; i <= to; i++) out.add(i);
  }
  if (out.size === 0) throw new Error("no shard given");
  return [...out].sort((a, b) => a - b);
}

/** Shard numbers as {@link parseShardList} reads them, runs written as ranges: [0,1,2,3,7] → `0-3,7`. */
export function formatShardList(shards: readonly number[]): string {
  const sorted = [...new Set(shards)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && (sorted[j + 1] as number) === (sorted[j] as number) + 1) j++;
    parts.push(i === j ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(",");
}

/** The shards of `wanted` that are not in `have`, sorted. */
export function shardsMissing(wanted: readonly number[], have: Iterable<number>): number[] {
  const got = new Set(have);
  return [...new Set(wanted)].filter((s) => !got.has(s)).sort((a, b) => a - b);
}
