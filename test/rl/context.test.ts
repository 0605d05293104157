/** The vector context: batches over a Parquet folder that end, follow and abort; the env wrapper. */
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import {
  attachVectorContext,
  batchRow,
  type Env,
  MissingFolderError,
  type VectorBatch,
  vectorBatches,
} from "../../pipeline/rl/index.ts";
import { axis, cleanup, row, tempDir, writeFile } from "../helpers/rl-data.ts";

afterAll(cleanup);

const rows = (from: number, n: number, dim = 4) =>
  Array.from({ length: n }, (_, i) =>
    row(`d${String(from + i).padStart(3, "0")}`, axis(dim, from + i, 0.1), {
      status: (from + i) % 3 === 0 ? "failed" : "ok",
      agent: `a${(from + i) % 2}`,
    }),
  );

async function all(it: AsyncIterable<VectorBatch>): Promise<VectorBatch[]> {
  const out: VectorBatch[] = [];
  for await (const b of it) out.push(b);
  return out;
}

describe("vectorBatches", () => {
  test("ends once the files are read: batches of batchSize, the rest last, with labels and success", async () => {
    const dir = await tempDir();
    await writeFile(dir, rows(0, 5));
    await writeFile(dir, rows(5, 4));
    const reader = vectorBatches(dir, { batchSize: 4 });
    const batches = await all(reader);
    expect(batches.map((b) => b.rows)).toEqual([4, 4, 1]);
    const b = batches[0] as VectorBatch;
    expect(b.dim).toBe(4);
    expect(b.matrix).toBeInstanceOf(Float32Array);
    expect(b.matrix.length).toBe(16);
    expect(Array.from(batchRow(b, 1))).toEqual(Array.from(Float32Array.from(axis(4, 1, 0.1))));
    expect(b.doc_ids).toEqual(["d000", "d001", "d002", "d003"]);
    expect(b.success).toEqual([false, true, true, false]);
    expect(b.labels[1]).toEqual({ status: "ok", agent: "a1" });
    expect(batches.flatMap((x) => x.doc_ids)).toHaveLength(9);
    expect(reader.stats).toMatchObject({ files: 2, rows: 9, batches: 3, model: "test-model" });
  });

  test("an empty folder ends at once; a missing one is a clear error", async () => {
    expect(await all(vectorBatches(await tempDir()))).toEqual([]);
    const missing = join(await tempDir(), "nope");
    const err = await all(vectorBatches(missing)).catch((e: Error) => e);
    expect(err).toBeInstanceOf(MissingFolderError);
    expect(String(err)).toContain("EMBED_PARQUET_DIR");
  });

  test("rows of another model are skipped and counted; normalize gives unit rows", async () => {
    const dir = await tempDir();
    await writeFile(dir, [row("x1", [3, 4, 0, 0]), row("x2", [1, 1, 1], {}, { model: "other" })]);
    const reader = vectorBatches(dir, { normalize: true });
    const [b] = await all(reader);
    expect(b?.doc_ids).toEqual(["x1"]);
    expect(Array.from(b?.matrix ?? [])).toEqual([0.6000000238418579, 0.800000011920929, 0, 0]);
    expect(reader.stats.skipped).toEqual({ other: 1 });
  });

  test("follows new files as they land, and ends when aborted (also while waiting)", async () => {
    const dir = await tempDir();
    await writeFile(dir, rows(0, 3));
    const ctl = new AbortController();
    const seen: string[] = [];
    const done = (async () => {
      for await (const b of vectorBatches(dir, {
        batchSize: 2,
        follow: true,
        pollMs: 20,
        signal: ctl.signal,
      })) {
        seen.push(...b.doc_ids);
      }
    })();
    await waitFor(() => seen.length === 3);
    await writeFile(dir, rows(3, 2));
    await waitFor(() => seen.length === 5);
    const t0 = performance.now();
    ctl.abort();
    await done; // ends without an error
    expect(performance.now() - t0).toBeLessThan(200);
    expect(seen).toEqual(["d000", "d001", "d002", "d003", "d004"]);
  });

  test("following waits for a folder that does not exist yet", async () => {
    const dir = join(await tempDir(), "later");
    const ctl = new AbortController();
    const seen: string[] = [];
    const done = (async () => {
      for await (const b of vectorBatches(dir, { follow: true, pollMs: 20, signal: ctl.signal }))
        seen.push(...b.doc_ids);
    })();
    await Bun.sleep(50);
    await writeFile(dir, rows(0, 2));
    await waitFor(() => seen.length === 2);
    ctl.abort();
    await done;
  });

  test("an abort before iterating yields nothing", async () => {
    const dir = await tempDir();
    await writeFile(dir, rows(0, 3));
    const ctl = new AbortController();
    ctl.abort();
    expect(await all(vectorBatches(dir, { signal: ctl.signal }))).toEqual([]);
  });
});

async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await Bun.sleep(10);
  }
}

/** A toy environment whose observation is a vector: the axis of its step count. */
function makeToyEnv(): Env<number[], number> {
  let t = 0;
  return {
    reset: () => {
      t = 0;
      return axis(4, 0);
    },
    step: (a: number) => {
      t += 1;
      return { observation: axis(4, a), reward: 0, done: t >= 3 };
    },
  };
}

describe("attachVectorContext", () => {
  test("every observation carries its k nearest context vectors, with the same shape throughout", async () => {
    const dir = await tempDir();
    await writeFile(dir, [
      row("ctx0", axis(4, 0, 0.1)),
      row("ctx1", axis(4, 1, 0.1)),
      row("ctx2", axis(4, 2, 0.1)),
    ]);
    const makeEnv = attachVectorContext(makeToyEnv, dir, 2, { k: 4, query: (obs) => obs });
    const env = await makeEnv();
    const first = await env.reset();
    expect(first.observation).toEqual(axis(4, 0));
    expect(first.context_count).toBe(3);
    // ctx1 and ctx2 are both orthogonal to the query: a tie, the newer first.
    expect(first.context_doc_ids).toEqual(["ctx0", "ctx2", "ctx1", null]);
    const shapes = [first];
    for (const a of [1, 2]) shapes.push((await env.step(a)).observation);
    for (const o of shapes) {
      expect(o.context.length).toBe(4 * 4);
      expect(o.context_scores.length).toBe(4);
      expect(o.context_doc_ids).toHaveLength(4);
    }
    expect(shapes[1]?.context_doc_ids[0]).toBe("ctx1");
    expect(shapes[2]?.context_doc_ids[0]).toBe("ctx2");
    expect(shapes[1]?.context_scores[0]).toBeGreaterThan(0.99);
    // Padding: zeros beyond context_count.
    expect(Array.from(first.context.subarray(12))).toEqual([0, 0, 0, 0]);
    await env.close?.();
  });

  test("without a query the context is the newest vectors; with follow, new files join it", async () => {
    const dir = await tempDir();
    await writeFile(dir, [row("old", axis(4, 0))]);
    const makeEnv = attachVectorContext(makeToyEnv, dir, 128, { k: 2, follow: true, pollMs: 20 });
    const env = await makeEnv();
    expect((await env.reset()).context_doc_ids).toEqual(["old", null]);
    await writeFile(dir, [row("new", axis(4, 1))]);
    let ids: (string | null)[] = [];
    const until = Date.now() + 3000;
    while (Date.now() < until) {
      ids = (await env.reset()).context_doc_ids;
      if (ids[0] === "new") break;
      await Bun.sleep(20);
    }
    expect(ids).toEqual(["new", "old"]);
    await env.close?.(); // stops following
  });

  test("a folder without vectors is a clear error (the context's dimension would be unknown)", async () => {
    const dir = await tempDir();
    await expect(attachVectorContext(makeToyEnv, dir)()).rejects.toThrow(/no vectors in/);
  });
});
