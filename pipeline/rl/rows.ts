/**
 * The embed worker's Parquet rows as the RL helpers use them: {@link VectorRecord} (float32
 * vector, parsed labels, derived success), read from one file or a whole folder.
 *
 * Files are the sink's complete `*.parquet` files (`pipeline/io/parquet-read.ts`); rows of
 * `embeddings/v1` files (no label columns) have empty labels and a null success.
 */
import { stat } from "node:fs/promises";
import type { Labels, LabelValue } from "../contracts/extract.ts";
import { listParquetFiles, readParquetRows } from "../io/parquet-read.ts";
import type { StoredEmbeddingRow } from "../io/parquet-schema.ts";

/** One embedded document with what the RL helpers need of it. */
export interface VectorRecord {
  doc_id: string;
  vector: Float32Array;
  dim: number;
  model: string;
  text: string;
  topic: string | null;
  /** The record's outcome labels (`{}` when it has none). */
  labels: Labels;
  /** Derived success (parse's rule: the `success` label, else the status); null when unknown. */
  success: boolean | null;
  /** Epoch milliseconds when the vector was produced. */
  embedded_ts: number;
}

const TYPED_LABELS = ["status", "agent", "task", "reward", "episode"] as const;

function isLabelValue(v: unknown): v is LabelValue {
  return (
    v === null ||
    typeof v === "string" ||
    typeof v === "boolean" ||
    (typeof v === "number" && Number.isFinite(v))
  );
}

/**
 * The labels of a row: the `labels` JSON column parsed (values that are not a string, finite
 * number, boolean or null are left out); `{}` when it is missing or not a JSON object.
 * Without a `labels` column (older files) the typed columns (status, agent, task, reward,
 * episode) that are set are used.
 */
export function labelsOf(row: Partial<StoredEmbeddingRow>): Labels {
  const out: Labels = {};
  if (typeof row.labels === "string") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(row.labels);
    } catch {
      return out;
    }
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) {
      for (const [k, v] of Object.entries(parsed)) if (isLabelValue(v)) out[k] = v;
    }
    return out;
  }
  for (const k of TYPED_LABELS) {
    const v = row[k];
    if (v !== null && v !== undefined) out[k] = v;
  }
  return out;
}

/** A stored row as a {@link VectorRecord}. */
export function vectorRecordOf(row: StoredEmbeddingRow): VectorRecord {
  return {
    doc_id: row.doc_id,
    vector: Float32Array.from(row.vector),
    dim: row.vector.length,
    model: row.model,
    text: row.text,
    topic: row.topic ?? null,
    labels: labelsOf(row),
    success: typeof row.success === "boolean" ? row.success : null,
    embedded_ts: row.embedded_ts,
  };
}

/**
 * A label of a record by name: `success` is the derived success, `topic` the source topic,
 * `model` the model, any other name the label of that name (undefined when absent) — the
 * names the backend's kNN filter uses.
 */
export function labelOf(record: VectorRecord, name: string): LabelValue | undefined {
  if (name === "success") return record.success;
  if (name === "topic") return record.topic;
  if (name === "model") return record.model;
  return Object.hasOwn(record.labels, name) ? record.labels[name] : undefined;
}

/** Every row of one Parquet file written by the embed worker. */
export async function readVectorFile(path: string): Promise<VectorRecord[]> {
  const rows = await readParquetRows<StoredEmbeddingRow>(path);
  return rows.map(vectorRecordOf);
}

/** A folder that is not there: the embed worker is not writing Parquet there (yet). */
export class MissingFolderError extends Error {
  constructor(readonly dir: string) {
    super(
      `no Parquet folder at ${dir}: is the embed worker writing Parquet there (EMBED_WRITE_PARQUET=1, EMBED_PARQUET_DIR)?`,
    );
    this.name = "MissingFolderError";
  }
}

/** Throws {@link MissingFolderError} when `dir` is missing; an error when it is not a folder. */
export async function checkFolder(dir: string): Promise<void> {
  try {
    const s = await stat(dir);
    if (!s.isDirectory()) throw new Error(`${dir} is not a folder`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new MissingFolderError(dir);
    throw err;
  }
}

/** Options of {@link readVectorFolder}. */
export interface ReadFolderOptions {
  /** Only rows of this model. Required when the folder holds several models. */
  model?: string;
  /** Only files whose names start with this (the embed worker's are `embeddings-…`). */
  prefix?: string;
}

/** What {@link readVectorFolder} read. */
export interface FolderRecords {
  /** One record per doc_id (the newest `embedded_ts` wins), sorted by doc_id. */
  records: VectorRecord[];
  model: string | null;
  files: number;
  /** Rows read, before keeping one per doc_id. */
  rows: number;
  /** Documents of other models, by model, left out. */
  skipped: Record<string, number>;
}

/**
 * Every row of a folder's complete Parquet files, one per doc_id (a crash can make the sink
 * write a row twice; the newest `embedded_ts` wins), sorted by doc_id so that the result does
 * not depend on the files' order. Throws {@link MissingFolderError} for a missing folder and
 * an error naming the models when the folder holds several and `model` is not given.
 */
export async function readVectorFolder(dir: string, options: ReadFolderOptions = {}): Promise<FolderRecords> {
  await checkFolder(dir);
  const files = (await listParquetFiles(dir, options.prefix)).reverse();
  const byModel = new Map<string, Map<string, VectorRecord>>();
  let rows = 0;
  let read = 0;
  for (const f of files) {
    let recs: VectorRecord[];
    try {
      recs = await readVectorFile(f.path);
    } catch (err) {
      // Removed since it was listed (retention): not there any more.
      if ((err as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw new Error(`${f.path}: ${(err as Error).message}`, { cause: err });
    }
    read++;
    for (const r of recs) {
      rows++;
      let m = byModel.get(r.model);
      if (!m) {
        m = new Map();
        byModel.set(r.model, m);
      }
      const prev = m.get(r.doc_id);
      if (!prev || r.embedded_ts >= prev.embedded_ts) m.set(r.doc_id, r);
    }
  }
  const models = [...byModel.keys()];
  let model = options.model ?? null;
  if (model === null && models.length > 1) {
    const counts = models.map((m) => `${m} (${byModel.get(m)?.size} docs)`).join(", ");
    throw new Error(`${dir} holds vectors of several models: ${counts}; choose one (model)`);
  }
  model ??= models[0] ?? null;
  const chosen = model === null ? undefined : byModel.get(model);
  const skipped: Record<string, number> = {};
  for (const [m, docs] of byModel) if (m !== model) skipped[m] = docs.size;
  const records = [...(chosen?.values() ?? [])].sort((a, b) =>
    a.doc_id < b.doc_id ? -1 : a.doc_id > b.doc_id ? 1 : 0,
  );
  return { records, model, files: read, rows, skipped };
}
