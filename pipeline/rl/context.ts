/**
 * Vector context for an RL environment, from the embed worker's Parquet folder:
 *
 * - {@link vectorBatches}: an async iterator of batches — a row-major `Float32Array` matrix
 *   with its dim, doc_ids, labels and success — over the folder's complete files, oldest
 *   first. Without `follow` it **ends** once the files present are read (an empty folder
 *   ends at once, a missing one throws); with `follow` it then watches for new files until
 *   its `signal` aborts, and then ends (no error).
 * - {@link attachVectorContext}: wraps an environment factory so that every observation
 *   carries the `k` nearest context vectors (the seed's `attach_vector_context`), with a
 *   fixed shape from the first `reset` to the last `step`.
 */

import type { Labels } from "../contracts/extract.ts";
import { abortableSleep } from "../core/retry.ts";
import { listParquetFiles } from "../io/parquet-read.ts";
import { checkFolder, MissingFolderError, readVectorFile, type VectorRecord } from "./rows.ts";
import { unitVector, VectorMemory } from "./vectors.ts";

/** A batch of vectors: row `i` is `matrix.subarray(i * dim, (i + 1) * dim)`. */
export interface VectorBatch {
  /** rows × dim, row-major. */
  matrix: Float32Array;
  dim: number;
  rows: number;
  model: string;
  doc_ids: string[];
  labels: Labels[];
  success: (boolean | null)[];
  texts: string[];
  topics: (string | null)[];
}

/** Options of {@link vectorBatches}. */
export interface VectorBatchOptions {
  /**
   * Rows per batch (default 128). A batch is smaller only at an end: after the last file when
   * not following; when following, after each poll that found new files (so new rows are
   * handed on within `pollMs` rather than when a batch fills up).
   */
  batchSize?: number;
  /** After the files present, keep watching the folder for new ones (default false). */
  follow?: boolean;
  /** Ends the iteration (cleanly, without an error), also while it waits for files. */
  signal?: AbortSignal;
  /** How often a following iterator lists the folder, ms (default 1000). */
  pollMs?: number;
  /**
   * Only rows of this model. Default: the model of the first row read; rows of other models
   * (a folder written before `EMBED_MODEL` changed) are skipped and counted in `stats`.
   */
  model?: string;
  /** Only files whose names start with this. */
  prefix?: string;
  /** Scale each vector to unit length (default false: vectors as stored). */
  normalize?: boolean;
  /** Paths of files to leave out (already read, e.g. by an earlier reader's `readFiles`). */
  skipFiles?: Iterable<string>;
}

/** What a {@link VectorBatchReader} has read so far. */
export interface VectorBatchStats {
  files: number;
  rows: number;
  batches: number;
  /** Rows of other models left out, by model. */
  skipped: Record<string, number>;
  model: string | null;
}

function batchOf(
  records: readonly VectorRecord[],
  dim: number,
  model: string,
  normalize: boolean,
): VectorBatch {
  const matrix = new Float32Array(records.length * dim);
  records.forEach((r, i) => {
    matrix.set(normalize ? unitVector(r.vector) : r.vector, i * dim);
  });
  return {
    matrix,
    dim,
    rows: records.length,
    model,
    doc_ids: records.map((r) => r.doc_id),
    labels: records.map((r) => r.labels),
    success: records.map((r) => r.success),
    texts: records.map((r) => r.text),
    topics: records.map((r) => r.topic),
  };
}

/** Rows `i` of a batch as a view. */
export function batchRow(batch: VectorBatch, i: number): Float32Array {
  return batch.matrix.subarray(i * batch.dim, (i + 1) * batch.dim);
}

/** The iterator {@link vectorBatches} returns: iterate it once; `stats` says what it read. */
export class VectorBatchReader implements AsyncIterable<VectorBatch> {
  readonly stats: VectorBatchStats;
  /** Paths of the files read (and of `skipFiles`). */
  readonly readFiles: Set<string>;
  private readonly batchSize: number;
  private started = false;

  constructor(
    readonly dir: string,
    private readonly options: VectorBatchOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 128;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1)
      throw new Error(`batchSize must be a positive integer, got ${options.batchSize}`);
    this.stats = { files: 0, rows: 0, batches: 0, skipped: {}, model: options.model ?? null };
    this.readFiles = new Set(options.skipFiles ?? []);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<VectorBatch> {
    if (this.started) throw new Error("a VectorBatchReader is iterated once; make another");
    this.started = true;
    const { follow = false, signal, pollMs = 1000, prefix, normalize = false } = this.options;
    const seen = this.readFiles;
    let pending: VectorRecord[] = [];
    let dim = 0;
    const stats = this.stats;
    const take = (n: number): VectorBatch => {
      const out = pending.slice(0, n);
      pending = pending.slice(n);
      stats.batches++;
      return batchOf(out, dim, stats.model as string, normalize);
    };
    const stopped = () => signal?.aborted === true;

    while (!stopped()) {
      let present = true;
      try {
        await checkFolder(this.dir);
      } catch (err) {
        if (!(err instanceof MissingFolderError) || !follow) throw err;
        present = false; // following: the worker creates the folder with its first file
      }
      const fresh = present
        ? (await listParquetFiles(this.dir, prefix)).reverse().filter((f) => !seen.has(f.path))
        : [];
      for (const f of fresh) {
        if (stopped()) return;
        seen.add(f.path);
        let recs: VectorRecord[];
        try {
          recs = await readVectorFile(f.path);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === "ENOENT") continue; // removed meanwhile
          throw new Error(`${f.path}: ${(err as Error).message}`, { cause: err });
        }
        stats.files++;
        for (const r of recs) {
          stats.model ??= r.model;
          if (r.model !== stats.model) {
            stats.skipped[r.model] = (stats.skipped[r.model] ?? 0) + 1;
            continue;
          }
          if (dim === 0) dim = r.dim;
          if (r.dim !== dim) {
            throw new Error(
              `${f.path}: doc ${r.doc_id} of model ${r.model} has dim ${r.dim}, earlier rows ${dim}`,
            );
          }
          stats.rows++;
          pending.push(r);
        }
        while (pending.length >= this.batchSize) {
          yield take(this.batchSize);
          if (stopped()) return;
        }
      }
      if (!follow) break;
      // Following: what arrived is handed on now rather than when a batch fills up.
      if (pending.length > 0) yield take(pending.length);
      try {
        await abortableSleep(pollMs, signal);
      } catch {
        return; // aborted
      }
    }
    if (pending.length > 0 && !stopped()) yield take(pending.length);
  }
}

/**
 * Batches of the vectors in `dir` (the embed worker's `EMBED_PARQUET_DIR`), file by file,
 * oldest first (modification time, then name), in row order within a file. See
 * {@link VectorBatchOptions}; without `follow` the iteration ends when the files are read.
 *
 * ```ts
 * for await (const b of vectorBatches(dir, { batchSize: 256 })) train(b.matrix, b.dim, b.success);
 * ```
 */
export function vectorBatches(dir: string, options: VectorBatchOptions = {}): VectorBatchReader {
  return new VectorBatchReader(dir, options);
}

/** A minimal RL environment: gym-style `reset` and `step`, sync or async. */
export interface Env<O, A> {
  reset(): O | Promise<O>;
  step(action: A): StepResult<O> | Promise<StepResult<O>>;
  close?(): void | Promise<void>;
}

export interface StepResult<O> {
  observation: O;
  reward: number;
  done: boolean;
  info?: Record<string, unknown>;
}

/**
 * An observation with its vector context. The shape never changes: `context` always holds
 * `k × dim` floats and `context_scores`/`context_doc_ids` `k` entries; slots beyond
 * `context_count` (fewer vectors known than `k`) are zeros and null.
 */
export interface ContextObservation<O> {
  observation: O;
  /** k × dim unit vectors, row-major, most similar first (newest first without a query). */
  context: Float32Array;
  /** Cosine similarity of each context vector to the query, [−1, 1]; 0 without a query. */
  context_scores: Float32Array;
  context_doc_ids: (string | null)[];
  context_success: (boolean | null)[];
  /** Filled slots, 0..k. */
  context_count: number;
}

/** Options of {@link attachVectorContext}. */
export interface AttachOptions<O> {
  /** Context vectors per observation (default 8). */
  k?: number;
  /**
   * The query vector of an observation (e.g. the embedding of its text, of dimension `dim`).
   * Without it, or when it returns null, the context is the `k` newest vectors.
   */
  query?: (
    observation: O,
  ) => ArrayLike<number> | null | undefined | Promise<ArrayLike<number> | null | undefined>;
  /** Keep adding the folder's new files to the context while the environment lives. */
  follow?: boolean;
  pollMs?: number;
  model?: string;
  prefix?: string;
  /** Most vectors kept (oldest dropped first), default 100 000. */
  maxVectors?: number;
  /** Stops following (as does the environment's `close`). */
  signal?: AbortSignal;
  /** Called when following stops on an error (default: a line on stderr). */
  onError?: (err: Error) => void;
}

function reportFollowError(err: Error): void {
  process.stderr.write(`vector context: stopped following new files: ${err.message}\n`);
}

/**
 * Wraps an environment factory so that every observation of `reset` and `step` becomes a
 * {@link ContextObservation}: the observation and its `k` nearest context vectors from the
 * Parquet folder `dir` (read in batches of `batchSize`). The context is read when the
 * factory is called: the files present (the read ends, it never waits for more), then with
 * `follow` the new ones in the background until `close` or `signal`.
 *
 * Throws when the folder is missing, or holds no vector (the context dimension would be unknown).
 *
 * ```ts
 * const makeEnv2 = attachVectorContext(makeEnv, "/workspace/vectorized/embeddings_imesh", 128);
 * const env = await makeEnv2();
 * const { observation, context, context_scores } = await env.reset();
 * ```
 */
export function attachVectorContext<O, A>(
  makeEnv: () => Env<O, A> | Promise<Env<O, A>>,
  dir: string,
  batchSize = 128,
  options: AttachOptions<O> = {},
): () => Promise<Env<ContextObservation<O>, A>> {
  const k = options.k ?? 8;
  if (!Number.isInteger(k) || k < 1) throw new Error(`k must be a positive integer, got ${options.k}`);
  return async () => {
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    const common = { batchSize, model: options.model, prefix: options.prefix, normalize: true };
    // First the files present (this read ends), then, when following, the new ones.
    const first = vectorBatches(dir, common);
    let memory: VectorMemory | undefined;
    const keep = (b: VectorBatch) => {
      memory ??= new VectorMemory(b.dim, options.maxVectors ?? 100_000);
      for (let i = 0; i < b.rows; i++) {
        memory.add(batchRow(b, i), { doc_id: b.doc_ids[i], success: b.success[i], labels: b.labels[i] });
      }
    };
    for await (const b of first) keep(b);
    if (!memory) throw new Error(`no vectors in ${dir}: the context's dimension is unknown`);
    const mem = memory;
    let following: Promise<void> | undefined;
    if (options.follow) {
      const reader = vectorBatches(dir, {
        ...common,
        model: first.stats.model ?? undefined,
        follow: true,
        pollMs: options.pollMs,
        signal: stop.signal,
        skipFiles: first.readFiles,
      });
      following = (async () => {
        for await (const b of reader) keep(b);
      })().catch((err: unknown) => {
        // A file that cannot be read stops following; the context read so far stays.
        (options.onError ?? reportFollowError)(err as Error);
      });
    }
    const env = await makeEnv();
    const augment = async (observation: O): Promise<ContextObservation<O>> => {
      const q = options.query ? await options.query(observation) : null;
      const hits = q ? mem.nearest(q, k) : mem.latest(k);
      const context = new Float32Array(k * mem.dim);
      const context_scores = new Float32Array(k);
      const context_doc_ids: (string | null)[] = new Array(k).fill(null);
      const context_success: (boolean | null)[] = new Array(k).fill(null);
      hits.forEach((h, i) => {
        context.set(h.vector, i * mem.dim);
        context_scores[i] = h.score;
        context_doc_ids[i] = h.doc_id;
        context_success[i] = h.success;
      });
      return {
        observation,
        context,
        context_scores,
        context_doc_ids,
        context_success,
        context_count: hits.length,
      };
    };
    return {
      async reset() {
        return augment(await env.reset());
      },
      async step(action: A) {
        const r = await env.step(action);
        return { ...r, observation: await augment(r.observation) };
      },
      async close() {
        stop.abort();
        options.signal?.removeEventListener("abort", onAbort);
        await following;
        await env.close?.();
      },
    };
  };
}
