/** Rows of the Parquet folder as records (labels, success, one per doc_id) and the vector memory. */
import { afterAll, describe, expect, test } from "bun:test";
import { labelsOf, readVectorFolder, VectorMemory } from "../../pipeline/rl/index.ts";
import { axis, cleanup, row, tempDir, writeFile } from "../helpers/rl-data.ts";

afterAll(cleanup);

describe("rows", () => {
  test("labels come from the labels JSON; older files' typed columns otherwise; junk is no label", () => {
    expect(labelsOf({ labels: '{"status":"ok","n":2,"bad":{"x":1}}' })).toEqual({ status: "ok", n: 2 });
    expect(labelsOf({ labels: "not json" })).toEqual({});
    expect(labelsOf({ status: "failed", agent: "x", task: null })).toEqual({ status: "failed", agent: "x" });
  });

  test("readVectorFolder: one record per doc_id (newest wins), sorted; several models need a choice", async () => {
    const dir = await tempDir();
    await writeFile(dir, [
      row("b", axis(4, 0), { status: "failed" }, { embedded_ts: 1 }),
      row("a", axis(4, 1), { status: "ok" }),
    ]);
    await writeFile(dir, [row("b", axis(4, 2), { status: "ok" }, { embedded_ts: 2 })]);
    const r = await readVectorFolder(dir);
    expect(r.records.map((x) => [x.doc_id, x.success, x.labels.status])).toEqual([
      ["a", true, "ok"],
      ["b", true, "ok"],
    ]);
    expect(r).toMatchObject({ files: 2, rows: 3, model: "test-model", skipped: {} });
    expect(r.records[0]?.vector).toBeInstanceOf(Float32Array);
    await writeFile(dir, [row("c", [1, 2], {}, { model: "other" })]);
    await expect(readVectorFolder(dir)).rejects.toThrow(
      /several models: .*test-model \(2 docs\).*other \(1 docs\)/,
    );
    expect((await readVectorFolder(dir, { model: "other" })).skipped).toEqual({ "test-model": 2 });
  });
});

describe("VectorMemory", () => {
  test("nearest by cosine (excluding ids), newest first on ties; the oldest evicted at capacity", () => {
    const m = new VectorMemory(4, 3);
    m.add(axis(4, 0), { doc_id: "x0" });
    m.add([2, 0, 0, 0], { doc_id: "x0b", success: true });
    m.add(axis(4, 1), { doc_id: "x1" });
    expect(m.nearest(axis(4, 0), 2).map((h) => [h.doc_id, h.score])).toEqual([
      ["x0b", 1],
      ["x0", 1],
    ]);
    expect(m.nearest(axis(4, 0), 1, new Set(["x0b"]))[0]?.doc_id).toBe("x0");
    m.add(axis(4, 2), { doc_id: "x2" });
    expect(m.size).toBe(3);
    expect(m.latest(5).map((h) => h.doc_id)).toEqual(["x2", "x1", "x0b"]);
    expect(m.maxSimilarity(axis(4, 3))).toBe(0);
    expect(new VectorMemory(2).maxSimilarity([1, 0])).toBeNull();
    expect(() => m.add([1, 2])).toThrow(/dimension 2/);
  });
});
