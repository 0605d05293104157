/** Merging owners' answers: the exact top k of the union, ranked as one engine ranks. */
import { expect, test } from "bun:test";
import type { Neighbor } from "../../pipeline/contracts/knn.ts";
import { KnnEngine } from "../../pipeline/knn/engine.ts";
import { mergeTopK } from "../../pipeline/knn/merge.ts";
import { seededRandom } from "../../pipeline/rl/random.ts";

const n = (doc_id: string, score: number): Neighbor => ({
  doc_id,
  score,
  model: "m",
  topic: null,
  text: "",
  labels: {},
  success: null,
});

test("the best k of partial lists, equal scores by doc_id, each document once, the excluded one never", () => {
  const a = [n("a1", 0.9), n("x", 0.5), n("a2", 0.5)];
  const b = [n("b1", 0.95), n("a2", 0.5), n("b0", 0.5), n("self", 1)];
  const ids = (l: Neighbor[]) => l.map((x) => x.doc_id);
  expect(ids(mergeTopK([a, b], 10))).toEqual(["self", "b1", "a1", "a2", "b0", "x"]);
  expect(ids(mergeTopK([a, b], 4, "self"))).toEqual(["b1", "a1", "a2", "b0"]);
  expect(ids(mergeTopK([[], b], 2))).toEqual(["self", "b1"]);
  expect(mergeTopK([], 3)).toEqual([]);
});

test("engines holding halves of the shards, merged, answer as one engine holding all", () => {
  const rand = seededRandom(11);
  const whole = new KnnEngine();
  const halves = [new KnnEngine(), new KnnEngine()];
  const base = Array.from({ length: 8 }, () => Array.from({ length: 8 }, () => rand() - 0.5));
  for (let i = 0; i < 400; i++) {
    // Many exact duplicates across both halves: ties decided by doc_id alone.
    const vector = i % 5 === 0 ? (base[i % 8] as number[]) : Array.from({ length: 8 }, () => rand() - 0.5);
    const e = { doc_id: `d${(i * 7919) % 1000}`, model: "m", vector, topic: null, text: "", shard: i % 4 };
    whole.upsert(e);
    halves[e.shard < 2 ? 0 : 1]?.upsert(e);
  }
  for (const [i, v] of base.entries()) {
    for (const k of [1, 5, 30, 500]) {
      const want = whole.query({ vector: v, k });
      const got = mergeTopK(
        halves.map((h) => h.query({ vector: v, k }).neighbors),
        k,
      );
      expect(got).toEqual(want.neighbors);
      expect(want.neighbors.length).toBe(Math.min(k, 400));
      if (k === 5 && i === 0) expect(new Set(got.map((x) => x.score)).size).toBe(1);
    }
  }
});
