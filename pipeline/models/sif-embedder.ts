/**
 * `glove-100d-sif`: sentence vectors by smooth inverse frequency (Arora, Liang & Ma, "A Simple
 * but Tough-to-Beat Baseline for Sentence Embeddings", ICLR 2017) over GloVe word vectors.
 *
 * - Word probabilities come from frequency ranks (the vocabulary is ordered by frequency):
 *   Zipf's law, p(r) = 1 / (r · H_N) over the N words.
 * - A sentence is the average of its known words' vectors, each weighted by a / (a + p(w)).
 * - The projection on a common component c is removed: v ← v − (v·c) c. The paper takes c as
 *   the first singular vector of the batch's sentence matrix, which makes a vector depend on
 *   its batch; here c is fixed and deterministic: the top eigenvector of the expected second
 *   moment of SIF vectors of "sentences" of {@link SifOptions.referenceLength} words drawn
 *   from the Zipf distribution over the {@link SifOptions.referenceWords} most frequent words.
 */
import { normalizeInPlace, type SyncEmbedder } from "./embedder.ts";
import type { GloveVectors } from "./glove-cache.ts";
import { hashEmbed } from "./hash-embedder.ts";
import { createVocabTokenizer } from "./vocab-tokenizer.ts";

export interface SifOptions {
  /** The SIF smoothing constant a. */
  a?: number;
  /** How many of the most frequent words define the common component. */
  referenceWords?: number;
  /** Words per reference sentence (the common component's noise term shrinks with it). */
  referenceLength?: number;
}

export const SIF_DEFAULTS: Required<SifOptions> = { a: 1e-3, referenceWords: 10_000, referenceLength: 10 };

/** p(rank) under Zipf's law, for ranks 1..count (index 0 is rank 1). */
export function zipfProbabilities(count: number): Float64Array {
  let harmonic = 0;
  for (let r = 1; r <= count; r++) harmonic += 1 / r;
  const p = new Float64Array(count);
  for (let r = 1; r <= count; r++) p[r - 1] = 1 / (r * harmonic);
  return p;
}

/** SIF weight a / (a + p(w)) of every word of the vocabulary. */
export function sifWeights(count: number, a: number): Float32Array {
  const p = zipfProbabilities(count);
  const w = new Float32Array(count);
  for (let i = 0; i < count; i++) w[i] = a / (a + (p[i] as number));
  return w;
}

/** The unit eigenvector of the largest eigenvalue of a symmetric dim×dim matrix (power iteration). */
export function topEigenvector(m: Float64Array, dim: number, iterations = 500): Float64Array {
  let v = new Float64Array(dim).fill(1 / Math.sqrt(dim));
  for (let it = 0; it < iterations; it++) {
    const next = new Float64Array(dim);
    for (let i = 0; i < dim; i++) {
      let s = 0;
      for (let j = 0; j < dim; j++) s += (m[i * dim + j] as number) * (v[j] as number);
      next[i] = s;
    }
    let norm = 0;
    for (let i = 0; i < dim; i++) norm += (next[i] as number) ** 2;
    norm = Math.sqrt(norm);
    if (!(norm > 0)) return v;
    let delta = 0;
    for (let i = 0; i < dim; i++) {
      next[i] = (next[i] as number) / norm;
      delta += Math.abs((next[i] as number) - (v[i] as number));
    }
    v = next;
    if (delta < 1e-12) break;
  }
  return v;
}

/**
 * The fixed common component: with u = SIF-weighted word vector, words drawn with Zipf
 * probability q over the reference words and sentences of n words, the second moment of a
 * sentence vector is μμᵀ + (E[uuᵀ] − μμᵀ) / n with μ = E[u]; c is its top eigenvector.
 */
export function commonComponent(
  glove: GloveVectors,
  weights: Float32Array,
  referenceWords: number,
  referenceLength: number,
): Float32Array {
  const { dim, vectors } = glove;
  const n = Math.min(referenceWords, glove.count);
  const q = zipfProbabilities(n);
  const mean = new Float64Array(dim);
  const second = new Float64Array(dim * dim);
  const u = new Float64Array(dim);
  for (let w = 0; w < n; w++) {
    const scale = weights[w] as number;
    const qw = q[w] as number;
    for (let d = 0; d < dim; d++) u[d] = (vectors[w * dim + d] as number) * scale;
    for (let i = 0; i < dim; i++) {
      const ui = (u[i] as number) * qw;
      mean[i] = (mean[i] as number) + ui;
      for (let j = i; j < dim; j++)
        second[i * dim + j] = (second[i * dim + j] as number) + ui * (u[j] as number);
    }
  }
  const m = new Float64Array(dim * dim);
  for (let i = 0; i < dim; i++) {
    for (let j = i; j < dim; j++) {
      const mm = (mean[i] as number) * (mean[j] as number);
      const value = mm + ((second[i * dim + j] as number) - mm) / referenceLength;
      m[i * dim + j] = value;
      m[j * dim + i] = value;
    }
  }
  return Float32Array.from(topEigenvector(m, dim));
}

/** Weighted mean of the vectors of `ids` (weights undefined = plain mean); false when ids is empty. */
function weightedMean(
  glove: GloveVectors,
  ids: number[],
  weights: Float32Array | undefined,
  out: Float32Array,
): boolean {
  const { dim, vectors } = glove;
  if (ids.length === 0) return false;
  for (const id of ids) {
    const w = weights ? (weights[id] as number) : 1;
    const row = id * dim;
    for (let d = 0; d < dim; d++) out[d] = (out[d] as number) + w * (vectors[row + d] as number);
  }
  const inv = 1 / ids.length;
  for (let d = 0; d < dim; d++) out[d] = (out[d] as number) * inv;
  return true;
}

function removeComponent(v: Float32Array, c: Float32Array): void {
  let dot = 0;
  for (let d = 0; d < v.length; d++) dot += (v[d] as number) * (c[d] as number);
  for (let d = 0; d < v.length; d++) v[d] = (v[d] as number) - dot * (c[d] as number);
}

/**
 * The SIF embedder over loaded GloVe vectors. Vectors are unit-normalised (cosine = dot
 * product). A text with no known word (empty, symbols only, unknown jargon) gets the
 * `hash-<dim>` vector of the text instead: deterministic, unit length, never NaN, and
 * close to nothing else.
 */
export function createSifEmbedder(glove: GloveVectors, options: SifOptions = {}): SyncEmbedder {
  const opts = { ...SIF_DEFAULTS, ...options };
  const weights = sifWeights(glove.count, opts.a);
  const component = commonComponent(glove, weights, opts.referenceWords, opts.referenceLength);
  const tokenize = createVocabTokenizer(glove.index);
  return vocabEmbedder("glove-100d-sif", glove.dim, (text) => {
    const v = new Float32Array(glove.dim);
    if (!weightedMean(glove, tokenize(text), weights, v)) return undefined;
    removeComponent(v, component);
    return v;
  });
}

/**
 * Baseline for comparisons: the plain mean of the same tokens' word vectors, no weights and
 * no common-component removal. Unit-normalised, same fallback as SIF.
 */
export function createAverageEmbedder(glove: GloveVectors): SyncEmbedder {
  const tokenize = createVocabTokenizer(glove.index);
  return vocabEmbedder("glove-100d-avg", glove.dim, (text) => {
    const v = new Float32Array(glove.dim);
    return weightedMean(glove, tokenize(text), undefined, v) ? v : undefined;
  });
}

function vocabEmbedder(
  name: string,
  dim: number,
  raw: (text: string) => Float32Array | undefined,
): SyncEmbedder {
  const one = (text: string): Float32Array => {
    const v = raw(text);
    return v && normalizeInPlace(v) ? v : hashEmbed(text, dim);
  };
  return { name, dim, normalized: true, embed: (texts) => texts.map(one) };
}
