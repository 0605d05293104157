/** The curriculum schedules novel and hard items first, reproducibly, and learns from outcomes. */
import { describe, expect, test } from "bun:test";
import { CurriculumSampler, indexDifficulty, KnnClient } from "../../pipeline/rl/index.ts";
import { axis, record } from "../helpers/rl-data.ts";
import { fakeBackend } from "../helpers/rl-fake-backend.ts";

const DIM = 8;
/** Neighbourhoods: around axis 0 everything failed, around axis 1 everything succeeded. */
const pool = [
  ...Array.from({ length: 6 }, (_, i) => record(`hard-${i}`, axis(DIM, 0, 0.05 * i), false)),
  ...Array.from({ length: 6 }, (_, i) => record(`easy-${i}`, axis(DIM, 1, 0.05 * i), true)),
];

describe("CurriculumSampler", () => {
  test("difficulty is the smoothed failure rate of the nearest labelled neighbours", () => {
    const c = new CurriculumSampler(
      [
        { doc_id: "near-hard", vector: axis(DIM, 0, 0.02) },
        { doc_id: "near-easy", vector: axis(DIM, 1, 0.02) },
        { doc_id: "given", vector: axis(DIM, 5), difficulty: 0.9 },
      ],
      { pool, k: 4 },
    );
    const [hard, easy, given] = c.scores();
    expect(hard?.difficulty).toBeCloseTo(5 / 6, 9); // (4 failures + 1) / (4 + 2)
    expect(easy?.difficulty).toBeCloseTo(1 / 6, 9);
    expect(given?.difficulty).toBeCloseTo(0.9, 9);
    expect(c.scores().reduce((a, s) => a + s.probability, 0)).toBeCloseTo(1, 9);
  });

  test("prefers hard items: picked first far more often than easy ones", () => {
    const items = [
      { doc_id: "hard", vector: axis(DIM, 0, 0.02) },
      { doc_id: "easy", vector: axis(DIM, 1, 0.02) },
    ];
    let hardFirst = 0;
    for (let seed = 0; seed < 200; seed++) {
      const c = new CurriculumSampler(items, { pool, k: 4, weights: { novelty: 0 }, seed });
      if (c.next().doc_id === "hard") hardFirst++;
    }
    // p(hard) = (0.05 + 0.5·5/6) / (0.05 + 0.5·5/6 + 0.05 + 0.5·1/6) ≈ 0.77
    expect(hardFirst).toBeGreaterThan(130);
  });

  test("prefers novel items: after a history, the unexplored region comes first", () => {
    const items = [
      { doc_id: "seen-like", vector: axis(DIM, 2, 0.01) },
      { doc_id: "novel", vector: axis(DIM, 6) },
    ];
    const c0 = new CurriculumSampler(items, { history: [axis(DIM, 2)], weights: { difficulty: 0 } });
    const [seenLike, novel] = c0.scores();
    expect(novel?.novelty).toBeCloseTo(1, 6);
    expect(seenLike?.novelty).toBeLessThan(0.01);
    let novelFirst = 0;
    for (let seed = 0; seed < 100; seed++) {
      const c = new CurriculumSampler(items, { history: [axis(DIM, 2)], weights: { difficulty: 0 }, seed });
      if (c.next().doc_id === "novel") novelFirst++;
    }
    expect(novelFirst).toBeGreaterThan(85); // p ≈ 0.55 / 0.6
  });

  test("scheduling an item lowers the novelty of its neighbours; a round schedules each item once", () => {
    const items = [
      { doc_id: "a1", vector: axis(DIM, 0) },
      { doc_id: "a2", vector: axis(DIM, 0, 0.05) },
      { doc_id: "b", vector: axis(DIM, 4) },
    ];
    const c = new CurriculumSampler(items, { seed: 3, weights: { difficulty: 0 } });
    const first = c.next();
    const twin = first.doc_id === "a1" ? "a2" : first.doc_id === "a2" ? "a1" : null;
    if (twin) expect(c.scores().find((s) => s.doc_id === twin)?.novelty).toBeLessThan(0.01);
    const round = [first, c.next(), c.next()];
    expect(new Set(round.map((r) => r.doc_id)).size).toBe(3);
    expect(c.next().round).toBe(2);
  });

  test("reported failures raise an item's difficulty, successes lower it", () => {
    const c = new CurriculumSampler([
      { doc_id: "x", vector: axis(DIM, 0) },
      { doc_id: "y", vector: axis(DIM, 1) },
    ]);
    expect(c.scores()[0]?.difficulty).toBe(0.5);
    c.report("x", false);
    c.report("x", false);
    c.report("y", true);
    const [x, y] = c.scores();
    expect(x?.difficulty).toBeCloseTo(3 / 4, 9);
    expect(y?.difficulty).toBeCloseTo(1 / 3, 9);
    expect(() => c.report("nope", true)).toThrow(/no item nope/);
  });

  test("the same seed gives the same schedule", () => {
    const items = Array.from({ length: 20 }, (_, i) => ({ doc_id: `i${i}`, vector: axis(DIM, i, i / 20) }));
    const order = (seed: number) =>
      new CurriculumSampler(items, { pool, seed }).take(30).map((s) => s.doc_id);
    expect(order(11)).toEqual(order(11));
    expect(order(11)).not.toEqual(order(12));
  });

  test("indexDifficulty asks the index for labelled neighbours (success true or false)", async () => {
    const be = fakeBackend(
      pool
        .map((r) => ({ doc_id: r.doc_id, vector: Array.from(r.vector), success: r.success }))
        .concat([{ doc_id: "unlabelled", vector: axis(DIM, 0), success: null }]),
    );
    try {
      const d = await indexDifficulty(new KnnClient({ baseUrl: be.url }), { vector: axis(DIM, 0) }, 4);
      expect(d).toEqual({ difficulty: 5 / 6, failures: 4, labelled: 4 });
      expect(be.requests[0]?.filter).toEqual({ success: [true, false] });
    } finally {
      be.stop();
    }
  });
});
