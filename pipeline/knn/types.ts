/**
 * Contracts of the kNN engine and of the service the backend queries. The engine is pure
 * (typed arrays in process memory); the service adds loading from Redis and text queries.
 */

/** One indexed document as the engine holds it. */
export interface IndexEntry {
  doc_id: string;
  model: string;
  vector: ArrayLike<number>;
  topic: string | null;
  /** Text or a bounded preview of it. */
  text: string;
  shard: number;
}

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

/** An error a query answers with an HTTP status (400 bad input, 404 unknown doc_id). */
export class KnnError extends Error {
  constructor(
    readonly status: 400 | 404 | 413 | 502 | 503,
    message: string,
  ) {
    super(message);
    this.name = "KnnError";
  }
}

export interface ModelStats {
  count: number;
  dim: number;
}

export interface EngineStats {
  total: number;
  by_model: Record<string, ModelStats>;
  /** Bytes held by vectors and bookkeeping. */
  bytes: number;
}

/** Shard statistics (`GET /api/knn/shards`). */
export interface ShardStats {
  shards: { id: number; count: number; samples: string[] }[];
  total_ids: number;
  nonempty: number;
  dims_by_model: Record<string, number>;
  memory: Record<string, number>;
}
