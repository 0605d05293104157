/** EMBED_CACHE_WARMUP: the newest rows of the worker's own Parquet output fill the cache at start. */
import { existsSync } from "node:fs";
import { latestRows } from "../io/parquet.ts";
import { cacheKey, type EmbeddingCache } from "./cache.ts";

interface WarmRow {
  text: string;
  model: string;
  normalized: boolean;
  vector: number[];
}

/** Loads up to `n` rows made by `model` with the same normalisation; returns how many were cached. */
export async function warmCache(
  cache: EmbeddingCache,
  dir: string,
  n: number,
  model: string,
  normalize: boolean,
): Promise<number> {
  if (!existsSync(dir)) return 0;
  const rows = await latestRows<WarmRow>(dir, n, "embeddings", {
    columns: ["text", "model", "normalized", "vector"],
  });
  let warmed = 0;
  for (const r of rows) {
    if (r.model !== model || r.normalized !== normalize) continue;
    cache.set(cacheKey(model, normalize, r.text), Float32Array.from(r.vector), r.normalized);
    warmed++;
  }
  return warmed;
}
