/**
 * The Parquet folder as a two-phase participant of exactly-once: staged rows are written as
 * hidden `.pending` files (readers see nothing) and appear only on publish; discard removes
 * them; at start, recover publishes this instance's pending files of committed transactions
 * and deletes the rest (and cut-short `.tmp` files), leaving other instances' files alone.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Output } from "../../pipeline/core/source.ts";
import {
  EMBEDDINGS_SCHEMA,
  type EmbeddingRow,
  listParquetFiles,
  readParquetRows,
} from "../../pipeline/io/parquet.ts";
import { parquetStageSink } from "../../pipeline/io/parquet-stage-sink.ts";

const root = mkdtempSync(join(tmpdir(), "rl-embeddings-parquet-txn-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

type Value = { doc_id: string };
const output = (i: number): Output<Value> => ({
  record: {
    topic: "embedding_input",
    partition: 0,
    offset: String(i),
    key: null,
    value: null,
    timestamp: 0,
    headers: {},
  },
  value: { doc_id: `d-${i}` },
});

function sinkIn(dir: string, instanceId = "0", rollRows = 2) {
  const s = parquetStageSink<Value, EmbeddingRow>({
    dir,
    prefix: "embeddings",
    schema: EMBEDDINGS_SCHEMA,
    rollRows,
    rollSec: 1,
    exactlyOnce: { instanceId },
    toRow: (o) => ({
      doc_id: o.value.doc_id,
      text: "t",
      topic: "agent.results",
      kafka_ts: null,
      embedded_ts: 1,
      model: "hash-4",
      dim: 4,
      normalized: true,
      vector: [1, 0, 0, 0],
    }),
  });
  return { ...s, phase: s.sink.twoPhase as NonNullable<typeof s.sink.twoPhase> };
}

const docIds = async (dir: string) =>
  (await Promise.all((await listParquetFiles(dir)).map((f) => readParquetRows<{ doc_id: string }>(f.path))))
    .flat()
    .map((r) => r.doc_id)
    .sort();

describe("transactional Parquet", () => {
  test("prepared rows stay hidden until publish; a file holds at most rollRows rows", async () => {
    const dir = join(root, "publish");
    const p = sinkIn(dir);
    await p.sink.write([output(0), output(1), output(2)]);
    await p.phase.prepare(1);
    expect(await docIds(dir)).toEqual([]);
    expect(readdirSync(dir).filter((n) => n.endsWith(".pending"))).toHaveLength(2);
    await p.phase.prepare(1); // a retried commit: nothing written twice
    expect(readdirSync(dir).filter((n) => n.endsWith(".pending"))).toHaveLength(2);
    await p.phase.publish(1);
    expect(await docIds(dir)).toEqual(["d-0", "d-1", "d-2"]);
    expect(readdirSync(dir).filter((n) => n.startsWith("."))).toEqual([]);
    expect(p.stats()).toMatchObject({ files_written: 2, rows_written: 3, pending_rows: 0 });
  });

  test("discard drops what the aborted transaction staged", async () => {
    const dir = join(root, "discard");
    const p = sinkIn(dir);
    await p.sink.write([output(0)]);
    await p.phase.prepare(1);
    await p.phase.discard(1);
    await p.sink.write([output(1)]);
    await p.phase.prepare(1);
    await p.phase.publish(1);
    expect(await docIds(dir)).toEqual(["d-1"]);
    expect(readdirSync(dir)).toHaveLength(1);
  });

  test("recover publishes committed transactions' files, deletes the rest, leaves other instances alone", async () => {
    const dir = join(root, "recover");
    const crashed = sinkIn(dir, "a");
    await crashed.sink.write([output(0)]);
    await crashed.phase.prepare(7); // committed before the crash, not yet renamed
    const crashed2 = sinkIn(dir, "a");
    await crashed2.sink.write([output(1)]);
    await crashed2.phase.prepare(8); // never committed
    const other = sinkIn(dir, "b");
    await other.sink.write([output(2)]);
    await other.phase.prepare(9); // another instance's open transaction
    const cut = readdirSync(dir)
      .find((n) => n.includes("-a-t8-"))
      ?.replace(".pending", ".tmp") as string;
    writeFileSync(join(dir, cut), "cut short");

    await sinkIn(dir, "a").phase.recover(7);
    expect(await docIds(dir)).toEqual(["d-0"]);
    const left = readdirSync(dir).sort();
    expect(left.filter((n) => n.includes("-a-"))).toHaveLength(1);
    expect(left.filter((n) => n.includes("-b-t9-") && n.endsWith(".pending"))).toHaveLength(1);
  });
});
