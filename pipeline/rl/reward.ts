/**
 * Reward shaping from embeddings. Pure functions, each with a fixed range, plus one verifier
 * backed by the index:
 *
 * | term | range | meaning |
 * |---|---|---|
 * | {@link similarityReward} | [0, 1] | mean cosine of a state to its `k` nearest references (negative → 0) |
 * | {@link noveltyBonus} | [0, scale] | scale × (1 − max(0, highest cosine to what was seen)); scale when nothing was seen |
 * | {@link repetitionPenalty} | [−scale, 0] | −scale × share of the window within `threshold` cosine of the state |
 * | {@link driftPenalty} | [−scale, 0] | −scale × max(0, 1 − drift / minDrift), drift = 1 − cosine to the window's centroid |
 * | {@link SimilarityVerifier} | [0, 1] | {@link similarityReward} against known-good documents of the index (`filter: {success: true}`) |
 *
 * A shaped reward is the environment's reward plus weighted terms, e.g.
 * `r + 0.5 * verifier + 0.1 * novelty + 0.2 * repetition` (the penalties are ≤ 0 already).
 */
import type { KnnFilter, Neighbor } from "../contracts/knn.ts";
import type { KnnClient, KnnContext } from "./knn-client.ts";
import { centroid, cosineSimilarity, VectorMemory } from "./vectors.ts";

export { cosineSimilarity } from "./vectors.ts";

/** References: vectors, or a {@link VectorMemory}. */
export type References = readonly ArrayLike<number>[] | VectorMemory;

/** The best `k` of `scores` averaged, negative values counted as 0; 0 without scores. Range [0, 1]. */
export function topKMean(scores: readonly number[], k: number): number {
  if (!Number.isInteger(k) || k < 1) throw new Error(`k must be a positive integer, got ${k}`);
  const best = [...scores]
    .filter((s) => Number.isFinite(s))
    .sort((a, b) => b - a)
    .slice(0, k);
  if (best.length === 0) return 0;
  const mean = best.reduce((a, s) => a + Math.max(0, s), 0) / best.length;
  return Math.min(1, Math.max(0, mean));
}

function similarities(state: ArrayLike<number>, refs: References, k: number): number[] {
  if (refs instanceof VectorMemory) return refs.nearest(state, k).map((h) => h.score);
  return refs.map((r) => cosineSimilarity(state, r));
}

/**
 * How close a state (or solution) is to references such as known-good trajectories: the mean
 * cosine similarity to its `k` nearest references (default 1: the nearest), negative values
 * counted as 0. Range [0, 1]: 1 for a state equal in direction to its references, 0 with no
 * references or only unrelated ones.
 */
export function similarityReward(state: ArrayLike<number>, references: References, k = 1): number {
  return topKMean(similarities(state, references, k), k);
}

/**
 * An exploration bonus: `scale` × (1 − max(0, highest cosine similarity of the state to what
 * was seen)). Range [0, scale] (default scale 1): `scale` when nothing similar (or nothing at
 * all) was seen, 0 for a state seen before.
 */
export function noveltyBonus(state: ArrayLike<number>, seen: References, scale = 1): number {
  const sims = similarities(state, seen, 1);
  if (sims.length === 0) return scale;
  const best = Math.max(...sims);
  return scale * (1 - Math.max(0, Math.min(1, best)));
}

/**
 * A penalty for repeating states: −`scale` × the share of the recent `window` whose cosine
 * similarity to the state is at least `threshold` (default 0.95). Range [−scale, 0]; 0 for an
 * empty window or a state unlike every recent one, −scale when every recent state is a repeat.
 */
export function repetitionPenalty(
  state: ArrayLike<number>,
  window: readonly ArrayLike<number>[],
  threshold = 0.95,
  scale = 1,
): number {
  if (window.length === 0) return 0;
  const repeats = window.filter((w) => cosineSimilarity(state, w) >= threshold).length;
  return repeats === 0 ? 0 : -scale * (repeats / window.length);
}

/** 1 − cosine similarity of the state to the centroid of `window`: range [0, 2]; null for an empty window. */
export function vectorDrift(state: ArrayLike<number>, window: readonly ArrayLike<number>[]): number | null {
  const c = centroid(window);
  if (!c) return null;
  return 1 - cosineSimilarity(state, c);
}

/**
 * A penalty for not moving: with drift = 1 − cosine similarity of the state to the centroid of
 * the recent `window`, −`scale` × max(0, 1 − drift / `minDrift`) (default minDrift 0.05).
 * Range [−scale, 0]: −scale when the state sits on the window's centroid, 0 once it has
 * drifted at least `minDrift` away, and 0 for an empty window.
 */
export function driftPenalty(
  state: ArrayLike<number>,
  window: readonly ArrayLike<number>[],
  minDrift = 0.05,
  scale = 1,
): number {
  if (!(minDrift > 0)) throw new Error(`minDrift must be > 0, got ${minDrift}`);
  const drift = vectorDrift(state, window);
  if (drift === null) return 0;
  const stuck = Math.max(0, 1 - drift / minDrift);
  return stuck === 0 ? 0 : -scale * stuck;
}

/** The shaping terms of one state ({@link StateWindow.observe}). */
export interface ShapingTerms {
  /** [0, noveltyScale] */
  novelty: number;
  /** [−repetitionScale, 0] */
  repetition: number;
  /** [−driftScale, 0] */
  drift: number;
}

export interface StateWindowOptions {
  /** Recent states kept (default 32). */
  size?: number;
  /** Cosine at or above which a recent state counts as a repeat (default 0.95). */
  threshold?: number;
  /** Drift below which a state is penalised (default 0.05). */
  minDrift?: number;
  noveltyScale?: number;
  repetitionScale?: number;
  driftScale?: number;
}

/**
 * The sliding window of an episode's recent state vectors. `observe(state)` returns the
 * shaping terms of the state against the window *before* it, then adds it.
 * Novelty is measured against the window (recent states), not the whole history.
 */
export class StateWindow {
  private readonly states: ArrayLike<number>[] = [];
  private readonly o: Required<StateWindowOptions>;

  constructor(options: StateWindowOptions = {}) {
    this.o = {
      size: 32,
      threshold: 0.95,
      minDrift: 0.05,
      noveltyScale: 1,
      repetitionScale: 1,
      driftScale: 1,
      ...options,
    };
    if (!Number.isInteger(this.o.size) || this.o.size < 1) throw new Error(`size must be a positive integer`);
  }

  get size(): number {
    return this.states.length;
  }

  /** The recent states, oldest first. */
  recent(): readonly ArrayLike<number>[] {
    return this.states;
  }

  terms(state: ArrayLike<number>): ShapingTerms {
    const o = this.o;
    return {
      novelty: noveltyBonus(state, this.states, o.noveltyScale),
      repetition: repetitionPenalty(state, this.states, o.threshold, o.repetitionScale),
      drift: driftPenalty(state, this.states, o.minDrift, o.driftScale),
    };
  }

  push(state: ArrayLike<number>): void {
    this.states.push(Float32Array.from(state));
    if (this.states.length > this.o.size) this.states.shift();
  }

  observe(state: ArrayLike<number>): ShapingTerms {
    const t = this.terms(state);
    this.push(state);
    return t;
  }

  /** A new episode. */
  clear(): void {
    this.states.length = 0;
  }
}

export interface VerifierOptions {
  /** Known-good neighbours averaged (default 3). */
  k?: number;
  /** Further conditions on the known-good documents (e.g. `{task: "task-42"}`); `success` is always true. */
  filter?: KnnFilter;
  /** Model of the index to search (default: the backend's only model). */
  model?: string;
}

export interface VerifierScore {
  /** {@link topKMean} of the neighbours' cosine similarities: [0, 1]; 0 when no known-good document exists. */
  score: number;
  /** The known-good documents it was measured against, nearest first. */
  neighbors: Neighbor[];
}

/**
 * A verifier that scores a state or solution by its similarity to the nearest known-good
 * trajectories of the live index: the backend's kNN with `filter: {success: true}` (plus
 * `filter` of the options). Score in [0, 1] (see {@link VerifierScore}). When the backend
 * cannot answer, `score` rejects with the client's error: no score is made up.
 */
export class SimilarityVerifier {
  private readonly k: number;

  constructor(
    private readonly client: KnnClient,
    private readonly options: VerifierOptions = {},
  ) {
    this.k = options.k ?? 3;
    if (!Number.isInteger(this.k) || this.k < 1)
      throw new Error(`k must be a positive integer, got ${options.k}`);
  }

  async score(state: KnnContext): Promise<VerifierScore> {
    const filter: KnnFilter = { ...this.options.filter, success: true };
    const res = await this.client.nearest(state, this.k, filter, this.options.model);
    const neighbors = res.neighbors.filter((n) => n.success === true);
    return {
      score: topKMean(
        neighbors.map((n) => n.score),
        this.k,
      ),
      neighbors,
    };
  }
}
