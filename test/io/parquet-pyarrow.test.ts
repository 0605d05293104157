/** Interoperability: files written by the sink, read by an independent reader (pyarrow). */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { rmSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createParquetSink,
  EMBEDDINGS_SCHEMA,
  type EmbeddingRow,
  listParquetFiles,
  PARSED_ROWS_SCHEMA,
  type ParsedRow,
} from "../../pipeline/io/parquet.ts";
import { pyarrowPython, runPyarrow } from "../helpers/pyarrow.ts";

setDefaultTimeout(300_000);

/** Prints `{schema: {field: type}, nullable: {field: bool}, metadata, rows}` of all files of a folder. */
const READ_FOLDER = `
import json, sys, pyarrow.parquet as pq
t = pq.read_table(sys.argv[1])
rows = []
for r in t.to_pylist():
    out = {}
    for k, v in r.items():
        if hasattr(v, "timestamp"):
            v = {"epoch_us": round(v.timestamp() * 1e6), "tz": str(v.tzinfo)}
        out[k] = v
    rows.append(out)
meta = {k.decode(): v.decode() for k, v in (t.schema.metadata or {}).items()}
print(json.dumps({
    "schema": {f.name: str(f.type) for f in t.schema},
    "nullable": {f.name: f.nullable for f in t.schema},
    "metadata": meta,
    "rows": sorted(rows, key=lambda r: r["doc_id"]),
}))
`;

interface Folder {
  schema: Record<string, string>;
  nullable: Record<string, boolean>;
  metadata: Record<string, string>;
  rows: Record<string, unknown>[];
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

beforeAll(async () => {
  await pyarrowPython();
});

async function write<W, R>(
  schema: typeof EMBEDDINGS_SCHEMA | typeof PARSED_ROWS_SCHEMA,
  rows: W[],
  rollRows: number,
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "pq-arrow-"));
  dirs.push(dir);
  const sink = createParquetSink<W, R>({
    dir,
    prefix: "x",
    schema: schema as never,
    rollRows,
    rollSec: 60,
  });
  await Promise.all([sink.append(rows), sink.close()]);
  return dir;
}

describe("pyarrow reads the sink's files", () => {
  test("embeddings: types, nullability, values, several files as one dataset", async () => {
    const rows: EmbeddingRow[] = [
      {
        doc_id: "a",
        topic: null,
        text: "",
        vector: [],
        dim: 0,
        model: "hash-384",
        normalized: false,
        kafka_ts: null,
        embedded_ts: 1_700_000_000.123456,
        source_topic: "embedding_input",
        source_partition: 0,
        source_offset: "0",
      },
      {
        doc_id: "b",
        topic: "agent.results",
        text: "héllo 🌍 日本",
        vector: [0.5, -1.5, 0.1],
        dim: 3,
        model: "glove-100d-sif",
        normalized: true,
        kafka_ts: 1_700_000_000_999,
        embedded_ts: 1_700_000_001.5,
        success: true,
        status: "passed",
        agent: "coder",
        task: "T-9",
        reward: 0.75,
        episode: "ep-1",
        labels: '{"status":"passed","agent":"coder","task":"T-9","reward":0.75,"episode":"ep-1"}',
        source_topic: "embedding_input",
        source_partition: 2,
        source_offset: 9_007_199_254_740_991n,
      },
      {
        doc_id: "c",
        topic: "agent.results",
        text: "third, in its own file",
        vector: new Float32Array([1, 2]),
        dim: 2,
        model: "glove-100d-sif",
        normalized: true,
        kafka_ts: 0,
        embedded_ts: 1.25,
        source_topic: "embedding_input",
        source_partition: 1,
        source_offset: 7,
      },
    ];
    const dir = await write(EMBEDDINGS_SCHEMA, rows, 2);
    expect((await listParquetFiles(dir)).length).toBe(2);
    const got = await runPyarrow<Folder>(READ_FOLDER, [dir]);

    expect(got.schema).toEqual({
      doc_id: "string",
      topic: "string",
      text: "string",
      vector: "list<element: float>",
      dim: "int32",
      model: "string",
      normalized: "bool",
      kafka_ts: "timestamp[ms, tz=UTC]",
      embedded_ts: "timestamp[us, tz=UTC]",
      success: "bool",
      status: "string",
      agent: "string",
      task: "string",
      reward: "double",
      episode: "string",
      labels: "string",
      source_topic: "string",
      source_partition: "int32",
      source_offset: "int64",
    });
    expect(got.nullable).toMatchObject({
      doc_id: false,
      topic: true,
      kafka_ts: true,
      vector: false,
      success: true,
      reward: true,
      labels: false,
    });
    expect(got.metadata["rl-embeddings.schema"]).toBe("embeddings/v2");

    expect(got.rows[0]).toEqual({
      doc_id: "a",
      topic: null,
      text: "",
      vector: [],
      dim: 0,
      model: "hash-384",
      normalized: false,
      kafka_ts: null,
      embedded_ts: { epoch_us: 1_700_000_000_123_456, tz: "UTC" },
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
    expect(got.rows[1]).toMatchObject({
      topic: "agent.results",
      text: "héllo 🌍 日本",
      dim: 3,
      normalized: true,
      kafka_ts: { epoch_us: 1_700_000_000_999_000, tz: "UTC" },
      embedded_ts: { epoch_us: 1_700_000_001_500_000, tz: "UTC" },
      source_partition: 2,
      source_offset: 9_007_199_254_740_991,
      success: true,
      status: "passed",
      reward: 0.75,
      episode: "ep-1",
    });
    expect(JSON.parse(got.rows[1]?.labels as string)).toMatchObject({ agent: "coder", reward: 0.75 });
    expect(got.rows[1]?.vector).toEqual([0.5, -1.5, Math.fround(0.1)]);
    expect(got.rows[2]).toMatchObject({
      vector: [1, 2],
      kafka_ts: { epoch_us: 0, tz: "UTC" },
      embedded_ts: { epoch_us: 1_250_000, tz: "UTC" },
    });
  });

  test("parsed rows: types and values", async () => {
    const rows: ParsedRow[] = [
      {
        doc_id: "p1",
        topic: null,
        text: "",
        kafka_ts: null,
        truncated: false,
        parsed_ts: 1_700_000_000.25,
        source_topic: "agent.results",
        source_partition: 0,
        source_offset: 1,
      },
      {
        doc_id: "p2",
        topic: "agent.results",
        text: "ünïcode ✓",
        kafka_ts: 1_700_000_000_001,
        truncated: true,
        parsed_ts: 1_700_000_000.5,
        success: false,
        labels: '{"status":"failed"}',
        source_topic: "agent.results",
        source_partition: 1,
        source_offset: "2",
      },
    ];
    const dir = await write(PARSED_ROWS_SCHEMA, rows, 10);
    const got = await runPyarrow<Folder>(READ_FOLDER, [dir]);
    expect(got.schema).toEqual({
      doc_id: "string",
      topic: "string",
      text: "string",
      kafka_ts: "timestamp[ms, tz=UTC]",
      truncated: "bool",
      parsed_ts: "timestamp[us, tz=UTC]",
      success: "bool",
      labels: "string",
      source_topic: "string",
      source_partition: "int32",
      source_offset: "int64",
    });
    expect(got.metadata["rl-embeddings.schema"]).toBe("parsed/v2");
    expect(got.rows).toEqual([
      {
        doc_id: "p1",
        topic: null,
        text: "",
        kafka_ts: null,
        truncated: false,
        parsed_ts: { epoch_us: 1_700_000_000_250_000, tz: "UTC" },
        success: null,
        labels: "{}",
        source_topic: "agent.results",
        source_partition: 0,
        source_offset: 1,
      },
      {
        doc_id: "p2",
        topic: "agent.results",
        text: "ünïcode ✓",
        kafka_ts: { epoch_us: 1_700_000_000_001_000, tz: "UTC" },
        truncated: true,
        parsed_ts: { epoch_us: 1_700_000_000_500_000, tz: "UTC" },
        success: false,
        labels: '{"status":"failed"}',
        source_topic: "agent.results",
        source_partition: 1,
        source_offset: 2,
      },
    ]);
  });
});
