/**
 * The models this project serves, by name:
 * - `sentence-transformers/all-MiniLM-L6-v2` — the transformer, exact fp32 weights, 384-d, on
 *   onnxruntime (see minilm-setup.ts, onnx-embedder.ts);
 * - `sentence-transformers/all-MiniLM-L6-v2-int8` — the same model with int8 weights and per-token
 *   int8 activations in every matrix product: faster, vectors within 1 − cos < 1e-2 of fp32 (never
 *   mixed in one index: it is another model id). Each token's activations are quantised on their
 *   own, so a text's vector does not depend on what it is batched with, and it batches like fp32;
 * - `glove-100d-sif` — GloVe word vectors + SIF sentence weighting (see sif-embedder.ts), 100-d;
 * - `hash-<dim>` — feature hashing, any dim in 8..4096 (e.g. `hash-384`), no model file.
 */
import { availableParallelism } from "node:os";
import type { Embedder } from "./embedder.ts";
import { loadGloveVectors, type ProgressFn } from "./glove-cache.ts";
import { createHashEmbedder, HASH_MAX_DIM, HASH_MIN_DIM } from "./hash-embedder.ts";
import { ensureMiniLm } from "./minilm-setup.ts";
import { createOnnxEmbedder } from "./onnx-embedder.ts";
import { createSifEmbedder } from "./sif-embedder.ts";

export const SIF_MODEL = "glove-100d-sif";
export const MINILM_MODEL = "sentence-transformers/all-MiniLM-L6-v2";
export const MINILM_INT8_MODEL = "sentence-transformers/all-MiniLM-L6-v2-int8";
/** all-MiniLM-L6-v2's sentence-transformers max_seq_length. */
export const MINILM_MAX_TOKENS = 256;

export interface ModelOptions {
  /** The project cache folder (`loadConfig().local.cacheDir`), home of the model caches. */
  cacheDir: string;
  onProgress?: ProgressFn;
  /** onnxruntime intra-op threads (default: the cores). */
  threads?: number;
  /** Texts per ONNX batch at most (default 32). */
  maxBatch?: number;
  /** Padded tokens per ONNX batch at most (default 8192). */
  maxBatchTokens?: number;
}

type ModelSpec =
  | { kind: "sif" }
  | { kind: "hash"; dim: number }
  | { kind: "minilm"; variant: "fp32" | "int8" };

/** Human-readable list of what can be served, for error messages and --help. */
export function availableModels(): string {
  return `${MINILM_MODEL}, ${MINILM_INT8_MODEL}, ${SIF_MODEL}, hash-<dim> (dim ${HASH_MIN_DIM}..${HASH_MAX_DIM}, e.g. hash-384)`;
}

/** Checks a model name without loading anything; throws an error listing what is available. */
export function parseModelName(name: string): ModelSpec {
  if (name === SIF_MODEL) return { kind: "sif" };
  if (name === MINILM_MODEL) return { kind: "minilm", variant: "fp32" };
  if (name === MINILM_INT8_MODEL) return { kind: "minilm", variant: "int8" };
  const m = /^hash-(\d{1,5})$/.exec(name);
  const dim = m ? Number(m[1]) : Number.NaN;
  if (dim >= HASH_MIN_DIM && dim <= HASH_MAX_DIM) return { kind: "hash", dim };
  throw new Error(`unknown model ${JSON.stringify(name)}; available: ${availableModels()}`);
}

/**
 * One embedder by name; `glove-100d-sif` builds or reads its binary cache under `opts.cacheDir`,
 * the MiniLM models prepare their ONNX files there once (see minilm-setup.ts).
 */
export async function createEmbedder(name: string, opts: ModelOptions): Promise<Embedder> {
  const spec = parseModelName(name);
  if (spec.kind === "hash") return createHashEmbedder(spec.dim);
  if (spec.kind === "minilm") {
    const files = await ensureMiniLm(opts);
    const started = performance.now();
    const embedder = await createOnnxEmbedder({
      name,
      modelPath: spec.variant === "fp32" ? files.fp32 : files.int8,
      vocabPath: files.vocab,
      dim: 384,
      maxTokens: MINILM_MAX_TOKENS,
      threads: opts.threads ?? availableParallelism(),
      maxBatch: opts.maxBatch ?? 32,
      maxBatchTokens: opts.maxBatchTokens ?? 8192,
      // The graphs are written out fused already; "basic" keeps onnxruntime from fusing their
      // Add + LayerNormalization into SkipLayerNormalization, which is slower (minilm_convert.py).
      graphOptimizationLevel: "basic",
    });
    opts.onProgress?.(`${name} ready (session in ${(performance.now() - started).toFixed(0)} ms)`);
    return embedder;
  }
  const glove = await loadGloveVectors(opts);
  const started = performance.now();
  const embedder = createSifEmbedder(glove);
  opts.onProgress?.(
    `${SIF_MODEL} ready (common component in ${(performance.now() - started).toFixed(0)} ms)`,
  );
  return embedder;
}

/** Every named model, in order; all names are checked before anything is loaded. Duplicates are dropped. */
export async function loadModels(names: readonly string[], opts: ModelOptions): Promise<Embedder[]> {
  const unique = [...new Set(names)];
  if (unique.length === 0) throw new Error(`no models to load; available: ${availableModels()}`);
  for (const name of unique) parseModelName(name);
  const models: Embedder[] = [];
  for (const name of unique) models.push(await createEmbedder(name, opts));
  return models;
}
