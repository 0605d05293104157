/**
 * Readers of the sink's Parquet folders (with `hyparquet`): whole files, the newest rows of
 * a folder (cache warmup), and folder statistics from footers only (the backend polls it).
 *
 * Only complete files are read: `*.parquet` names not starting with "." — the sink's
 * in-progress `.<name>.tmp` files are never seen. Files sort newest first by modification
 * time, ties broken by name (the sink's names embed a UTC timestamp and sequence number).
 */
import { open, readdir, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { type AsyncBuffer, type FileMetaData, parquetMetadataAsync, parquetReadObjects } from "hyparquet";

/** A complete Parquet file of a folder. */
export interface ParquetFileInfo {
  name: string;
  path: string;
  size: number;
  /** Modification time, epoch milliseconds. */
  mtimeMs: number;
}

/** Totals of a folder's complete Parquet files. */
export interface FolderStats {
  files: number;
  bytes: number;
  /** Sum of the footers' `num_rows` (files whose footer cannot be read count 0). */
  rows: number;
  /** Newest file modification time, epoch milliseconds; null when there is no file. */
  latest_ts: number | null;
  /** Files whose footer could not be read (not Parquet, truncated by another writer, …). */
  unreadable: number;
}

/** Options of the row readers. */
export interface ReadRowsOptions {
  /** Columns to read (all when omitted). */
  columns?: readonly string[];
}

const counters = { footer_reads: 0, files_read: 0 };

/**
 * How much work the readers did since the process started: `footer_reads` (metadata reads,
 * including `folderStats` cache misses) and `files_read` (row reads). For tests and metrics.
 */
export function parquetReadCounters(): { footer_reads: number; files_read: number } {
  return { ...counters };
}

/** An AsyncBuffer reading byte ranges of a local file on demand. */
async function fileBuffer(path: string): Promise<AsyncBuffer> {
  const { size } = await stat(path);
  return {
    byteLength: size,
    async slice(start: number, end?: number): Promise<ArrayBuffer> {
      const stop = Math.min(end ?? size, size);
      const out = new Uint8Array(Math.max(0, stop - start));
      if (out.length === 0) return out.buffer;
      const fh = await open(path, "r");
      try {
        let off = 0;
        while (off < out.length) {
          const { bytesRead } = await fh.read(out, off, out.length - off, start + off);
          if (bytesRead === 0) throw new Error(`${path}: unexpected end of file`);
          off += bytesRead;
        }
      } finally {
        await fh.close();
      }
      return out.buffer;
    },
  };
}

/** Timestamps as epoch milliseconds (numbers), whatever their stored unit. */
const parsers = {
  timestampFromMilliseconds: (ms: bigint): number => Number(ms),
  timestampFromMicroseconds: (us: bigint): number => Number(us) / 1e3,
  timestampFromNanoseconds: (ns: bigint): number => Number(ns) / 1e6,
};

/** int64 values as numbers when exact (Kafka offsets always are); larger ones stay bigint. */
function plain(row: Record<string, unknown>): Record<string, unknown> {
  for (const k of Object.keys(row)) {
    const v = row[k];
    if (
      typeof v === "bigint" &&
      v >= BigInt(Number.MIN_SAFE_INTEGER) &&
      v <= BigInt(Number.MAX_SAFE_INTEGER)
    ) {
      row[k] = Number(v);
    }
  }
  return row;
}

async function readRange<R>(
  file: AsyncBuffer,
  metadata: FileMetaData,
  options: ReadRowsOptions & { rowStart?: number; rowEnd?: number },
): Promise<R[]> {
  counters.files_read += 1;
  const rows = await parquetReadObjects({
    file,
    metadata,
    parsers,
    ...(options.columns ? { columns: [...options.columns] } : {}),
    ...(options.rowStart !== undefined ? { rowStart: options.rowStart } : {}),
    ...(options.rowEnd !== undefined ? { rowEnd: options.rowEnd } : {}),
  });
  return rows.map((r) => plain(r) as R);
}

async function readMetadata(file: AsyncBuffer): Promise<FileMetaData> {
  counters.footer_reads += 1;
  return parquetMetadataAsync(file);
}

/**
 * All rows of one Parquet file as plain objects with the schema's fields: lists as
 * `number[]`, timestamps as epoch milliseconds, int64 as numbers (bigint beyond 2^53).
 * Use the schema's read type, e.g. `readParquetRows<StoredEmbeddingRow>(path)`.
 */
export async function readParquetRows<R = Record<string, unknown>>(
  file: string,
  options: ReadRowsOptions = {},
): Promise<R[]> {
  const buf = await fileBuffer(file);
  return readRange<R>(buf, await readMetadata(buf), options);
}

/**
 * Complete Parquet files of `dir` (optionally only names starting with `prefix`), newest
 * first. A missing folder has no files.
 */
export async function listParquetFiles(dir: string, prefix?: string): Promise<ParquetFileInfo[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const out: ParquetFileInfo[] = [];
  for (const name of names) {
    if (name.startsWith(".") || !name.endsWith(".parquet")) continue;
    if (prefix !== undefined && !name.startsWith(prefix)) continue;
    const path = join(dir, name);
    try {
      const s = await stat(path);
      if (s.isFile()) out.push({ name, path, size: s.size, mtimeMs: s.mtimeMs });
    } catch (err) {
      // Removed between readdir and stat (retention, compaction): not there any more.
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  }
  return out.sort((a, b) => b.mtimeMs - a.mtimeMs || (a.name < b.name ? 1 : a.name > b.name ? -1 : 0));
}

/**
 * The newest `n` rows of `dir` (optionally only files whose names start with `prefix`), in
 * write order: the last element is the newest row. Reads files newest first and stops as
 * soon as it has `n` rows; of the oldest file it needs, only the tail rows (and only the
 * requested `columns`, e.g. `["text", "model", "normalized", "vector"]` for a cache warmup)
 * are decoded. A file removed meanwhile is skipped; one that cannot be read makes
 * the call reject.
 */
export async function latestRows<R = Record<string, unknown>>(
  dir: string,
  n: number,
  prefix?: string,
  options: ReadRowsOptions = {},
): Promise<R[]> {
  if (!(n > 0)) return [];
  const chunks: R[][] = [];
  let have = 0;
  for (const f of await listParquetFiles(dir, prefix)) {
    let buf: AsyncBuffer;
    try {
      buf = await fileBuffer(f.path);
    } catch (err) {
      // Removed since it was listed (retention): the next file serves.
      if ((err as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw err;
    }
    const metadata = await readMetadata(buf);
    const total = Number(metadata.num_rows);
    if (total === 0) continue;
    const rowStart = Math.max(0, total - (n - have));
    const rows = await readRange<R>(buf, metadata, { ...options, rowStart, rowEnd: total });
    chunks.push(rows);
    have += rows.length;
    if (have >= n) break;
  }
  return chunks.reverse().flat();
}

interface FooterEntry {
  size: number;
  mtimeMs: number;
  rows: number;
  ok: boolean;
}

/** Footer row counts by absolute path, valid while (size, mtime) are unchanged. */
const footerCache = new Map<string, FooterEntry>();

/**
 * Files, bytes, rows and newest modification time of a folder's complete Parquet files.
 * Rows come from each file's footer (`num_rows`) only, and footers are cached by
 * (name, size, mtime): a repeated call reads only new or changed files.
 */
export async function folderStats(dir: string, prefix?: string): Promise<FolderStats> {
  const root = resolve(dir);
  const files = await listParquetFiles(root, prefix);
  const stats: FolderStats = { files: 0, bytes: 0, rows: 0, latest_ts: null, unreadable: 0 };
  const present = new Set<string>();
  for (const f of files) {
    present.add(f.path);
    let entry = footerCache.get(f.path);
    if (!entry || entry.size !== f.size || entry.mtimeMs !== f.mtimeMs) {
      try {
        const meta = await readMetadata(await fileBuffer(f.path));
        entry = { size: f.size, mtimeMs: f.mtimeMs, rows: Number(meta.num_rows), ok: true };
      } catch {
        entry = { size: f.size, mtimeMs: f.mtimeMs, rows: 0, ok: false };
      }
      footerCache.set(f.path, entry);
    }
    stats.files += 1;
    stats.bytes += f.size;
    stats.rows += entry.rows;
    if (!entry.ok) stats.unreadable += 1;
    stats.latest_ts = Math.max(stats.latest_ts ?? 0, f.mtimeMs);
  }
  // Forget files of this folder that are gone.
  for (const key of footerCache.keys()) {
    if (key.startsWith(`${root}/`) && !key.slice(root.length + 1).includes("/") && !present.has(key)) {
      if (prefix === undefined || key.slice(root.length + 1).startsWith(prefix)) footerCache.delete(key);
    }
  }
  return stats;
}
