/** Reward shaping: ranges and ordering of the pure terms; the index-backed verifier. */
import { afterAll, describe, expect, test } from "bun:test";
import {
  cosineSimilarity,
  driftPenalty,
  KnnClient,
  KnnClientError,
  noveltyBonus,
  repetitionPenalty,
  SimilarityVerifier,
  StateWindow,
  similarityReward,
  topKMean,
  VectorMemory,
  vectorDrift,
} from "../../pipeline/rl/index.ts";
import { axis } from "../helpers/rl-data.ts";
import { closedUrl, type FakeBackend, fakeBackend } from "../helpers/rl-fake-backend.ts";

const random = (dim: number, seed: number) =>
  Array.from({ length: dim }, (_, i) => Math.sin(seed * 7.13 + i * 1.7));

describe("pure terms", () => {
  test("cosine similarity: [−1, 1], 0 for a zero vector, dimension mismatch refused", () => {
    expect(cosineSimilarity([1, 0], [2, 0])).toBeCloseTo(1, 6);
    expect(cosineSimilarity([1, 0], [-3, 0])).toBeCloseTo(-1, 6);
    expect(cosineSimilarity([0, 0], [1, 0])).toBe(0);
    expect(() => cosineSimilarity([1], [1, 2])).toThrow(/dimensions differ/);
  });

  test("similarityReward is in [0, 1] and orders states by closeness to the references", () => {
    const good = [axis(8, 0), axis(8, 1)];
    const near = axis(8, 0, 0.2);
    const far = axis(8, 4);
    const opposite = axis(8, 0).map((x) => -x);
    expect(similarityReward(axis(8, 0), good)).toBeCloseTo(1, 6);
    expect(similarityReward(near, good)).toBeGreaterThan(similarityReward(far, good));
    expect(similarityReward(far, good)).toBe(0);
    expect(similarityReward(opposite, good)).toBe(0); // negative → 0
    expect(similarityReward(near, [])).toBe(0);
    const mem = new VectorMemory(8);
    for (const g of good) mem.add(g);
    expect(similarityReward(near, mem)).toBeCloseTo(similarityReward(near, good), 6);
    for (let s = 0; s < 50; s++) {
      const r = similarityReward(random(8, s), [random(8, s + 100), random(8, s + 200)], 2);
      expect(r).toBeGreaterThanOrEqual(0);
      expect(r).toBeLessThanOrEqual(1);
    }
  });

  test("topKMean averages the best k, negatives as 0", () => {
    expect(topKMean([0.9, 0.1, 0.5], 2)).toBeCloseTo(0.7, 9);
    expect(topKMean([-0.5], 1)).toBe(0);
    expect(topKMean([], 3)).toBe(0);
  });

  test("noveltyBonus: scale when nothing was seen, 0 for a repeat, more for what is further away", () => {
    const seen = [axis(8, 0)];
    expect(noveltyBonus(axis(8, 0), [], 0.5)).toBe(0.5);
    expect(noveltyBonus(axis(8, 0), seen)).toBeCloseTo(0, 6);
    expect(noveltyBonus(axis(8, 3), seen)).toBeCloseTo(1, 6);
    expect(noveltyBonus(axis(8, 0, 0.5), seen)).toBeGreaterThan(noveltyBonus(axis(8, 0, 0.1), seen));
    for (let s = 0; s < 50; s++) {
      const b = noveltyBonus(random(8, s), [random(8, s + 1)], 2);
      expect(b).toBeGreaterThanOrEqual(0);
      expect(b).toBeLessThanOrEqual(2);
    }
  });

  test("repetitionPenalty: the share of the window that repeats the state, in [−scale, 0]", () => {
    const w = [axis(8, 0), axis(8, 0, 0.01), axis(8, 2), axis(8, 3)];
    expect(repetitionPenalty(axis(8, 0), w)).toBeCloseTo(-0.5, 9);
    expect(repetitionPenalty(axis(8, 5), w)).toBeCloseTo(0, 9);
    expect(repetitionPenalty(axis(8, 0), [axis(8, 0), axis(8, 0)], 0.95, 2)).toBe(-2);
    expect(repetitionPenalty(axis(8, 0), [])).toBe(0);
  });

  test("driftPenalty: −scale on the window's centroid, 0 once drifted minDrift away", () => {
    const w = [axis(8, 0), axis(8, 0)];
    expect(vectorDrift(axis(8, 0), w)).toBeCloseTo(0, 6);
    expect(driftPenalty(axis(8, 0), w)).toBeCloseTo(-1, 5);
    expect(driftPenalty(axis(8, 3), w)).toBe(0);
    expect(vectorDrift(axis(8, 3), w)).toBeCloseTo(1, 6);
    const slight = driftPenalty(axis(8, 0, 0.2), w, 0.05);
    expect(slight).toBeGreaterThan(-1);
    expect(slight).toBeLessThanOrEqual(0);
    expect(driftPenalty(axis(8, 0), [])).toBe(0);
    expect(vectorDrift(axis(8, 0), [])).toBeNull();
  });

  test("StateWindow: an episode that loops is penalised, one that explores is not", () => {
    const loop = new StateWindow({ size: 4 });
    const explore = new StateWindow({ size: 4 });
    let loopSum = 0;
    let exploreSum = 0;
    for (let t = 0; t < 8; t++) {
      const a = loop.observe(axis(8, t % 2));
      const b = explore.observe(axis(8, t));
      loopSum += a.novelty + a.repetition + a.drift;
      exploreSum += b.novelty + b.repetition + b.drift;
      for (const x of [a, b]) {
        expect(x.novelty).toBeGreaterThanOrEqual(0);
        expect(x.novelty).toBeLessThanOrEqual(1);
        expect(x.repetition).toBeGreaterThanOrEqual(-1);
        expect(x.repetition).toBeLessThanOrEqual(0);
        expect(x.drift).toBeGreaterThanOrEqual(-1);
        expect(x.drift).toBeLessThanOrEqual(0);
      }
    }
    expect(loop.size).toBe(4);
    expect(exploreSum).toBeGreaterThan(loopSum + 4);
  });
});

describe("SimilarityVerifier (index-backed)", () => {
  let be: FakeBackend;
  afterAll(() => be?.stop());

  test("scores against known-good documents only (filter success: true), in [0, 1]", async () => {
    be = fakeBackend([
      { doc_id: "good-0", vector: axis(8, 0), success: true, labels: { task: "t1" } },
      { doc_id: "good-1", vector: axis(8, 1), success: true, labels: { task: "t2" } },
      { doc_id: "bad-0", vector: axis(8, 2), success: false },
    ]);
    const v = new SimilarityVerifier(new KnnClient({ baseUrl: be.url }), { k: 1 });
    const close = await v.score({ vector: axis(8, 0, 0.1) });
    const likeBad = await v.score({ vector: axis(8, 2) });
    expect(close.score).toBeGreaterThan(0.9);
    expect(close.neighbors.map((n) => n.doc_id)).toEqual(["good-0"]);
    expect(likeBad.score).toBe(0); // the failure it resembles is not a reference
    expect(be.requests[0]).toEqual({ vector: axis(8, 0, 0.1), k: 1, filter: { success: true } });
    const scoped = new SimilarityVerifier(new KnnClient({ baseUrl: be.url }), {
      k: 2,
      filter: { task: "t2" },
    });
    const s = await scoped.score({ vector: axis(8, 0) });
    expect(s.neighbors.map((n) => n.doc_id)).toEqual(["good-1"]);
    expect(be.requests.at(-1)?.filter).toEqual({ task: "t2", success: true });
  });

  test("no known-good document → 0; backend down → the client's error, never a score", async () => {
    const empty = fakeBackend([{ doc_id: "bad", vector: axis(8, 0), success: false }]);
    try {
      expect(
        (await new SimilarityVerifier(new KnnClient({ baseUrl: empty.url })).score({ vector: axis(8, 0) }))
          .score,
      ).toBe(0);
    } finally {
      empty.stop();
    }
    const down = new SimilarityVerifier(new KnnClient({ baseUrl: closedUrl(), timeoutMs: 2000 }));
    const err = await down.score({ text: "anything" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KnnClientError);
    expect((err as KnnClientError).kind).toBe("unreachable");
    expect((err as KnnClientError).retryable).toBe(true);
  });
});
