/**
 * Types of the kNN engine and of the service the backend queries. The engine is pure
 * (typed arrays in process memory); the service adds loading from Redis and text queries.
 * The query and its answer, as they travel, are in `pipeline/contracts/knn.ts`.
 */
import type { Labels } from "../contracts/extract.ts";
import type { VectorBytes } from "../contracts/knn.ts";

/** One indexed document as the engine holds it. */
export interface IndexEntry {
  doc_id: string;
  model: string;
  vector: ArrayLike<number>;
  topic: string | null;
  /** Text or a bounded preview of it. */
  text: string;
  shard: number;
  /** The document's labels (default {}). */
  labels?: Labels;
  /** Derived success (default null). */
  success?: boolean | null;
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

/** A model's documents and the bytes of one vector (float32 row, int8 copy). */
export type ModelStats = VectorBytes;

export interface EngineStats {
  total: number;
  by_model: Record<string, ModelStats>;
  /** Bytes held by vectors and bookkeeping. */
  bytes: number;
  /** Bytes of the vectors' rows alone (float32 and int8 copies). */
  vector_bytes: number;
}
