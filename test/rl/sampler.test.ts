/** VectorLabelSampler: balanced and stratified batches, seeded, with a leak-free split by doc_id. */
import { afterAll, describe, expect, test } from "bun:test";
import { VectorLabelSampler } from "../../pipeline/rl/index.ts";
import { axis, cleanup, record, row, tempDir, writeFile } from "../helpers/rl-data.ts";

afterAll(cleanup);

/** 90 successes and 10 failures, two agents. */
const records = Array.from({ length: 100 }, (_, i) =>
  record(`doc-${i}`, axis(8, i, i / 100), i % 10 !== 0, {
    agent: i % 2 ? "coder" : "planner",
  }),
);

describe("VectorLabelSampler", () => {
  test("balanced batches hold each class equally, though failures are 10%", () => {
    const s = new VectorLabelSampler(records, { label: "success", validationFraction: 0.2, seed: 7 });
    expect(s.classes).toEqual([false, true]);
    for (const b of s.batches(16, { count: 20 })) {
      expect(b.rows).toBe(16);
      expect(b.matrix.length).toBe(16 * 8);
      expect(b.values.filter((v) => v === false)).toHaveLength(8);
      expect(Array.from(b.y).filter((y) => y === 0)).toHaveLength(8);
      b.records.forEach((r, i) => {
        expect(r.success).toBe(b.values[i] as boolean);
      });
    }
  });

  test("an odd batch shares the remainder; a third class gets its third", () => {
    const three = records.map((r, i) => ({ ...r, labels: { kind: ["a", "b", "c"][i % 3] as string } }));
    const s = new VectorLabelSampler(three, { label: "kind", seed: 1 });
    expect(s.classes).toEqual(["a", "b", "c"]);
    const b = s.sample(10);
    const n = ["a", "b", "c"].map((c) => b.values.filter((v) => v === c).length);
    expect(n.reduce((a, x) => a + x, 0)).toBe(10);
    expect(Math.max(...n) - Math.min(...n)).toBe(1);
  });

  test("stratified batches keep the split's proportions", () => {
    const s = new VectorLabelSampler(records, { mode: "stratified", seed: 3 });
    const [fail, ok] = s.counts("train").map((c) => c.rows) as [number, number];
    const b = s.sample(50);
    expect(b.values.filter((v) => v === false).length).toBe(Math.round((50 * fail) / (fail + ok)));
  });

  test("the same seed gives the same batches; another seed others; sampling validation leaves train alone", () => {
    const ids = (seed: number, interleave: boolean) => {
      const s = new VectorLabelSampler([...records].reverse(), { seed });
      const out: string[][] = [];
      for (let i = 0; i < 5; i++) {
        out.push(s.sample(8).doc_ids);
        if (interleave) s.sample(4, "validation");
      }
      return out;
    };
    expect(ids(42, false)).toEqual(ids(42, false));
    expect(ids(42, true)).toEqual(ids(42, false));
    expect(ids(43, false)).not.toEqual(ids(42, false));
    // Input order does not matter.
    const a = new VectorLabelSampler(records, { seed: 5 }).sample(8).doc_ids;
    const b = new VectorLabelSampler([...records].reverse(), { seed: 5 }).sample(8).doc_ids;
    expect(a).toEqual(b);
  });

  test("the split is by doc_id: no document in both, stable across seeds, about the fraction asked", () => {
    const s1 = new VectorLabelSampler(records, { validationFraction: 0.3, seed: 1 });
    const s2 = new VectorLabelSampler(records, { validationFraction: 0.3, seed: 99 });
    const train = new Set(s1.docIds("train"));
    const val = s1.docIds("validation");
    expect(val.filter((d) => train.has(d))).toEqual([]);
    expect(train.size + val.length).toBe(100);
    expect(val.length).toBeGreaterThan(15);
    expect(val.length).toBeLessThan(45);
    expect(s2.docIds("validation")).toEqual(val);
    for (let i = 0; i < 20; i++) {
      for (const d of s1.sample(10, "train").doc_ids) expect(train.has(d)).toBe(true);
      for (const d of s1.sample(10, "validation").doc_ids) expect(train.has(d)).toBe(false);
    }
    // Another salt, another split.
    const s3 = new VectorLabelSampler(records, { validationFraction: 0.3, splitSalt: "fold-2" });
    expect(s3.docIds("validation")).not.toEqual(val);
  });

  test("one row per doc_id (the newest wins), rows without the label left out", () => {
    const dup = [
      { ...record("x", axis(8, 0), false), embedded_ts: 1 },
      { ...record("x", axis(8, 0), true), embedded_ts: 2 },
      record("y", axis(8, 1), false),
      record("z", axis(8, 2), null),
    ];
    const s = new VectorLabelSampler(dup, { validationFraction: 0 });
    expect(s.unlabelled).toBe(1);
    expect(s.counts("train")).toEqual([
      { value: false, rows: 1 },
      { value: true, rows: 1 },
    ]);
  });

  test("clear errors: no labelled row, an empty split, a bad option", () => {
    expect(() => new VectorLabelSampler([record("a", [1], null)])).toThrow(
      /no record has a value of label "success"/,
    );
    const s = new VectorLabelSampler(records.slice(0, 3), { validationFraction: 0 });
    expect(() => s.sample(4, "validation")).toThrow(/validation split is empty/);
    expect(() => [...s.batches(4, { split: "validation" })]).toThrow(/empty/);
    expect(() => new VectorLabelSampler(records, { validationFraction: 1 })).toThrow(/validationFraction/);
  });

  test("fromParquet reads the embed worker's files: labels and success as written", async () => {
    const dir = await tempDir();
    await writeFile(
      dir,
      Array.from({ length: 30 }, (_, i) =>
        row(`p${i}`, axis(4, i), { status: i % 3 ? "ok" : "failed", agent: "x" }),
      ),
    );
    await writeFile(dir, [row("p0", axis(4, 0), { status: "failed", agent: "x" })]); // a repeat
    const s = await VectorLabelSampler.fromParquet(dir, { validationFraction: 0, seed: 2 });
    expect(s.counts("train")).toEqual([
      { value: false, rows: 10 },
      { value: true, rows: 20 },
    ]);
    const b = s.sample(6);
    expect(b.values.filter((v) => v === true)).toHaveLength(3);
    for (const r of b.records) expect(r.labels.status).toBe(r.success ? "ok" : "failed");
    const byAgent = await VectorLabelSampler.fromParquet(dir, { label: "agent" });
    expect(byAgent.classes).toEqual(["x"]);
  });
});
