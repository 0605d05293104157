/**
 * Vector arithmetic of the RL helpers: cosine similarity, unit copies, centroids, and
 * {@link VectorMemory}, a bounded store of unit vectors with an exact nearest-neighbour scan.
 * The norm is the pipeline's (`pipeline/contracts/vector.ts`).
 */
import type { Labels } from "../contracts/extract.ts";
import { normalizeInto } from "../contracts/vector.ts";

/** A copy of `v` scaled to unit length (float32); a zero or non-finite vector gives zeros. */
export function unitVector(v: ArrayLike<number>): Float32Array {
  const out = new Float32Array(v.length);
  const norm = normalizeInto(v, out);
  if (!(norm > 0) || !Number.isFinite(norm)) out.fill(0);
  return out;
}

function checkDims(a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length) throw new Error(`vector dimensions differ: ${a.length} and ${b.length}`);
}

/** Dot product of two vectors of the same dimension. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  checkDims(a, b);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

/**
 * Cosine similarity in [−1, 1]; 0 when either vector is zero (it has no direction).
 * Throws when the dimensions differ.
 */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  checkDims(a, b);
  const s = dot(unitVector(a), unitVector(b));
  return Math.max(-1, Math.min(1, s));
}

/** The mean of the unit copies of `vectors` (not itself unit length); null when there are none. */
export function centroid(vectors: readonly ArrayLike<number>[]): Float32Array | null {
  const first = vectors[0];
  if (!first) return null;
  const out = new Float32Array(first.length);
  for (const v of vectors) {
    checkDims(first, v);
    const u = unitVector(v);
    for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) + (u[i] as number) / vectors.length;
  }
  return out;
}

/** What a {@link VectorMemory} keeps beside each vector. */
export interface MemoryMeta {
  doc_id?: string | null;
  success?: boolean | null;
  labels?: Labels;
}

/** One answer of {@link VectorMemory.nearest}. */
export interface MemoryHit {
  doc_id: string | null;
  /** Cosine similarity, [−1, 1]. */
  score: number;
  success: boolean | null;
  labels: Labels;
  /** The stored unit vector (a view: copy it to keep it). */
  vector: Float32Array;
}

/**
 * A bounded store of unit vectors of one dimension, oldest evicted first once `capacity`
 * is reached, with an exact cosine scan (`nearest`, `maxSimilarity`). Vectors are stored as
 * unit float32 copies; a zero vector is stored as zeros (similarity 0 to everything).
 */
export class VectorMemory {
  private readonly data: Float32Array;
  private readonly meta: (MemoryMeta | undefined)[];
  /** Slot of the next write. */
  private head = 0;
  private count = 0;

  constructor(
    readonly dim: number,
    readonly capacity = 10_000,
  ) {
    if (!Number.isInteger(dim) || dim < 1) throw new Error(`dim must be a positive integer, got ${dim}`);
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new Error(`capacity must be a positive integer, got ${capacity}`);
    this.data = new Float32Array(dim * capacity);
    this.meta = new Array(capacity);
  }

  /** Vectors held (at most `capacity`). */
  get size(): number {
    return this.count;
  }

  /** Adds one vector (of dimension `dim`), evicting the oldest when full. */
  add(vector: ArrayLike<number>, meta?: MemoryMeta): void {
    if (vector.length !== this.dim)
      throw new Error(`vector has dimension ${vector.length}, the memory holds ${this.dim}`);
    this.data.set(unitVector(vector), this.head * this.dim);
    this.meta[this.head] = meta;
    this.head = (this.head + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
  }

  /** Slots oldest first. */
  private *slots(): Generator<number> {
    const start = (this.head - this.count + this.capacity) % this.capacity;
    for (let i = 0; i < this.count; i++) yield (start + i) % this.capacity;
  }

  private hit(slot: number, score: number): MemoryHit {
    const m = this.meta[slot];
    return {
      doc_id: m?.doc_id ?? null,
      score,
      success: m?.success ?? null,
      labels: m?.labels ?? {},
      vector: this.data.subarray(slot * this.dim, (slot + 1) * this.dim),
    };
  }

  private scoreAt(slot: number, q: Float32Array): number {
    let s = 0;
    const off = slot * this.dim;
    for (let i = 0; i < this.dim; i++) s += (this.data[off + i] as number) * (q[i] as number);
    return Math.max(-1, Math.min(1, s));
  }

  /**
   * The `k` stored vectors most similar to `query` (cosine, best first; ties: the newer
   * first), leaving out those whose doc_id is in `exclude`.
   */
  nearest(query: ArrayLike<number>, k: number, exclude?: ReadonlySet<string>): MemoryHit[] {
    if (query.length !== this.dim)
      throw new Error(`query has dimension ${query.length}, the memory holds ${this.dim}`);
    const q = unitVector(query);
    const top: { slot: number; score: number; age: number }[] = [];
    let age = 0;
    for (const slot of this.slots()) {
      age++;
      const id = this.meta[slot]?.doc_id;
      if (exclude && id != null && exclude.has(id)) continue;
      const score = this.scoreAt(slot, q);
      if (top.length < k || score >= (top[top.length - 1] as { score: number }).score) {
        top.push({ slot, score, age });
        top.sort((a, b) => b.score - a.score || b.age - a.age);
        if (top.length > k) top.pop();
      }
    }
    return top.map((t) => this.hit(t.slot, t.score));
  }

  /** The highest cosine similarity of `query` to a stored vector; null when the memory is empty. */
  maxSimilarity(query: ArrayLike<number>): number | null {
    const [best] = this.nearest(query, 1);
    return best ? best.score : null;
  }

  /** The `k` newest vectors, newest first (their `score` is 0: there is no query). */
  latest(k: number): MemoryHit[] {
    const out: MemoryHit[] = [];
    for (let i = 0; i < Math.min(k, this.count); i++) {
      const slot = (this.head - 1 - i + this.capacity) % this.capacity;
      out.push(this.hit(slot, 0));
    }
    return out;
  }

  /** Every stored vector, oldest first (views). */
  vectors(): Float32Array[] {
    return [...this.slots()].map((s) => this.data.subarray(s * this.dim, (s + 1) * this.dim));
  }

  clear(): void {
    this.head = 0;
    this.count = 0;
    this.meta.fill(undefined);
  }
}
