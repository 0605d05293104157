/**
 * Durable Parquet output for training: fixed schemas, a rolling sink whose `append`
 * resolves only when rows are in complete, fsynced files, and the readers of those folders.
 *
 * - Schemas and row types: `./parquet-schema.ts` (units are documented there).
 * - The sink and its delivery contract: `./parquet-sink.ts`.
 * - Readers (`readParquetRows`, `latestRows`, `folderStats`): `./parquet-read.ts`.
 */
export {
  type FolderStats,
  folderStats,
  latestRows,
  listParquetFiles,
  type ParquetFileInfo,
  parquetReadCounters,
  type ReadRowsOptions,
  readParquetRows,
} from "./parquet-read.ts";
export {
  type ColumnKind,
  type ColumnSpec,
  defineParquetSchema,
  EMBEDDINGS_SCHEMA,
  type EmbeddingRow,
  PARSED_ROWS_SCHEMA,
  ParquetRowError,
  type ParquetSchema,
  type ParsedRow,
  type Provenance,
  type StoredEmbeddingRow,
  type StoredParsedRow,
} from "./parquet-schema.ts";
export {
  createParquetSink,
  type ParquetSink,
  ParquetSinkClosedError,
  type ParquetSinkOptions,
  type ParquetSinkStats,
  parquetFileBase,
  type RollInfo,
  SCHEMA_METADATA_KEY,
} from "./parquet-sink.ts";
