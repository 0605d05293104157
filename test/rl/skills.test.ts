/** Skill recommendation: what the nearest successful actions used, weighted by similarity. */
import { describe, expect, test } from "bun:test";
import type { Neighbor } from "../../pipeline/contracts/knn.ts";
import { aggregateSkills, KnnClient, recommendSkills } from "../../pipeline/rl/index.ts";
import { axis } from "../helpers/rl-data.ts";
import { fakeBackend } from "../helpers/rl-fake-backend.ts";

const n = (doc_id: string, score: number, labels: Neighbor["labels"]): Neighbor => ({
  doc_id,
  score,
  model: "m",
  topic: null,
  text: doc_id,
  labels,
  success: true,
});

describe("skills", () => {
  test("aggregateSkills weights each label value by the neighbours' similarity", () => {
    const by = aggregateSkills(
      [
        n("a", 0.9, { agent: "coder", kind: "diff" }),
        n("b", 0.6, { agent: "planner", kind: "plan" }),
        n("c", 0.5, { agent: "coder" }),
        n("d", -0.2, { agent: "reviewer" }),
      ],
      ["agent", "kind"],
    );
    expect(by.agent?.map((v) => [v.value, v.count, v.doc_ids])).toEqual([
      ["coder", 2, ["a", "c"]],
      ["planner", 1, ["b"]],
      ["reviewer", 1, ["d"]],
    ]);
    expect(by.agent?.[0]?.share).toBeCloseTo(1.4 / 2, 9);
    expect(by.agent?.[2]?.weight).toBe(0);
    expect(by.kind?.reduce((a, v) => a + v.share, 0)).toBeCloseTo(1.5 / 2, 9); // c has no kind
  });

  test("recommendSkills asks for successful neighbours only and summarises them", async () => {
    const be = fakeBackend([
      {
        doc_id: "fix-ok",
        vector: axis(8, 0, 0.1),
        text: "fixed the import",
        success: true,
        labels: { agent: "coder", kind: "diff" },
      },
      {
        doc_id: "fix-bad",
        vector: axis(8, 0),
        text: "broke the import",
        success: false,
        labels: { agent: "intern" },
      },
      {
        doc_id: "plan-ok",
        vector: axis(8, 0, 0.8),
        text: "plan",
        success: true,
        labels: { agent: "planner", kind: "plan" },
      },
      { doc_id: "far", vector: axis(8, 4), success: true, labels: { agent: "doc-writer" } },
    ]);
    try {
      const rec = await recommendSkills(
        new KnnClient({ baseUrl: be.url }),
        { vector: axis(8, 0) },
        {
          k: 3,
          minScore: 0.1,
          filter: { repo: ["a", "b"] },
        },
      );
      expect(be.requests[0]).toMatchObject({ k: 3, filter: { repo: ["a", "b"], success: true } });
      // The fake applies the repo filter: nothing matches.
      expect(rec.neighbors).toEqual([]);
      const rec2 = await recommendSkills(
        new KnnClient({ baseUrl: be.url }),
        { vector: axis(8, 0) },
        { k: 3, minScore: 0.1 },
      );
      expect(rec2.neighbors.map((x) => x.doc_id)).toEqual(["fix-ok", "plan-ok"]); // "far" is below minScore
      expect(rec2.neighbors[0]?.text).toBe("fixed the import");
      expect(rec2.by.agent?.map((v) => v.value)).toEqual(["coder", "planner"]);
      expect(rec2.by.kind?.[0]?.value).toBe("diff");
    } finally {
      be.stop();
    }
  });
});
