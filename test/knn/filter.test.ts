/** Filtered kNN: exact among the matching documents, bad filters refused with a reason. */
import { describe, expect, test } from "bun:test";
import { knnQueryFromJson, knnQueryFromParams } from "../../pipeline/backend/request.ts";
import type { Labels } from "../../pipeline/contracts/extract.ts";
import { KnnEngine } from "../../pipeline/knn/engine.ts";
import { KnnError } from "../../pipeline/knn/types.ts";
import { cosine } from "../../pipeline/models/embedder.ts";

function seeded(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const agents = ["coder", "planner", "tester"];

function corpus(n: number) {
  const rnd = seeded(7);
  const engine = new KnnEngine();
  const docs: { id: string; v: number[]; labels: Labels; success: boolean | null; topic: string }[] = [];
  for (let i = 0; i < n; i++) {
    const v = Array.from({ length: 16 }, () => rnd() - 0.5);
    const success = i % 3 === 0 ? null : rnd() < 0.5;
    const labels: Labels = {
      agent: agents[i % 3] as string,
      reward: i % 5,
      ...(i % 7 === 0 ? { kind: null } : {}),
    };
    const topic = i % 4 === 0 ? "agent.results" : "other";
    docs.push({ id: `d${i}`, v, labels, success, topic });
    engine.upsert({ doc_id: `d${i}`, model: "m", vector: v, topic, text: "", shard: i % 8, labels, success });
  }
  return { engine, docs };
}

describe("filtered kNN", () => {
  const { engine, docs } = corpus(600);
  const q = Array.from({ length: 16 }, (_, i) => Math.sin(i));

  test.each([
    [{ success: true }],
    [{ success: null }],
    [{ agent: "coder", success: false }],
    [{ agent: ["coder", "tester"], reward: [0, 4] }],
    [{ topic: "agent.results", kind: null }],
    [{ agent: "nobody" }],
  ])("%j: the exact top-k of the matching documents", (filter) => {
    const want = docs
      .filter((d) =>
        Object.entries(filter).every(([k, v]) => {
          const have = k === "topic" ? d.topic : k === "success" ? d.success : d.labels[k];
          return have !== undefined && (Array.isArray(v) ? v : [v]).includes(have as never);
        }),
      )
      .map((d) => ({ id: d.id, score: cosine(q, d.v) }))
      .sort((a, b) => b.score - a.score || a.id.localeCompare(b.id))
      .slice(0, 10);
    const r = engine.query({ vector: q, k: 10, filter });
    expect(r.neighbors.map((n) => n.doc_id)).toEqual(want.map((w) => w.id));
    for (const n of r.neighbors) {
      const d = docs.find((x) => x.id === n.doc_id);
      expect(n.labels).toEqual(d?.labels as Labels);
      expect(n.success).toBe(d?.success ?? null);
    }
  });

  test("a filter combines with shards; count_scored counts only what matched", () => {
    const r = engine.query({ vector: q, k: 5, filter: { agent: "planner" }, shards: [1, 2] });
    const matching = docs.filter((d, i) => d.labels.agent === "planner" && [1, 2].includes(i % 8)).length;
    expect(r.count_scored).toBe(matching);
  });

  test.each([
    ["not an object", [1]],
    ["an object value", { agent: { a: 1 } }],
    ["an empty list", { agent: [] }],
    ["a non-finite number", { reward: Number.NaN }],
  ])("a bad filter (%s) is a 400 naming the filter", (_what, filter) => {
    let err: unknown;
    try {
      engine.query({ vector: q, filter: filter as never });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KnnError);
    expect((err as KnnError).status).toBe(400);
    expect((err as Error).message).toMatch(/filter/);
  });

  test("the backend reads a filter from JSON and from ?filter=, and refuses a bad one with 400", () => {
    expect(knnQueryFromJson({ text: "x", filter: { success: true } }).filter).toEqual({ success: true });
    expect(
      knnQueryFromParams(new URLSearchParams({ text: "x", filter: '{"agent":"coder"}' })).filter,
    ).toEqual({
      agent: "coder",
    });
    expect(() => knnQueryFromJson({ text: "x", filter: "success" })).toThrow(/filter/);
    expect(() => knnQueryFromParams(new URLSearchParams({ text: "x", filter: "{nope" }))).toThrow(
      /JSON object/,
    );
  });
});
