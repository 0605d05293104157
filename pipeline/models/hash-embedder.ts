/**
 * `hash-<dim>`: signed feature hashing of lowercase word tokens and character 3-grams.
 * No model file, no state: fast and identical across processes and runtimes (the hash is
 * FNV-1a over UTF-16 code units with a murmur3 finaliser, written out here).
 */
import { normalizeInPlace, type SyncEmbedder } from "./embedder.ts";

export const HASH_MIN_DIM = 8;
export const HASH_MAX_DIM = 4096;

const WORD_SEED = 0x811c9dc5;
const GRAM_SEED = 0x5ad1e806;
const EMPTY_SEED = 0x27d4eb2f;
const GRAM = 3;
const WORD_RE = /[\p{L}\p{N}]+/gu;

/** 32-bit FNV-1a of `s[start, end)`, seeded, then mixed (murmur3 fmix32). */
export function hashRange(s: string, start: number, end: number, seed: number): number {
  let h = seed >>> 0;
  for (let i = start; i < end; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Adds ±weight at the slot a hash picks; the sign comes from bits the slot does not use. */
function addFeature(v: Float32Array, h: number, weight: number): void {
  const slot = h % v.length;
  const sign = Math.imul(h, 0x9e3779b1) >>> 31 === 0 ? 1 : -1;
  v[slot] = (v[slot] as number) + sign * weight;
}

/**
 * Embeds one text into `dim` components: each word token counts 1, each character 3-gram of
 * `<word>` counts 1/√(number of 3-grams of that word), so long words do not drown short ones.
 * Unit L2 norm. A text with no letters or digits (including "") gets one fixed unit vector.
 */
export function hashEmbed(text: string, dim: number): Float32Array {
  const v = new Float32Array(dim);
  for (const m of text.toLowerCase().matchAll(WORD_RE)) {
    const word = m[0];
    addFeature(v, hashRange(word, 0, word.length, WORD_SEED), 1);
    const padded = `<${word}>`;
    const grams = padded.length - GRAM + 1;
    const w = 1 / Math.sqrt(grams);
    for (let i = 0; i < grams; i++) addFeature(v, hashRange(padded, i, i + GRAM, GRAM_SEED), w);
  }
  if (!normalizeInPlace(v)) {
    v.fill(0);
    addFeature(v, hashRange("", 0, 0, EMPTY_SEED), 1);
  }
  return v;
}

/** The `hash-<dim>` embedder; `dim` must be an integer in 8..4096. */
export function createHashEmbedder(dim: number): SyncEmbedder {
  if (!Number.isInteger(dim) || dim < HASH_MIN_DIM || dim > HASH_MAX_DIM) {
    throw new RangeError(
      `hash embedder dim must be an integer in ${HASH_MIN_DIM}..${HASH_MAX_DIM}, got ${dim}`,
    );
  }
  return {
    name: `hash-${dim}`,
    dim,
    normalized: true,
    embed: (texts) => texts.map((t) => hashEmbed(t, dim)),
  };
}
