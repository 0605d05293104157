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
}

/** Shard statistics (`GET /api/knn/shards`). */
export interface ShardStats {
  shards: { id: number; count: number; samples: string[] }[];
  total_ids: number;
  nonempty: number;
  dims_by_model: Record<string, number>;
  memory: Record<string, number>;
}
