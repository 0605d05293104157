/**
 * Fixed Parquet schemas of the pipeline's training output, row validation, and the
 * conversion of validated rows into the column arrays `hyparquet-writer` encodes.
 *
 * A schema is declared once, up front, and every file written with it has exactly that
 * schema: nothing is inferred from a batch, so empty vectors stay `list<float>` (never
 * `list<null>`) and a nullable column that happens to be all null keeps its type.
 *
 * Units (one per field, on purpose):
 * - `kafka_ts`: input epoch **milliseconds** (number) or null; stored TIMESTAMP(MILLIS, UTC).
 * - `embedded_ts`, `parsed_ts`: input epoch **seconds** as a float (the stage's wall clock,
 *   as the reference's `embedded_ts`); stored TIMESTAMP(MICROS, UTC).
 * - Readers return every timestamp as epoch milliseconds (a micros column can carry a
 *   fractional millisecond).
 */
import type { ColumnSource, SchemaElement } from "hyparquet-writer";
import type { LabelColumns } from "../contracts/records.ts";

/** How one column is stored. */
export type ColumnKind =
  | "string"
  | "int32"
  | "int64"
  | "boolean"
  /** DOUBLE. */
  | "double"
  /** LIST<FLOAT>: a 3-level list of float32 elements. */
  | "float_list"
  /** TIMESTAMP(MILLIS, UTC); input epoch milliseconds. */
  | "timestamp_ms"
  /** TIMESTAMP(MICROS, UTC); input epoch seconds (float). */
  | "timestamp_s_as_us";

/** One column of a fixed schema. */
export interface ColumnSpec {
  readonly name: string;
  readonly kind: ColumnKind;
  /** Null (or undefined) allowed. */
  readonly nullable: boolean;
  /** Stored when the row has no value (null or undefined) for this column. */
  readonly default?: string | number | boolean;
}

/**
 * A fixed schema. `W` is the row type `append` accepts, `R` the row type the readers
 * return; the two differ only in units and number types (see the module doc).
 */
export interface ParquetSchema<W, R> {
  /** Name stored in each file's key-value metadata (`rl-embeddings.schema`). */
  readonly name: string;
  readonly columns: readonly ColumnSpec[];
  /** Type carrier only; never set. */
  readonly _rows?: { write: W; read: R };
}

/** Kafka coordinates of the record a row came from (the same three columns in both schemas). */
export interface Provenance {
  source_topic: string;
  source_partition: number;
  /** Kafka offset; kafkajs hands offsets out as strings, which are accepted. */
  source_offset: number | bigint | string;
}

/**
 * The labels of a row: typed columns for the well-known ones (`labelColumns` of
 * contracts/records.ts: null when absent or of another type) and the whole `labels` object as
 * JSON text ("{}" when none).
 */
export type LabelFields = LabelColumns & { labels: string };

/** A row of the embeddings output, as appended. */
export interface EmbeddingRow extends Provenance, Partial<LabelFields> {
  doc_id: string;
  topic: string | null;
  text: string;
  vector: ArrayLike<number>;
  /** Must equal `vector.length`. */
  dim: number;
  model: string;
  normalized: boolean;
  /** Epoch milliseconds of the source Kafka record, or null. */
  kafka_ts: number | null;
  /** Epoch **seconds** (float) when the vector was produced. */
  embedded_ts: number;
}

/** A row of the embeddings output, as read back (files of `embeddings/v1` have no label columns). */
export interface StoredEmbeddingRow extends Partial<LabelFields> {
  doc_id: string;
  topic: string | null;
  text: string;
  /** float32 values widened to numbers. */
  vector: number[];
  dim: number;
  model: string;
  normalized: boolean;
  /** Epoch milliseconds, or null. */
  kafka_ts: number | null;
  /** Epoch **milliseconds** (microsecond precision, so possibly fractional). */
  embedded_ts: number;
  source_topic: string;
  source_partition: number;
  source_offset: number;
}

/** A row of the parse stage's optional output, as appended. */
export interface ParsedRow extends Provenance, Partial<Pick<LabelFields, "success" | "labels">> {
  doc_id: string;
  topic: string | null;
  text: string;
  /** Epoch milliseconds of the source Kafka record, or null. */
  kafka_ts: number | null;
  truncated: boolean;
  /** Epoch **seconds** (float) when the record was parsed. */
  parsed_ts: number;
}

/** A row of the parse stage's output, as read back. */
export interface StoredParsedRow extends Partial<Pick<LabelFields, "success" | "labels">> {
  doc_id: string;
  topic: string | null;
  text: string;
  /** Epoch milliseconds, or null. */
  kafka_ts: number | null;
  truncated: boolean;
  /** Epoch **milliseconds** (possibly fractional). */
  parsed_ts: number;
  source_topic: string;
  source_partition: number;
  source_offset: number;
}

/** Declares a fixed schema (column names must be unique). */
export function defineParquetSchema<W, R>(name: string, columns: readonly ColumnSpec[]): ParquetSchema<W, R> {
  const seen = new Set<string>();
  for (const c of columns) {
    if (seen.has(c.name)) throw new Error(`parquet schema ${name}: duplicate column ${c.name}`);
    seen.add(c.name);
  }
  if (columns.length === 0) throw new Error(`parquet schema ${name}: no columns`);
  return Object.freeze({ name, columns: Object.freeze([...columns]) });
}

const labelColumns: ColumnSpec[] = [
  { name: "success", kind: "boolean", nullable: true },
  { name: "status", kind: "string", nullable: true },
  { name: "agent", kind: "string", nullable: true },
  { name: "task", kind: "string", nullable: true },
  { name: "reward", kind: "double", nullable: true },
  { name: "episode", kind: "string", nullable: true },
  { name: "labels", kind: "string", nullable: false, default: "{}" },
];

const provenance: ColumnSpec[] = [
  { name: "source_topic", kind: "string", nullable: false },
  { name: "source_partition", kind: "int32", nullable: false },
  { name: "source_offset", kind: "int64", nullable: false },
];

/** The embed worker's training output. */
export const EMBEDDINGS_SCHEMA: ParquetSchema<EmbeddingRow, StoredEmbeddingRow> = defineParquetSchema(
  "embeddings/v2",
  [
    { name: "doc_id", kind: "string", nullable: false },
    { name: "topic", kind: "string", nullable: true },
    { name: "text", kind: "string", nullable: false },
    { name: "vector", kind: "float_list", nullable: false },
    { name: "dim", kind: "int32", nullable: false },
    { name: "model", kind: "string", nullable: false },
    { name: "normalized", kind: "boolean", nullable: false },
    { name: "kafka_ts", kind: "timestamp_ms", nullable: true },
    { name: "embedded_ts", kind: "timestamp_s_as_us", nullable: false },
    ...labelColumns,
    ...provenance,
  ],
);

/** The parse stage's optional output (`VEC_OUTPUT_DIR`). */
export const PARSED_ROWS_SCHEMA: ParquetSchema<ParsedRow, StoredParsedRow> = defineParquetSchema(
  "parsed/v2",
  [
    { name: "doc_id", kind: "string", nullable: false },
    { name: "topic", kind: "string", nullable: true },
    { name: "text", kind: "string", nullable: false },
    { name: "kafka_ts", kind: "timestamp_ms", nullable: true },
    { name: "truncated", kind: "boolean", nullable: false },
    { name: "parsed_ts", kind: "timestamp_s_as_us", nullable: false },
    { name: "success", kind: "boolean", nullable: true },
    { name: "labels", kind: "string", nullable: false, default: "{}" },
    ...provenance,
  ],
);

/** A row that does not fit the schema; `append` rejects with it and buffers nothing. */
export class ParquetRowError extends Error {
  constructor(
    readonly schema: string,
    readonly rowIndex: number,
    readonly column: string,
    message: string,
  ) {
    super(`parquet ${schema}: row ${rowIndex}, column ${column}: ${message}`);
    this.name = "ParquetRowError";
  }
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Parquet schema elements (flat, pre-order) for a fixed schema. */
export function schemaElements(schema: ParquetSchema<unknown, unknown>): SchemaElement[] {
  const out: SchemaElement[] = [{ name: "root", num_children: schema.columns.length }];
  for (const c of schema.columns) {
    const repetition_type = c.nullable ? "OPTIONAL" : "REQUIRED";
    switch (c.kind) {
      case "string":
        out.push({
          name: c.name,
          type: "BYTE_ARRAY",
          converted_type: "UTF8",
          logical_type: { type: "STRING" },
          repetition_type,
        });
        break;
      case "int32":
        out.push({ name: c.name, type: "INT32", repetition_type });
        break;
      case "int64":
        out.push({ name: c.name, type: "INT64", repetition_type });
        break;
      case "boolean":
        out.push({ name: c.name, type: "BOOLEAN", repetition_type });
        break;
      case "double":
        out.push({ name: c.name, type: "DOUBLE", repetition_type });
        break;
      case "timestamp_ms":
        out.push({
          name: c.name,
          type: "INT64",
          converted_type: "TIMESTAMP_MILLIS",
          logical_type: { type: "TIMESTAMP", isAdjustedToUTC: true, unit: "MILLIS" },
          repetition_type,
        });
        break;
      case "timestamp_s_as_us":
        out.push({
          name: c.name,
          type: "INT64",
          converted_type: "TIMESTAMP_MICROS",
          logical_type: { type: "TIMESTAMP", isAdjustedToUTC: true, unit: "MICROS" },
          repetition_type,
        });
        break;
      case "float_list":
        // The standard 3-level list: <name> (LIST) → repeated group "list" → "element".
        // Elements are OPTIONAL, as pyarrow and Spark write them, so readers see the
        // conventional `list<element: float>` and datasets from other writers unify.
        out.push(
          {
            name: c.name,
            repetition_type,
            num_children: 1,
            converted_type: "LIST",
            logical_type: { type: "LIST" },
          },
          { name: "list", repetition_type: "REPEATED", num_children: 1 },
          { name: "element", type: "FLOAT", repetition_type: "OPTIONAL" },
        );
        break;
    }
  }
  return out;
}

/** A row checked against the schema and converted to storage values, column by column. */
export type ConvertedRow = unknown[];

/**
 * Validates one row and converts it to storage values (bigint timestamps and offsets,
 * plain number[] vectors). Throws {@link ParquetRowError} on the first problem.
 */
export function convertRow(
  schema: ParquetSchema<unknown, unknown>,
  row: unknown,
  rowIndex: number,
): ConvertedRow {
  if (row === null || typeof row !== "object") {
    throw new ParquetRowError(schema.name, rowIndex, "*", "row is not an object");
  }
  const obj = row as Record<string, unknown>;
  const out: unknown[] = new Array(schema.columns.length);
  const fail = (c: ColumnSpec, msg: string): never => {
    throw new ParquetRowError(schema.name, rowIndex, c.name, msg);
  };
  for (let i = 0; i < schema.columns.length; i++) {
    const c = schema.columns[i] as ColumnSpec;
    const v = obj[c.name] ?? c.default;
    if (v === null || v === undefined) {
      if (!c.nullable) fail(c, "is required");
      out[i] = null;
      continue;
    }
    switch (c.kind) {
      case "string":
        if (typeof v !== "string") fail(c, `expected a string, got ${typeof v}`);
        out[i] = v;
        break;
      case "boolean":
        if (typeof v !== "boolean") fail(c, `expected a boolean, got ${typeof v}`);
        out[i] = v;
        break;
      case "double":
        if (typeof v !== "number" || !Number.isFinite(v))
          fail(c, `expected a finite number, got ${String(v)}`);
        out[i] = v;
        break;
      case "int32":
        if (typeof v !== "number" || !Number.isInteger(v) || v < INT32_MIN || v > INT32_MAX) {
          fail(c, `expected an int32, got ${String(v)}`);
        }
        out[i] = v;
        break;
      case "int64":
        out[i] = toInt64(v) ?? fail(c, `expected an int64, got ${String(v)}`);
        break;
      case "timestamp_ms":
        if (typeof v !== "number" || !Number.isFinite(v))
          fail(c, `expected epoch milliseconds, got ${String(v)}`);
        out[i] = BigInt(Math.round(v as number));
        break;
      case "timestamp_s_as_us":
        if (typeof v !== "number" || !Number.isFinite(v)) fail(c, `expected epoch seconds, got ${String(v)}`);
        out[i] = BigInt(Math.round((v as number) * 1e6));
        break;
      case "float_list": {
        const arr = v as ArrayLike<number>;
        if (typeof arr !== "object" || typeof arr.length !== "number")
          fail(c, "expected an array of numbers");
        const list = new Array<number>(arr.length);
        for (let j = 0; j < arr.length; j++) {
          const x = arr[j];
          if (typeof x !== "number" || !Number.isFinite(x)) fail(c, `element ${j} is not a finite number`);
          list[j] = x as number;
        }
        out[i] = list;
        break;
      }
    }
  }
  const dimAt = schema.columns.findIndex((c) => c.name === "dim" && c.kind === "int32");
  const vecAt = schema.columns.findIndex((c) => c.kind === "float_list");
  if (dimAt >= 0 && vecAt >= 0 && out[dimAt] !== null && out[vecAt] !== null) {
    const len = (out[vecAt] as number[]).length;
    if (out[dimAt] !== len) {
      throw new ParquetRowError(
        schema.name,
        rowIndex,
        "dim",
        `dim ${String(out[dimAt])} != vector length ${len}`,
      );
    }
  }
  return out;
}

function toInt64(v: unknown): bigint | undefined {
  let b: bigint;
  if (typeof v === "bigint") b = v;
  else if (typeof v === "number" && Number.isSafeInteger(v)) b = BigInt(v);
  else if (typeof v === "string" && /^-?\d+$/.test(v.trim())) b = BigInt(v.trim());
  else return undefined;
  return b < INT64_MIN || b > INT64_MAX ? undefined : b;
}

/** Column arrays for `hyparquet-writer` from converted rows (types come from the schema elements). */
export function columnData(
  schema: ParquetSchema<unknown, unknown>,
  rows: readonly ConvertedRow[],
): ColumnSource[] {
  return schema.columns.map((c, i) => {
    const data = new Array<unknown>(rows.length);
    for (let r = 0; r < rows.length; r++) data[r] = (rows[r] as ConvertedRow)[i];
    if (c.kind === "float_list") {
      // Float vectors neither dictionary-encode nor compress (measured: snappy saves <0.1%),
      // and their statistics are useless to readers: write them plain, raw, without stats.
      return { name: c.name, data, statistics: false, encoding: "PLAIN", codec: "UNCOMPRESSED" };
    }
    return { name: c.name, data };
  });
}
