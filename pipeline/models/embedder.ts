/** The contract every model implements, and small vector helpers shared by them. */

/**
 * A sentence embedder. `embed` is pure: the same text always gives the same vector, in any
 * process. Every vector has length `dim`, finite components, and unit L2 norm when
 * `normalized` is true. Models computed in this thread answer at once ({@link SyncEmbedder});
 * models run by onnxruntime answer with a promise.
 */
export interface Embedder {
  readonly name: string;
  readonly dim: number;
  /** Whether every vector `embed` returns has unit L2 norm. */
  readonly normalized: boolean;
  embed(texts: string[]): Float32Array[] | Promise<Float32Array[]>;
}

/** An embedder whose vectors are computed synchronously (hash, GloVe + SIF). */
export interface SyncEmbedder extends Embedder {
  embed(texts: string[]): Float32Array[];
}

/** Scales `v` in place to unit L2 norm; returns false (and leaves it) when it is all zeros. */
export function normalizeInPlace(v: Float32Array): boolean {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += (v[i] as number) * (v[i] as number);
  if (!(sum > 0) || !Number.isFinite(sum)) return false;
  const inv = 1 / Math.sqrt(sum);
  for (let i = 0; i < v.length; i++) v[i] = (v[i] as number) * inv;
  return true;
}

/** Cosine similarity; 0 when either vector is all zeros. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}
