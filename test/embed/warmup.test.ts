import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cacheKey, EmbeddingCache } from "../../pipeline/embed/cache.ts";
import { warmCache } from "../../pipeline/embed/warmup.ts";
import { createParquetSink, EMBEDDINGS_SCHEMA, type EmbeddingRow } from "../../pipeline/io/parquet.ts";

test("EMBED_CACHE_WARMUP loads the newest rows of the same model and normalisation from the worker's Parquet", async () => {
  const dir = mkdtempSync(join(tmpdir(), "rl-embeddings-warm-"));
  try {
    const sink = createParquetSink<EmbeddingRow, unknown>({
      dir,
      prefix: "embeddings",
      schema: EMBEDDINGS_SCHEMA,
      rollRows: 100,
      rollSec: 60,
    });
    const row = (text: string, model: string, normalized: boolean, i: number): EmbeddingRow => ({
      doc_id: `d${i}`,
      topic: "t",
      text,
      vector: [i, 1],
      dim: 2,
      model,
      normalized,
      kafka_ts: null,
      embedded_ts: 1_800_000_000 + i,
      source_topic: "embedding_input",
      source_partition: 0,
      source_offset: i,
    });
    await Promise.all([
      sink.append([
        row("old", "m", false, 0),
        row("other model", "x", false, 1),
        row("normalised", "m", true, 2),
      ]),
      sink.append([row("newest", "m", false, 3)]),
      sink.flush(),
    ]);
    await sink.close();

    const cache = new EmbeddingCache(100, 60_000);
    expect(await warmCache(cache, dir, 3, "m", false)).toBe(1); // of the newest 3 rows, one matches
    expect(Array.from(cache.get(cacheKey("m", false, "newest"))?.vector ?? [])).toEqual([3, 1]);
    expect(cache.get(cacheKey("m", false, "old"))).toBeUndefined(); // not among the newest 3

    const all = new EmbeddingCache(100, 60_000);
    expect(await warmCache(all, dir, 10, "m", false)).toBe(2);
    expect(await warmCache(new EmbeddingCache(10, 1000), join(dir, "missing"), 10, "m", false)).toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
