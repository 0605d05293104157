/**
 * The kNN query and its answers as they travel: `POST /api/knn/query` (or GET with the same
 * fields as parameters) and `GET /api/knn/shards`. The backend's engine answers them; the
 * console decodes them.
 */

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
}

export interface Neighbor {
  doc_id: string;
  /** Cosine similarity. */
  score: number;
  model: string;
  topic: string | null;
  text: string;
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
