/**
 * The int8 prefilter: the quantiser's round trip, the int8 scan (SIMD and JavaScript) against a
 * plain loop, the engine's recall against exact search on a seeded set, and answers that equal
 * the exact ones where the candidates hold the exact top k (duplicates, ties, filters, removals).
 */
import { describe, expect, test } from "bun:test";
import type { KnnQuery } from "../../pipeline/contracts/knn.ts";
import { KnnEngine } from "../../pipeline/knn/engine.ts";
import { Int8Slab, int8RowBytes, type KernelBackend, quantizeInto } from "../../pipeline/knn/kernel.ts";
import { seededRandom } from "../../pipeline/rl/random.ts";

/** Seeded, so that failures reproduce. */
const rng = seededRandom;

function gaussian(rand: () => number, dim: number): number[] {
  return Array.from(
    { length: dim },
    () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand()),
  );
}

function unit(v: number[]): number[] {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

const entry = (doc_id: string, vector: number[], shard = 0, labels = {}) => ({
  doc_id,
  model: "m",
  vector,
  topic: null,
  text: "",
  shard,
  labels,
});

/** Both engines answer the query alike: the same ids in the same order, the same scores. */
function sameAnswer(e: KnnEngine, q: KnnQuery): void {
  const exact = e.query({ ...q, exact: true });
  const int8 = e.query(q);
  expect(exact.search).toBe("exact");
  expect(int8.neighbors.map((n) => n.doc_id)).toEqual(exact.neighbors.map((n) => n.doc_id));
  expect(int8.neighbors.map((n) => n.score)).toEqual(exact.neighbors.map((n) => n.score));
  expect(int8.count_scored).toBe(exact.count_scored);
}

describe("quantiser", () => {
  test("round trip: every component within half a step of the original, the largest exactly ±127", () => {
    const rand = rng(1);
    for (const dim of [1, 3, 100, 384]) {
      const v = unit(gaussian(rand, dim));
      const q = new Int8Array(dim);
      const s = quantizeInto(v, dim, q, 0);
      const max = Math.max(...v.map(Math.abs));
      expect(s).toBeCloseTo(max / 127, 6);
      expect(Math.max(...Array.from(q, Math.abs))).toBe(127);
      for (let i = 0; i < dim; i++)
        expect(Math.abs((q[i] as number) * s - (v[i] as number))).toBeLessThanOrEqual(s / 2 + 1e-7);
    }
    const zero = new Int8Array(4).fill(9);
    expect(quantizeInto([0, 0, 0, 0], 4, zero, 0)).toBe(0);
    expect(Array.from(zero)).toEqual([0, 0, 0, 0]);
  });

  test("row size: components and a float32 scale, padded to 16 bytes", () => {
    expect([1, 12, 13, 100, 384].map(int8RowBytes)).toEqual([16, 16, 32, 112, 400]);
  });

  for (const backend of ["wasm", "js"] as KernelBackend[]) {
    test(`${backend}: the int8 scan is scale × integer dot product, rows kept through growing`, () => {
      const rand = rng(2);
      for (const dim of [1, 5, 12, 60, 100, 384]) {
        const slab = new Int8Slab(backend, dim, 16);
        const rows = Array.from({ length: 40 }, () => unit(gaussian(rand, dim)));
        rows.slice(0, 16).forEach((v, r) => {
          slab.write(r, v);
        });
        slab.resize(40, 16);
        rows.slice(16).forEach((v, r) => {
          slab.write(16 + r, v);
        });
        slab.copyRow(39, 3); // as a removal moves the last row into the hole
        const q = unit(gaussian(rand, dim));
        slab.setQuery(q);
        slab.scores.fill(Number.NaN);
        slab.scan(2, 37);
        expect(slab.scores[0]).toBeNaN();
        for (let r = 2; r < 39; r++) {
          let dot = 0;
          for (let j = 0; j < dim; j++)
            dot += (slab.rows[r * slab.rowBytes + j] as number) * (slab.query[j] as number);
          expect(slab.scores[r]).toBeCloseTo(dot * slab.scale(r), 4);
          // …which approximates the cosine up to the query's scale
          const cos = (r === 3 ? (rows[39] as number[]) : (rows[r] as number[])).reduce(
            (a, x, j) => a + x * (q[j] as number),
            0,
          );
          const qs = Math.max(...q.map(Math.abs)) / 127;
          expect(Math.abs((slab.scores[r] as number) * qs - cos)).toBeLessThan(0.02);
        }
      }
    });
  }
});

describe("engine with the int8 prefilter", () => {
  test("recall@10 against exact search on a seeded clustered set is at least 0.99", () => {
    const rand = rng(3);
    const dim = 64;
    const centres = Array.from({ length: 40 }, () => gaussian(rand, dim));
    const e = new KnnEngine({ quantized: true });
    const near = (c: number[]) => c.map((x) => x + 0.6 * (gaussian(rand, 1)[0] as number));
    for (let i = 0; i < 4000; i++) e.upsert(entry(`d${i}`, near(centres[i % 40] as number[]), i % 4));
    let hits = 0;
    for (let i = 0; i < 50; i++) {
      const vector = near(centres[i % 40] as number[]);
      const exact = new Set(e.query({ vector, k: 10, exact: true }).neighbors.map((n) => n.doc_id));
      const r = e.query({ vector, k: 10 });
      expect(r.search).toBe("int8");
      expect(r.rescored).toBe(40);
      hits += r.neighbors.filter((n) => exact.has(n.doc_id)).length;
    }
    expect(hits / 500).toBeGreaterThanOrEqual(0.99);
  });

  test("duplicates and ties: the candidates hold the exact top k, ordered by doc_id among equal scores", () => {
    const rand = rng(4);
    const e = new KnnEngine({ quantized: true, rescoreFactor: 2 });
    const v = gaussian(rand, 32);
    // 300 copies of one vector (more than the 20 candidates), in shuffled id order, among noise
    const ids = Array.from({ length: 300 }, (_, i) => `dup-${String(i).padStart(3, "0")}`).sort(
      () => rand() - 0.5,
    );
    for (const id of ids) e.upsert(entry(id, v));
    for (let i = 0; i < 2000; i++) e.upsert(entry(`n${i}`, gaussian(rand, 32)));
    const r = e.query({ vector: v, k: 10 });
    expect(r.search).toBe("int8");
    expect(r.neighbors.map((n) => n.doc_id)).toEqual(Array.from({ length: 10 }, (_, i) => `dup-00${i}`));
    sameAnswer(e, { vector: v, k: 10 });
    sameAnswer(e, { doc_id: "dup-005", k: 10 });
    sameAnswer(e, { doc_id: "dup-005", k: 10, include_self: true });
  });

  test("the same answers as exact search with filters, shards, removals and replacements", () => {
    const rand = rng(5);
    const e = new KnnEngine({ quantized: true, rescoreFactor: 8 });
    for (let i = 0; i < 1500; i++)
      e.upsert(entry(`d${i}`, gaussian(rand, 24), i % 6, { agent: i % 3 === 0 ? "coder" : "planner" }));
    for (let i = 0; i < 1500; i += 7) e.remove(`d${i}`);
    for (let i = 1; i < 1500; i += 11)
      e.upsert(entry(`d${i}`, gaussian(rand, 24), i % 6, { agent: "coder" }));
    for (let i = 0; i < 20; i++) {
      // Clustered queries: each is close to one document, so the top 5 stand out.
      const near = e.get(`d${1 + 3 * i}`) ?? e.get(`d${2 + 3 * i}`);
      expect(near).toBeDefined();
      const vector = Array.from(near?.vector ?? [], (x) => x + 0.05 * (rand() - 0.5));
      sameAnswer(e, { vector, k: 5 });
      sameAnswer(e, { vector, k: 5, filter: { agent: "coder" } });
      sameAnswer(e, { vector, k: 5, shards: [1, 2] });
    }
    // A filter keeping fewer rows than the candidates rescores them all: exact by construction.
    const few = e.query({ vector: gaussian(rand, 24), k: 3, filter: { agent: "nobody" } });
    expect(few.neighbors).toEqual([]);
  });

  test("stats give the bytes per vector of both copies; k × factor ≥ rows scans exactly", () => {
    const e = new KnnEngine({ quantized: true });
    const rand = rng(6);
    for (let i = 0; i < 30; i++) e.upsert(entry(`d${i}`, gaussian(rand, 384)));
    expect(e.stats().by_model.m).toEqual({
      count: 30,
      dim: 384,
      float32_bytes_per_vector: 1536,
      int8_bytes_per_vector: 400,
    });
    expect(e.stats().vector_bytes).toBe(30 * (1536 + 400));
    expect(e.query({ vector: gaussian(rand, 384), k: 10 }).search).toBe("exact");
    expect(e.query({ vector: gaussian(rand, 384), k: 5 }).search).toBe("int8");
    expect(() => new KnnEngine({ quantized: true, rescoreFactor: 0 })).toThrow(RangeError);
  });

  test("exclude leaves a document out of a vector query as a doc_id query leaves itself out", () => {
    const rand = rng(7);
    const e = new KnnEngine({ quantized: true });
    for (let i = 0; i < 500; i++) e.upsert(entry(`d${i}`, gaussian(rand, 16)));
    const self = e.get("d42");
    const vector = Array.from(self?.vector ?? []);
    const byDoc = e.query({ doc_id: "d42", k: 7 });
    const byVector = e.query({ vector, k: 7 }, { exclude: "d42" });
    expect(byVector.neighbors).toEqual(byDoc.neighbors);
    expect(byVector.count_scored).toBe(byDoc.count_scored);
  });
});
