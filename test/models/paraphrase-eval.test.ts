import { describe, expect, test } from "bun:test";
import type { Embedder } from "../../pipeline/models/embedder.ts";
import { loadParaphraseGroups, paraphrasePrecisionAtK } from "../../pipeline/models/paraphrase-eval.ts";

const groups = [
  { group: "a", sentences: ["a1", "a2", "a3"] },
  { group: "b", sentences: ["b1", "b2", "b3", "b4", "b5"] },
  { group: "c", sentences: ["c1", "c2"] },
];

/** Embeds a sentence as the one-hot vector of its group letter, plus `noise` on a shared axis. */
function oracle(noise = 0): Embedder {
  return {
    name: "oracle",
    dim: 4,
    normalized: false,
    embed: (texts) =>
      texts.map((t) => {
        const v = new Float32Array(4);
        v["abc".indexOf(t[0] as string)] = 1;
        v[3] = noise;
        return v;
      }),
  };
}

describe("paraphrase precision@k", () => {
  test("a perfect embedder scores 1 whatever the group sizes (k capped at group size − 1)", async () => {
    expect(await paraphrasePrecisionAtK(oracle(), groups, 5)).toEqual({
      precision: 1,
      k: 5,
      sentences: 10,
      groups: 3,
    });
    expect((await paraphrasePrecisionAtK(oracle(), groups, 1)).precision).toBe(1);
  });

  test("an embedder that cannot tell anything apart scores by position only", async () => {
    const constant: Embedder = {
      name: "c",
      dim: 2,
      normalized: false,
      embed: (t) => t.map(() => new Float32Array([1, 0])),
    };
    const score = (await paraphrasePrecisionAtK(constant, groups, 5)).precision;
    expect(score).toBeGreaterThan(0);
    expect(score).toBeLessThan(0.6);
  });

  test("groups of one sentence are refused", async () => {
    await expect(
      paraphrasePrecisionAtK(oracle(), [...groups, { group: "d", sentences: ["d1"] }]),
    ).rejects.toThrow(/group "d" needs at least 2 sentences/);
  });

  test("the fixture has 40-60 groups of 3-5 sentences", () => {
    const fixture = loadParaphraseGroups(`${import.meta.dir}/../../fixtures/paraphrases.jsonl`);
    expect(fixture.length).toBeGreaterThanOrEqual(40);
    expect(fixture.length).toBeLessThanOrEqual(60);
    for (const g of fixture) {
      expect(g.sentences.length).toBeGreaterThanOrEqual(3);
      expect(g.sentences.length).toBeLessThanOrEqual(5);
    }
    expect(new Set(fixture.map((g) => g.group)).size).toBe(fixture.length);
  });
});
