/**
 * The models this project serves, by name:
 * - `glove-100d-sif` — GloVe word vectors + SIF sentence weighting (see sif-embedder.ts), 100-d;
 * - `hash-<dim>` — feature hashing, any dim in 8..4096 (e.g. `hash-384`), no model file.
 */
import type { Embedder } from "./embedder.ts";
import { loadGloveVectors, type ProgressFn } from "./glove-cache.ts";
import { createHashEmbedder, HASH_MAX_DIM, HASH_MIN_DIM } from "./hash-embedder.ts";
import { createSifEmbedder } from "./sif-embedder.ts";

export const SIF_MODEL = "glove-100d-sif";

export interface ModelOptions {
  /** The project cache folder (`loadConfig().local.cacheDir`), home of the GloVe binary cache. */
  cacheDir: string;
  onProgress?: ProgressFn;
}

type ModelSpec = { kind: "sif" } | { kind: "hash"; dim: number };

/** Human-readable list of what can be served, for error messages and --help. */
export function availableModels(): string {
  return `${SIF_MODEL}, hash-<dim> (dim ${HASH_MIN_DIM}..${HASH_MAX_DIM}, e.g. hash-384)`;
}

/** Checks a model name without loading anything; throws an error listing what is available. */
export function parseModelName(name: string): ModelSpec {
  if (name === SIF_MODEL) return { kind: "sif" };
  const m = /^hash-(\d{1,5})$/.exec(name);
  const dim = m ? Number(m[1]) : Number.NaN;
  if (dim >= HASH_MIN_DIM && dim <= HASH_MAX_DIM) return { kind: "hash", dim };
  throw new Error(`unknown model ${JSON.stringify(name)}; available: ${availableModels()}`);
}

/** One embedder by name; `glove-100d-sif` builds or reads its binary cache under `opts.cacheDir`. */
export async function createEmbedder(name: string, opts: ModelOptions): Promise<Embedder> {
  const spec = parseModelName(name);
  if (spec.kind === "hash") return createHashEmbedder(spec.dim);
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
