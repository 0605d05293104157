import { describe, expect, test } from "bun:test";
import type { KnnQuery } from "../../pipeline/contracts/knn.ts";
import { KnnEngine, MAX_K } from "../../pipeline/knn/engine.ts";
import { defaultBackend, type KernelBackend } from "../../pipeline/knn/kernel.ts";
import { type IndexEntry, KnnError } from "../../pipeline/knn/types.ts";

/** Deterministic PRNG (mulberry32) so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomVector(rand: () => number, dim: number): number[] {
  // Varied norms (not unit) so normalisation at insert is exercised.
  const scale = 0.01 + rand() * 10;
  return Array.from({ length: dim }, () => (rand() * 2 - 1) * scale);
}

/** Cosine in double precision from the original vectors: the reference the engine must match. */
function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
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
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

const TOL = 1e-5;

/** The engine plus a plain Map of what it should hold. */
class Mirror {
  readonly docs = new Map<string, IndexEntry>();
  constructor(readonly engine: KnnEngine) {}

  upsert(e: IndexEntry): void {
    this.engine.upsert(e);
    this.docs.set(e.doc_id, { ...e, vector: Array.from(e.vector) });
  }

  remove(id: string): void {
    expect(this.engine.remove(id)).toBe(this.docs.delete(id));
  }

  /** Runs the query and checks it against brute force over the mirror. */
  check(q: KnnQuery): void {
    const res = this.engine.query(q);
    const self = q.doc_id === undefined ? undefined : this.docs.get(q.doc_id);
    const model = q.model ?? self?.model ?? res.model;
    expect(res.model).toBe(model);
    const qv = q.vector ?? (self as IndexEntry).vector;
    const candidates = [...this.docs.values()].filter(
      (d) =>
        d.model === model &&
        (q.shards === undefined || q.shards.includes(d.shard)) &&
        (q.include_self || d.doc_id !== q.doc_id),
    );
    const expected = candidates
      .map((d) => ({ id: d.doc_id, score: cosine(qv, d.vector) }))
      .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
    const k = q.k ?? 5;
    expect(res.count_scored).toBe(candidates.length);
    expect(res.neighbors.length).toBe(Math.min(k, candidates.length));
    const refScore = new Map(expected.map((e) => [e.id, e.score]));
    const seen = new Set<string>();
    res.neighbors.forEach((n, i) => {
      // Same score sequence as brute force, and each returned doc really has its score.
      expect(Math.abs(n.score - (expected[i]?.score ?? Number.NaN))).toBeLessThan(TOL);
      expect(Math.abs(n.score - (refScore.get(n.doc_id) ?? Number.NaN))).toBeLessThan(TOL);
      expect(n.score).toBeGreaterThanOrEqual(-1);
      expect(n.score).toBeLessThanOrEqual(1);
      expect(n.model).toBe(model);
      const d = this.docs.get(n.doc_id) as IndexEntry;
      expect(n.text).toBe(d.text);
      expect(n.topic).toBe(d.topic);
      expect(seen.has(n.doc_id)).toBe(false);
      seen.add(n.doc_id);
      if (i > 0) expect(n.score).toBeLessThanOrEqual((res.neighbors[i - 1] as { score: number }).score);
    });
    // Nothing left out scores better than the last one returned.
    const last = res.neighbors.at(-1)?.score ?? Number.POSITIVE_INFINITY;
    for (const e of expected) if (!seen.has(e.id)) expect(e.score).toBeLessThanOrEqual(last + TOL);
    expect(res.took_ms).toBeGreaterThanOrEqual(0);
  }
}

function entry(doc_id: string, model: string, vector: ArrayLike<number>, shard = 0): IndexEntry {
  return {
    doc_id,
    model,
    vector,
    topic: shard % 2 ? `topic-${shard}` : null,
    text: `text of ${doc_id}`,
    shard,
  };
}

function knnError(fn: () => unknown): KnnError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(KnnError);
    return err as KnnError;
  }
  throw new Error("expected a KnnError");
}

test("WebAssembly SIMD is available here, so the engine uses the fast kernel by default", () => {
  expect(defaultBackend()).toBe("wasm");
  expect(new KnnEngine().backend).toBe("wasm");
});

for (const backend of ["wasm", "js"] as KernelBackend[]) {
  describe(`exact results (${backend} kernel)`, () => {
    for (const dim of [1, 3, 7, 16, 100, 384]) {
      test(`dim ${dim}: brute-force equal for several k, shard filters, after removals and replacements`, () => {
        const rand = rng(dim * 7919 + (backend === "js" ? 1 : 0));
        const m = new Mirror(new KnnEngine({ backend }));
        const n = dim >= 100 ? 700 : 300;
        for (let i = 0; i < n; i++) m.upsert(entry(`d${i}`, "m", randomVector(rand, dim), i % 5));
        const queries = () => {
          for (const k of [1, 5, 10, 50]) {
            m.check({ vector: randomVector(rand, dim), k });
            m.check({ vector: randomVector(rand, dim), k, shards: [1, 3] });
            m.check({ vector: randomVector(rand, dim), k, shards: [4] });
            const ids = [...m.docs.keys()];
            const id = ids[Math.floor(rand() * ids.length)] as string;
            m.check({ doc_id: id, k });
            m.check({ doc_id: id, k, include_self: true });
            m.check({ doc_id: id, k, shards: [0, 2, 4] });
          }
          m.check({ vector: randomVector(rand, dim), k: MAX_K });
          m.check({ vector: randomVector(rand, dim), shards: [] });
          m.check({ vector: randomVector(rand, dim), shards: [99] });
        };
        queries();
        // Remove a third (swap-with-last keeps rows dense), replace a third in place (new
        // vectors, shards, texts), add some new ones: still exact.
        for (let i = 0; i < n; i += 3) m.remove(`d${i}`);
        for (let i = 1; i < n; i += 3) {
          m.upsert({ ...entry(`d${i}`, "m", randomVector(rand, dim), (i + 1) % 5), text: `new ${i}` });
        }
        for (let i = n; i < n + 50; i++) m.upsert(entry(`d${i}`, "m", randomVector(rand, dim), i % 5));
        expect(m.engine.size).toBe(m.docs.size);
        queries();
      });
    }

    test("doc_id queries leave the document out unless include_self", () => {
      const e = new KnnEngine({ backend });
      const rand = rng(5);
      for (let i = 0; i < 50; i++) e.upsert(entry(`d${i}`, "m", randomVector(rand, 32)));
      const without = e.query({ doc_id: "d7", k: 50 });
      expect(without.neighbors.map((n) => n.doc_id)).not.toContain("d7");
      expect(without.neighbors.length).toBe(49);
      expect(without.count_scored).toBe(49);
      const withSelf = e.query({ doc_id: "d7", k: 3, include_self: true });
      expect(withSelf.neighbors[0]?.doc_id).toBe("d7");
      expect(withSelf.neighbors[0]?.score).toBeCloseTo(1, 5);
      expect(withSelf.count_scored).toBe(50);
      // A doc outside the shard filter is not counted or returned either way.
      const filtered = e.query({ doc_id: "d7", k: 3, include_self: true, shards: [1] });
      expect(filtered.count_scored).toBe(0);
      expect(filtered.neighbors).toEqual([]);
    });

    test("scores are cosine in [-1, 1]: same direction 1, opposite -1, orthogonal 0", () => {
      const e = new KnnEngine({ backend });
      const v = Array.from({ length: 384 }, (_, i) => Math.sin(i + 1) * 3);
      e.upsert(
        entry(
          "same",
          "m",
          v.map((x) => x * 1e6),
        ),
      );
      e.upsert(
        entry(
          "opposite",
          "m",
          v.map((x) => -x / 1e6),
        ),
      );
      const orth = v.map((_, i) => (i % 2 ? 1 : -1) * Math.abs(v[i ^ 1] as number));
      e.upsert(entry("orthogonal", "m", orth));
      const r = e.query({ vector: v, k: 3 });
      const by = Object.fromEntries(r.neighbors.map((n) => [n.doc_id, n.score]));
      expect(by.same).toBeCloseTo(1, 6);
      expect(by.same).toBeLessThanOrEqual(1);
      expect(by.opposite).toBeCloseTo(-1, 6);
      expect(by.opposite).toBeGreaterThanOrEqual(-1);
      expect(Math.abs(cosine(v, orth) - (by.orthogonal as number))).toBeLessThan(TOL);
    });

    test("huge and tiny finite components normalise without overflow", () => {
      const e = new KnnEngine({ backend });
      e.upsert(entry("huge", "m", [1e300, 1e300, 0, 0]));
      e.upsert(entry("tiny", "m", [5e-320, 0, 5e-320, 0]));
      expect(e.get("huge")?.norm).toBeCloseTo(Math.SQRT2 * 1e300, -290);
      const r = e.query({ vector: [1, 1, 1, 0], k: 2 });
      expect(r.neighbors.map((n) => n.doc_id)).toEqual(["huge", "tiny"]);
      expect(r.neighbors[0]?.score).toBeCloseTo(2 / Math.sqrt(6), 5);
      expect(r.neighbors[1]?.score).toBeCloseTo(2 / Math.sqrt(6), 5);
    });
  });
}

describe("models", () => {
  test("two models with different dimensions never mix", () => {
    const rand = rng(11);
    const m = new Mirror(new KnnEngine());
    for (let i = 0; i < 100; i++) {
      m.upsert(entry(`a${i}`, "small", randomVector(rand, 8), i % 3));
      m.upsert(entry(`b${i}`, "large", randomVector(rand, 24), i % 3));
    }
    expect(m.engine.models()).toEqual(["large", "small"]);
    // Model found from the vector's dimension, from the doc_id, or given.
    const r8 = m.engine.query({ vector: randomVector(rand, 8), k: 100 });
    expect(r8.model).toBe("small");
    expect(r8.neighbors.every((n) => n.doc_id.startsWith("a") && n.model === "small")).toBe(true);
    expect(r8.count_scored).toBe(100);
    expect(m.engine.query({ doc_id: "b3", k: 1000 }).neighbors.every((n) => n.doc_id.startsWith("b"))).toBe(
      true,
    );
    m.check({ vector: randomVector(rand, 24), k: 10, model: "large" });
    m.check({ doc_id: "a5", k: 10 });
    m.check({ doc_id: "b5", k: 10, model: "large", shards: [2] });
  });

  test("a doc_id that moves to another model leaves the old one", () => {
    const rand = rng(12);
    const m = new Mirror(new KnnEngine());
    for (let i = 0; i < 20; i++) m.upsert(entry(`a${i}`, "x", randomVector(rand, 4)));
    for (let i = 0; i < 20; i++) m.upsert(entry(`b${i}`, "y", randomVector(rand, 6)));
    m.upsert(entry("a3", "y", randomVector(rand, 6)));
    expect(m.engine.get("a3")?.model).toBe("y");
    expect(m.engine.stats().by_model).toEqual({
      x: { count: 19, dim: 4, float32_bytes_per_vector: 16, int8_bytes_per_vector: 0 },
      y: { count: 21, dim: 6, float32_bytes_per_vector: 32, int8_bytes_per_vector: 0 },
    });
    expect(m.engine.size).toBe(40);
    m.check({ doc_id: "a3", k: 30 });
    m.check({ vector: randomVector(rand, 4), k: 30 });
    // The one model whose dimension matches; same dims would be ambiguous.
    m.upsert(entry("c0", "z", randomVector(rand, 6)));
    const err = knnError(() => m.engine.query({ vector: randomVector(rand, 6) }));
    expect(err.status).toBe(400);
    expect(err.message).toContain('"model"');
    expect(err.message).toContain("y (dim 6)");
    expect(err.message).toContain("z (dim 6)");
  });

  test("a model that loses its last document is forgotten, dimension included", () => {
    const e = new KnnEngine();
    e.upsert(entry("a", "m", [1, 2, 3]));
    e.upsert(entry("b", "other", [1, 2]));
    expect(e.remove("a")).toBe(true);
    expect(e.models()).toEqual(["other"]);
    expect(e.stats().by_model.m).toBeUndefined();
    e.upsert(entry("a", "m", [1, 2, 3, 4, 5]));
    expect(e.stats().by_model.m).toEqual({
      count: 1,
      dim: 5,
      float32_bytes_per_vector: 32,
      int8_bytes_per_vector: 0,
    });
  });
});

describe("errors", () => {
  const rand = rng(99);
  const e = new KnnEngine();
  for (let i = 0; i < 10; i++) e.upsert(entry(`d${i}`, "m384", randomVector(rand, 384)));
  for (let i = 0; i < 10; i++) e.upsert(entry(`g${i}`, "m100", randomVector(rand, 100)));

  const cases: [string, () => unknown, 400 | 404, RegExp][] = [
    ["neither vector nor doc_id", () => e.query({ k: 3 }), 400, /"vector" or a "doc_id"/],
    ["both vector and doc_id", () => e.query({ vector: [1], doc_id: "d1" }), 400, /not both/],
    ["k = 0", () => e.query({ doc_id: "d1", k: 0 }), 400, /k must be an integer from 1 to 1000 \(got 0\)/],
    ["k = 1001", () => e.query({ doc_id: "d1", k: 1001 }), 400, /k must be .* \(got 1001\)/],
    ["k = 2.5", () => e.query({ doc_id: "d1", k: 2.5 }), 400, /k must be .* \(got 2\.5\)/],
    ["k = NaN", () => e.query({ doc_id: "d1", k: Number.NaN }), 400, /k must be/],
    ["k as a string", () => e.query({ doc_id: "d1", k: "3" as unknown as number }), 400, /k must be/],
    ["unknown doc_id", () => e.query({ doc_id: "nope" }), 404, /unknown doc_id "nope"/],
    ["unknown doc_id with a model", () => e.query({ doc_id: "nope", model: "m384" }), 404, /unknown doc_id/],
    [
      "doc_id of another model",
      () => e.query({ doc_id: "g1", model: "m384" }),
      404,
      /"g1" is not indexed under model "m384" \(it is under "m100"\)/,
    ],
    [
      "unknown model, listing the models",
      () => e.query({ doc_id: "d1", model: "bert" }),
      400,
      /unknown model "bert"; indexed models: m100 \(dim 100\), m384 \(dim 384\)/,
    ],
    [
      "vector of the wrong dimension",
      () => e.query({ vector: new Array(100).fill(1), model: "m384" }),
      400,
      /dimension 100 .*index has 384/,
    ],
    [
      "no model has the vector's dimension",
      () => e.query({ vector: new Array(7).fill(1) }),
      400,
      /several models .* none has dimension 7; say which with "model"/,
    ],
    [
      "non-finite number",
      () => e.query({ vector: [1, Number.NaN, ...new Array(98).fill(0)] }),
      400,
      /vector\[1\] is not a finite number/,
    ],
    [
      "infinity",
      () => e.query({ vector: [Number.POSITIVE_INFINITY, ...new Array(99).fill(0)] }),
      400,
      /vector\[0\] is not a finite number/,
    ],
    [
      "a string in the vector",
      () => e.query({ vector: ["1", ...new Array(99).fill(0)] as unknown as number[] }),
      400,
      /vector\[0\] is not a finite number/,
    ],
    ["empty vector", () => e.query({ vector: [] }), 400, /vector is empty/],
    ["vector not an array", () => e.query({ vector: 3 as unknown as number[] }), 400, /array of numbers/],
    ["shards not integers", () => e.query({ doc_id: "d1", shards: [1.5] }), 400, /shards must be/],
    [
      "upsert of another dimension",
      () => e.upsert(entry("d1", "m384", new Array(100).fill(1))),
      400,
      /dimension 100 but the index has 384 dimensions for model "m384"/,
    ],
    ["upsert of NaN", () => e.upsert(entry("x", "m384", [Number.NaN])), 400, /\[0\] is not a finite number/],
    ["upsert of an empty vector", () => e.upsert(entry("x", "new", [])), 400, /is empty/],
    ["upsert of a blank doc_id", () => e.upsert(entry("", "m384", [1])), 400, /doc_id must be/],
    ["upsert of a blank model", () => e.upsert(entry("x", "", [1])), 400, /model must be/],
    ["upsert of a fractional shard", () => e.upsert(entry("x", "m", [1], 0.5)), 400, /shard must be/],
  ];
  for (const [name, fn, status, message] of cases) {
    test(`${name} → ${status}`, () => {
      const err = knnError(fn);
      expect(err.status).toBe(status);
      expect(err.message).toMatch(message);
    });
  }

  test("a failed upsert changes nothing", () => {
    const before = e.stats();
    const d1 = Array.from(e.get("d1")?.vector ?? []);
    knnError(() => e.upsert(entry("d1", "m384", new Array(100).fill(1))));
    knnError(() => e.upsert(entry("d1", "m100", [1, 2])));
    expect(e.stats()).toEqual(before);
    expect(Array.from(e.get("d1")?.vector ?? [])).toEqual(d1);
    expect(e.get("d1")?.model).toBe("m384");
  });

  test("an empty engine answers 400 for a vector and 404 for a doc_id", () => {
    const empty = new KnnEngine();
    const a = knnError(() => empty.query({ vector: [1, 2] }));
    expect([a.status, a.message]).toEqual([400, "the index is empty: no model has any document yet"]);
    expect(knnError(() => empty.query({ doc_id: "x" })).status).toBe(404);
    expect(knnError(() => empty.query({ vector: [1], model: "m" })).message).toMatch(/indexed models: none/);
  });
});

describe("ties, zero vectors", () => {
  test("equal scores are ordered by doc_id, whatever the insertion order", () => {
    const ids = ["k", "c", "x", "a", "m", "b", "z", "e"];
    const orders = [ids, [...ids].reverse(), [...ids].sort()];
    const results = orders.map((order) => {
      const e = new KnnEngine();
      e.upsert(entry("far", "m", [0, 1, 0]));
      for (const id of order) e.upsert(entry(id, "m", [2, 0, 0]));
      e.upsert(entry("near", "m", [1, 0.01, 0]));
      return e.query({ vector: [1, 0, 0], k: 4 }).neighbors.map((n) => n.doc_id);
    });
    expect(results[0]).toEqual(["a", "b", "c", "e"]);
    expect(results[1]).toEqual(results[0] as string[]);
    expect(results[2]).toEqual(results[0] as string[]);
    const e = new KnnEngine();
    for (const id of ids) e.upsert(entry(id, "m", [2, 0, 0]));
    expect(e.query({ vector: [1, 0, 0], k: 10 }).neighbors.map((n) => n.doc_id)).toEqual([...ids].sort());
    // Ties at the bottom of the range (-1) too, with more candidates than k.
    const opposite = new KnnEngine();
    for (const id of [...ids].reverse()) opposite.upsert(entry(id, "m", [-2, 0, 0]));
    const r = opposite.query({ vector: [1, 0, 0], k: 4 });
    expect(r.neighbors.map((n) => [n.doc_id, n.score])).toEqual([
      ["a", -1],
      ["b", -1],
      ["c", -1],
      ["e", -1],
    ]);
  });

  test("a zero vector is stored as zeros and scores 0; a zero query scores 0 everywhere", () => {
    const e = new KnnEngine();
    e.upsert(entry("zero", "m", [0, 0, 0, 0, 0]));
    e.upsert(entry("b", "m", [1, 2, 3, 4, 5]));
    e.upsert(entry("a", "m", [-1, -2, -3, -4, -5]));
    const z = e.get("zero");
    expect(z?.norm).toBe(0);
    expect(Array.from(z?.vector ?? [])).toEqual([0, 0, 0, 0, 0]);
    const r = e.query({ vector: [1, 1, 1, 1, 1], k: 3 });
    expect(r.neighbors.map((n) => [n.doc_id, Math.round(n.score * 1e6) / 1e6])).toEqual([
      ["b", 0.904534],
      ["zero", 0],
      ["a", -0.904534],
    ]);
    const q = e.query({ vector: [0, 0, 0, 0, 0], k: 3 });
    expect(q.neighbors.map((n) => [n.doc_id, n.score])).toEqual([
      ["a", 0],
      ["b", 0],
      ["zero", 0],
    ]);
    expect(e.query({ doc_id: "zero", k: 2 }).neighbors.map((n) => n.score)).toEqual([0, 0]);
  });
});

describe("bookkeeping", () => {
  test("size, stats and bytes follow upserts, replacements and removals", () => {
    const e = new KnnEngine();
    const rand = rng(3);
    expect([e.size, e.stats()]).toEqual([0, { total: 0, by_model: {}, bytes: 0, vector_bytes: 0 }]);
    for (let i = 0; i < 1000; i++) e.upsert(entry(`d${i}`, "m", randomVector(rand, 100), i % 4));
    const full = e.stats();
    expect(full.total).toBe(1000);
    expect(full.by_model).toEqual({
      m: { count: 1000, dim: 100, float32_bytes_per_vector: 400, int8_bytes_per_vector: 0 },
    });
    expect(full.vector_bytes).toBe(1000 * 400);
    // The vectors (1024 rows after doubling from 16) plus a few hundred bytes per document.
    expect(full.bytes).toBeGreaterThan(1024 * 100 * 4 + 1000 * 100);
    expect(full.bytes).toBeLessThan(1024 * 100 * 4 + 1000 * 400);
    // Replacing in place changes neither count nor capacity; strings are accounted for.
    for (let i = 0; i < 1000; i += 2) e.upsert(entry(`d${i}`, "m", randomVector(rand, 100), i % 4));
    expect(e.size).toBe(1000);
    expect(e.stats().bytes).toBe(full.bytes);
    e.upsert({ ...entry("d0", "m", randomVector(rand, 100)), text: "x".repeat(1000) });
    expect(e.stats().bytes - full.bytes).toBe(2 * (1000 - "text of d0".length));
    expect(e.remove("d5")).toBe(true);
    expect(e.remove("d5")).toBe(false);
    expect(e.remove("never")).toBe(false);
    expect(e.size).toBe(999);
    expect(e.get("d5")).toBeUndefined();
    // Removing most rows shrinks the block.
    for (let i = 0; i < 990; i++) e.remove(`d${i}`);
    expect(e.size).toBe(10);
    expect(e.stats().bytes).toBeLessThan(full.bytes / 8);
    const left = [...Array(10).keys()].map((i) => `d${990 + i}`);
    expect(
      e
        .query({ vector: randomVector(rand, 100), k: 20 })
        .neighbors.map((n) => n.doc_id)
        .sort(),
    ).toEqual(left.sort());
    for (const id of left) expect(e.remove(id)).toBe(true);
    expect([e.size, e.stats()]).toEqual([0, { total: 0, by_model: {}, bytes: 0, vector_bytes: 0 }]);
    e.upsert(entry("again", "m", [1, 2]));
    e.clear();
    expect([e.size, e.models()]).toEqual([0, []]);
  });

  test("get returns the stored entry with its unit vector, the norm and the metadata", () => {
    const e = new KnnEngine();
    e.upsert({ doc_id: "a", model: "m", vector: [3, 4, 0], topic: "t", text: "hello", shard: 7 });
    e.upsert({ doc_id: "b", model: "m", vector: [1, 0, 0], topic: null, text: "x", shard: -2 });
    const a = e.get("a");
    expect(a?.vector).toBeInstanceOf(Float32Array);
    expect(Array.from(a?.vector ?? [])).toEqual([Math.fround(0.6), Math.fround(0.8), 0]);
    expect({ ...a, vector: undefined }).toEqual({
      doc_id: "a",
      model: "m",
      vector: undefined,
      norm: 5,
      topic: "t",
      text: "hello",
      shard: 7,
      labels: {},
      success: null,
    });
    // After "a" is removed, "b" moves into its row and still answers correctly.
    e.remove("a");
    expect(e.get("b")).toMatchObject({ shard: -2, topic: null, text: "x", norm: 1 });
    expect(e.query({ vector: [1, 0, 0], shards: [-2] }).neighbors.map((n) => n.doc_id)).toEqual(["b"]);
  });

  test("a vector taken from get() can be upserted even when the block grows meanwhile", () => {
    const e = new KnnEngine();
    for (let i = 0; i < 16; i++) e.upsert(entry(`d${i}`, "m", [i + 1, 1, 2]));
    const view = e.get("d3")?.vector as Float32Array;
    e.upsert(entry("copy", "m", view)); // the 17th row: the block grows while `view` is read
    expect(Array.from(e.get("copy")?.vector ?? [])).toEqual(Array.from(e.get("d3")?.vector ?? []));
    expect(e.query({ doc_id: "copy", k: 1 }).neighbors[0]?.doc_id).toBe("d3");
  });

  test("many inserts and removals in random order keep every location right", () => {
    const rand = rng(77);
    const m = new Mirror(new KnnEngine());
    for (let round = 0; round < 2000; round++) {
      const id = `d${Math.floor(rand() * 300)}`;
      if (rand() < 0.35) m.remove(id);
      else m.upsert(entry(id, "m", randomVector(rand, 12), Math.floor(rand() * 3)));
    }
    expect(m.engine.size).toBe(m.docs.size);
    for (const [id, d] of m.docs) {
      const got = m.engine.get(id);
      expect(got?.shard).toBe(d.shard);
      expect(got?.text).toBe(d.text);
      expect(Math.abs(cosine(got?.vector ?? [], d.vector) - 1)).toBeLessThan(TOL);
    }
    for (let i = 0; i < 20; i++) m.check({ vector: randomVector(rand, 12), k: 15, shards: [0, 2] });
  });
});
