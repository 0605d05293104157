/**
 * LRU cache of embeddings with a TTL and a size cap, keyed by (model, normalize,
 * sha256(text)). Only successful embeddings are ever stored.
 */
import { sha256Hex } from "../contracts/extract.ts";

export interface CacheStats {
  size: number;
  hits: number;
  misses: number;
  evictions: number;
  expired: number;
}

export function cacheKey(model: string, normalize: boolean, text: string): string {
  return `${model}\u0000${normalize ? 1 : 0}\u0000${sha256Hex(text)}`;
}

export class EmbeddingCache {
  private readonly map = new Map<string, { vector: Float32Array; normalized: boolean; expires: number }>();
  private readonly s: CacheStats = { size: 0, hits: 0, misses: 0, evictions: 0, expired: 0 };

  constructor(
    private readonly max: number,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: string): { vector: Float32Array; normalized: boolean } | undefined {
    const e = this.map.get(key);
    if (!e) {
      this.s.misses++;
      return undefined;
    }
    this.map.delete(key);
    if (e.expires <= this.now()) {
      this.s.expired++;
      this.s.misses++;
      return undefined;
    }
    this.map.set(key, e); // most recently used last
    this.s.hits++;
    return e;
  }

  set(key: string, vector: Float32Array, normalized: boolean): void {
    if (this.max <= 0 || this.ttlMs <= 0) return;
    this.map.delete(key);
    this.map.set(key, { vector, normalized, expires: this.now() + this.ttlMs });
    while (this.map.size > this.max) {
      const oldest = this.map.keys().next().value as string;
      this.map.delete(oldest);
      this.s.evictions++;
    }
  }

  stats(): CacheStats {
    return { ...this.s, size: this.map.size };
  }
}
