import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createParquetSink,
  EMBEDDINGS_SCHEMA,
  type EmbeddingRow,
  folderStats,
  latestRows,
  listParquetFiles,
  PARSED_ROWS_SCHEMA,
  ParquetRowError,
  ParquetSinkClosedError,
  type ParsedRow,
  parquetFileBase,
  parquetReadCounters,
  type RollInfo,
  readParquetRows,
  type StoredEmbeddingRow,
  type StoredParsedRow,
} from "../../pipeline/io/parquet.ts";

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "pq-test-"));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Polls `cond` every 5 ms until it holds (or fails the test after `ms`). */
async function waitFor(cond: () => boolean, ms = 4000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await Bun.sleep(5);
  }
}

/** Resolves to true once `p` has settled, false if it is still pending after the microtask queue drains. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  await Bun.sleep(0);
  return done;
}

function embedding(i: number, over: Partial<EmbeddingRow> = {}): EmbeddingRow {
  const vector = [i, 0.5, -1.25, 1 / 3];
  return {
    doc_id: `doc-${i}`,
    topic: "agent.results",
    text: `text ${i}`,
    vector,
    dim: vector.length,
    model: "hash-4",
    normalized: false,
    kafka_ts: 1_700_000_000_000 + i,
    embedded_ts: 1_700_000_100.25 + i,
    source_topic: "embedding_input",
    source_partition: i % 3,
    source_offset: i,
    ...over,
  };
}

const sinkOpts = { prefix: "emb", schema: EMBEDDINGS_SCHEMA, rollRows: 1000, rollSec: 60 };

describe("round trip", () => {
  test("every embeddings column, nulls, empty text and vector, unicode, offsets", async () => {
    const dir = await tempDir();
    const sink = createParquetSink({ ...sinkOpts, dir });
    const rows: EmbeddingRow[] = [
      embedding(0, { topic: null, kafka_ts: null, text: "" }),
      embedding(1, {
        text: "héllo wörld — 日本語 🌍🚀 \u0000 end",
        doc_id: "ünï-✓",
        success: false,
        status: "failed",
        agent: "coder",
        task: "T-1",
        reward: -0.25,
        episode: "ep-7",
        labels: '{"status":"failed","agent":"coder","reward":-0.25}',
      }),
      embedding(2, { vector: [], dim: 0, normalized: true }),
      embedding(3, {
        vector: new Float32Array([0.1, -0.2, 3.5e-8]),
        dim: 3,
        source_offset: "9007199254740991",
      }),
      embedding(4, {
        source_offset: 123456789012n,
        source_partition: 2_147_483_647,
        embedded_ts: 1_700_000_000.123456,
      }),
    ];
    await Promise.all([sink.append(rows), sink.close()]);
    const [file] = await listParquetFiles(dir);
    expect(file).toBeDefined();
    const back = await readParquetRows<StoredEmbeddingRow>(file?.path ?? "");
    expect(back.length).toBe(rows.length);

    expect(back[0]).toEqual({
      doc_id: "doc-0",
      topic: null,
      text: "",
      vector: [0, 0.5, -1.25, Math.fround(1 / 3)],
      dim: 4,
      model: "hash-4",
      normalized: false,
      kafka_ts: null,
      embedded_ts: 1_700_000_100_250,
      // Label columns absent from the row: null, and labels "{}" (the column's default).
      success: null,
      status: null,
      agent: null,
      task: null,
      reward: null,
      episode: null,
      labels: "{}",
      source_topic: "embedding_input",
      source_partition: 0,
      source_offset: 0,
    });
    expect(back[1]?.text).toBe("héllo wörld — 日本語 🌍🚀 \u0000 end");
    expect(back[1]?.doc_id).toBe("ünï-✓");
    expect(back[1]?.topic).toBe("agent.results");
    expect(back[1]?.kafka_ts).toBe(1_700_000_000_001);
    expect(back[1]).toMatchObject({
      success: false,
      status: "failed",
      agent: "coder",
      task: "T-1",
      reward: -0.25,
      episode: "ep-7",
      labels: '{"status":"failed","agent":"coder","reward":-0.25}',
    });
    expect(back[2]?.vector).toEqual([]);
    expect(back[2]?.dim).toBe(0);
    expect(back[2]?.normalized).toBe(true);
    expect(back[3]?.vector).toEqual([Math.fround(0.1), Math.fround(-0.2), Math.fround(3.5e-8)]);
    expect(back[3]?.source_offset).toBe(9_007_199_254_740_991);
    expect(back[4]?.source_offset).toBe(123_456_789_012);
    expect(back[4]?.source_partition).toBe(2_147_483_647);
    // Seconds in, milliseconds out, microsecond precision kept.
    expect(back[4]?.embedded_ts).toBeCloseTo(1_700_000_000_123.456, 3);
  });

  test("parsed rows", async () => {
    const dir = await tempDir();
    const sink = createParquetSink({
      dir,
      prefix: "parsed",
      schema: PARSED_ROWS_SCHEMA,
      rollRows: 10,
      rollSec: 60,
    });
    const rows: ParsedRow[] = [
      {
        doc_id: "a",
        topic: null,
        text: "",
        kafka_ts: null,
        truncated: false,
        parsed_ts: 1_700_000_000.5,
        source_topic: "agent.results",
        source_partition: 1,
        source_offset: "42",
      },
      {
        doc_id: "b",
        topic: "agent.results",
        text: "ok ✓",
        kafka_ts: 1_700_000_000_999,
        truncated: true,
        parsed_ts: 1_700_000_001,
        success: true,
        labels: '{"status":"ok"}',
        source_topic: "agent.results",
        source_partition: 0,
        source_offset: 0,
      },
    ];
    await Promise.all([sink.append(rows), sink.close()]);
    const files = await listParquetFiles(dir, "parsed");
    expect(files.length).toBe(1);
    const back = await readParquetRows<StoredParsedRow>(files[0]?.path ?? "");
    expect(back).toEqual([
      {
        doc_id: "a",
        topic: null,
        text: "",
        kafka_ts: null,
        truncated: false,
        parsed_ts: 1_700_000_000_500,
        success: null,
        labels: "{}",
        source_topic: "agent.results",
        source_partition: 1,
        source_offset: 42,
      },
      {
        doc_id: "b",
        topic: "agent.results",
        text: "ok ✓",
        kafka_ts: 1_700_000_000_999,
        truncated: true,
        parsed_ts: 1_700_000_001_000,
        success: true,
        labels: '{"status":"ok"}',
        source_topic: "agent.results",
        source_partition: 0,
        source_offset: 0,
      },
    ]);
  });

  test("a row that does not fit the schema rejects the append and buffers nothing", async () => {
    const dir = await tempDir();
    const sink = createParquetSink({ ...sinkOpts, dir });
    const bad: unknown[] = [
      { ...embedding(1), doc_id: null },
      { ...embedding(1), dim: 3 },
      { ...embedding(1), vector: [1, Number.NaN, 0, 0] },
      { ...embedding(1), kafka_ts: "2024-01-01T00:00:00Z" },
      { ...embedding(1), source_partition: 2 ** 31 },
      { ...embedding(1), source_offset: "12x" },
      { ...embedding(1), normalized: "yes" },
    ];
    for (const row of bad) {
      const err = await sink.append([embedding(0), row as EmbeddingRow]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ParquetRowError);
      expect((err as ParquetRowError).rowIndex).toBe(1);
      expect(sink.stats().pending_rows).toBe(0);
    }
    await sink.close();
    expect(await listParquetFiles(dir)).toEqual([]);
  });
});

describe("rolling", () => {
  test("rolls by rows; the partial remainder waits for its roll", async () => {
    const dir = await tempDir();
    const sink = createParquetSink({ ...sinkOpts, dir, rollRows: 3 });
    const first = sink.append([0, 1, 2, 3, 4, 5, 6].map((i) => embedding(i)));
    await waitFor(() => sink.stats().files_written === 2);
    expect(sink.stats().pending_rows).toBe(1);
    // Rows 0..5 are durable but row 6 is not: the append is still pending.
    expect(await settled(first)).toBe(false);
    const second = sink.append([embedding(7), embedding(8)]);
    await Promise.all([first, second]);
    const files = await listParquetFiles(dir);
    expect(files.length).toBe(3);
    expect(sink.stats()).toMatchObject({
      files_written: 3,
      rows_written: 9,
      pending_rows: 0,
      write_errors: 0,
    });
    // Every file holds at most rollRows rows, and name order is write order.
    const names = files.map((f) => f.name).sort();
    const all: string[] = [];
    for (const n of names) {
      const rows = await readParquetRows<StoredEmbeddingRow>(join(dir, n), { columns: ["doc_id"] });
      expect(rows.length).toBe(3);
      all.push(...rows.map((r) => r.doc_id));
    }
    expect(all).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8].map((i) => `doc-${i}`));
    await sink.close();
  });

  test("rolls by time with no further append: the append resolves on its own", async () => {
    const dir = await tempDir();
    const sink = createParquetSink({ ...sinkOpts, dir, rollSec: 0.15 });
    const started = Date.now();
    await sink.append([embedding(1), embedding(2)]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    const files = await listParquetFiles(dir);
    expect(files.length).toBe(1);
    expect((await readParquetRows(files[0]?.path ?? "")).length).toBe(2);
    expect(sink.stats().last_roll_ts).toBeGreaterThanOrEqual(started);
    // The timer re-arms for rows arriving after a roll.
    await sink.append([embedding(3)]);
    expect((await listParquetFiles(dir)).length).toBe(2);
    await sink.close();
  });

  test("the age counts from the oldest buffered row", async () => {
    const dir = await tempDir();
    const rolls: RollInfo[] = [];
    const sink = createParquetSink({ ...sinkOpts, dir, rollSec: 0.4, onRoll: (r) => rolls.push(r) });
    const started = Date.now();
    const a = sink.append([embedding(1)]);
    await Bun.sleep(250); // the second row arrives later on purpose
    const b = sink.append([embedding(2)]);
    await Promise.all([a, b]);
    const elapsed = Date.now() - started;
    // One file with both rows, written ~0.4 s after the first row (not 0.65 s, after the second).
    expect(rolls.map((r) => r.rows)).toEqual([2]);
    expect(elapsed).toBeGreaterThanOrEqual(390);
    expect(elapsed).toBeLessThan(600);
    await sink.close();
  });

  test("append resolves only after its file exists (renamed, no temp left)", async () => {
    const dir = join(await tempDir(), "out");
    const rolls: RollInfo[] = [];
    const sink = createParquetSink({ ...sinkOpts, dir, onRoll: (r) => rolls.push(r) });
    let seenAtResolve: string[] | undefined;
    const p = sink.append([embedding(1)]).then(() => {
      seenAtResolve = readdirSync(dir);
    });
    expect(await settled(p)).toBe(false);
    expect(existsSync(dir)).toBe(false); // created on the first roll
    await sink.flush();
    await p;
    expect(rolls.length).toBe(1);
    const name = rolls[0]?.file.split("/").at(-1) ?? "";
    expect(name).toMatch(/^emb-\d{8}T\d{9}Z-\d+-\d{6}-[0-9a-f]{8}\.parquet$/);
    expect(seenAtResolve).toEqual([name]);
    expect(statSync(rolls[0]?.file ?? "").size).toBe(rolls[0]?.bytes ?? -1);
    await sink.close();
  });

  test("many quick rolls, and names made in one millisecond, are unique and time-ordered", async () => {
    const dir = await tempDir();
    const rolls: RollInfo[] = [];
    const sink = createParquetSink({ ...sinkOpts, dir, rollRows: 1, onRoll: (r) => rolls.push(r) });
    await sink.append(Array.from({ length: 100 }, (_, i) => embedding(i)));
    await sink.close();
    const names = readdirSync(dir);
    expect(names.length).toBe(100);
    expect(new Set(names).size).toBe(100);
    expect([...names].sort()).toEqual(rolls.map((r) => r.file.split("/").at(-1) ?? ""));

    const now = Date.now();
    const bases = Array.from({ length: 1000 }, () => parquetFileBase("x", now));
    expect(new Set(bases).size).toBe(1000);
    expect([...bases].sort()).toEqual(bases);
    expect(parquetFileBase("x", now + 1) > (bases.at(-1) ?? "")).toBe(true);
  });

  test("concurrent appends keep their order across files", async () => {
    const dir = await tempDir();
    const sink = createParquetSink({ ...sinkOpts, dir, rollRows: 4 });
    await Promise.all([...Array.from({ length: 30 }, (_, i) => sink.append([embedding(i)])), sink.close()]);
    const files = (await listParquetFiles(dir)).map((f) => f.name).sort();
    expect(files.length).toBe(8);
    const ids: string[] = [];
    for (const n of files)
      ids.push(...(await readParquetRows<StoredEmbeddingRow>(join(dir, n))).map((r) => r.doc_id));
    expect(ids).toEqual(Array.from({ length: 30 }, (_, i) => `doc-${i}`));
  });

  test("close flushes, then refuses appends", async () => {
    const dir = await tempDir();
    const sink = createParquetSink({ ...sinkOpts, dir });
    const p = sink.append([embedding(1)]);
    await sink.close();
    await p;
    expect(sink.stats()).toMatchObject({ files_written: 1, pending_rows: 0 });
    await expect(sink.append([embedding(2)])).rejects.toBeInstanceOf(ParquetSinkClosedError);
  });
});

describe("write errors", () => {
  test("reject the pending appends, are counted, keep the rows for a retry", async () => {
    const base = await tempDir();
    const blocker = join(base, "not-a-dir");
    writeFileSync(blocker, "a regular file where the folder's parent should be");
    const dir = join(blocker, "out"); // mkdir fails with ENOTDIR, even as root
    const sink = createParquetSink({ ...sinkOpts, dir, rollRows: 2, rollSec: 60 });

    const err = await sink.append([embedding(1), embedding(2)]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as NodeJS.ErrnoException).code).toBe("ENOTDIR");
    expect(sink.stats()).toMatchObject({ write_errors: 1, files_written: 0, pending_rows: 2 });
    expect(sink.stats().last_error).toContain("ENOTDIR");

    // flush retries at once and fails again while the cause is there.
    await expect(sink.flush()).rejects.toThrow(/ENOTDIR/);
    await waitFor(() => sink.stats().write_errors >= 2);

    // Remove the cause: the automatic retry (backoff) writes the buffered rows exactly once.
    rmSync(blocker);
    mkdirSync(blocker);
    await waitFor(() => sink.stats().files_written === 1, 8000);
    expect(sink.stats()).toMatchObject({ pending_rows: 0, rows_written: 2, last_error: null });
    const files = await listParquetFiles(dir);
    expect(files.length).toBe(1);
    expect((await readParquetRows<StoredEmbeddingRow>(files[0]?.path ?? "")).map((r) => r.doc_id)).toEqual([
      "doc-1",
      "doc-2",
    ]);
    // A later append resolving means everything before it is durable too.
    await Promise.all([sink.append([embedding(3)]), sink.flush()]);
    await sink.close();
    expect(readdirSync(dir).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });

  test("an append made while the sink is failing is rejected too", async () => {
    const base = await tempDir();
    const blocker = join(base, "f");
    writeFileSync(blocker, "");
    const sink = createParquetSink({ ...sinkOpts, dir: join(blocker, "x"), rollRows: 1 });
    const results = await Promise.allSettled([sink.append([embedding(1)]), sink.append([embedding(2)])]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    expect(sink.stats().write_errors).toBeGreaterThanOrEqual(1);
    expect(sink.stats().pending_rows).toBe(2);
    await expect(sink.close()).rejects.toThrow(/ENOTDIR/);
  });
});

describe("readers", () => {
  async function filled(dir: string, n: number, rollRows: number, prefix = "emb"): Promise<void> {
    const sink = createParquetSink({ ...sinkOpts, dir, prefix, rollRows });
    await Promise.all([sink.append(Array.from({ length: n }, (_, i) => embedding(i))), sink.close()]);
  }

  test("ignore temp, hidden and non-parquet files", async () => {
    const dir = await tempDir();
    await filled(dir, 3, 10);
    writeFileSync(join(dir, ".emb-20990101T000000000Z-1-000001-deadbeef.tmp"), "half a file");
    writeFileSync(join(dir, ".hidden.parquet"), "not complete");
    writeFileSync(join(dir, "notes.txt"), "hello");
    mkdirSync(join(dir, "sub.parquet"));
    const files = await listParquetFiles(dir);
    expect(files.length).toBe(1);
    expect(await folderStats(dir)).toMatchObject({ files: 1, rows: 3, unreadable: 0 });
    expect((await latestRows(dir, 10)).length).toBe(3);
  });

  test("folderStats reads each footer once, then only new files", async () => {
    const dir = await tempDir();
    expect(await folderStats(join(dir, "missing"))).toEqual({
      files: 0,
      bytes: 0,
      rows: 0,
      latest_ts: null,
      unreadable: 0,
    });
    await filled(dir, 7, 3); // files of 3, 3, 1 rows
    const c0 = parquetReadCounters();
    const s1 = await folderStats(dir);
    const c1 = parquetReadCounters();
    expect(c1.footer_reads - c0.footer_reads).toBe(3);
    expect(c1.files_read).toBe(c0.files_read); // footers only, never row data
    const files = await listParquetFiles(dir);
    expect(s1).toEqual({
      files: 3,
      bytes: files.reduce((a, f) => a + f.size, 0),
      rows: 7,
      latest_ts: Math.max(...files.map((f) => f.mtimeMs)),
      unreadable: 0,
    });

    expect(await folderStats(dir)).toEqual(s1);
    expect(parquetReadCounters().footer_reads).toBe(c1.footer_reads);

    await filled(dir, 2, 10); // one more file
    const s3 = await folderStats(dir);
    expect(parquetReadCounters().footer_reads).toBe(c1.footer_reads + 1);
    expect(s3).toMatchObject({ files: 4, rows: 9 });

    // A file that is not Parquet counts as unreadable (once), a removed file disappears.
    writeFileSync(join(dir, "broken.parquet"), "PAR1 garbage");
    expect(await folderStats(dir)).toMatchObject({ files: 5, rows: 9, unreadable: 1 });
    expect(await folderStats(dir)).toMatchObject({ files: 5, rows: 9, unreadable: 1 });
    expect(parquetReadCounters().footer_reads).toBe(c1.footer_reads + 2);
    rmSync(join(dir, "broken.parquet"));
    rmSync(files[0]?.path ?? "");
    expect(await folderStats(dir)).toMatchObject({ files: 3, unreadable: 0 });
    expect(parquetReadCounters().footer_reads).toBe(c1.footer_reads + 2);
  });

  test("latestRows returns the newest n rows, reading only the files it needs", async () => {
    const dir = await tempDir();
    await filled(dir, 10, 3); // files: 0-2, 3-5, 6-8, 9
    await filled(dir, 2, 10, "other"); // newest files, but another prefix

    const c0 = parquetReadCounters();
    const rows = await latestRows<StoredEmbeddingRow>(dir, 5, "emb", {
      columns: ["doc_id", "text", "model", "normalized", "vector"],
    });
    expect(rows.map((r) => r.doc_id)).toEqual(["doc-5", "doc-6", "doc-7", "doc-8", "doc-9"]);
    expect(Object.keys(rows[0] ?? {}).sort()).toEqual(["doc_id", "model", "normalized", "text", "vector"]);
    expect(rows[4]?.vector).toEqual([9, 0.5, -1.25, Math.fround(1 / 3)]);
    expect(parquetReadCounters().files_read - c0.files_read).toBe(3);

    expect((await latestRows<StoredEmbeddingRow>(dir, 2)).map((r) => r.doc_id)).toEqual(["doc-0", "doc-1"]);
    expect((await latestRows(dir, 100, "emb")).length).toBe(10);
    expect(await latestRows(dir, 0)).toEqual([]);
    expect(await latestRows(join(dir, "missing"), 5)).toEqual([]);
  });
});
