/**
 * A curriculum: schedules training items (tasks, contexts) by novelty and difficulty, so that
 * unexplored and hard contexts come up more often.
 *
 * Weighting. Each item not yet scheduled in the current round has the priority
 *
 *     priority = floor + wNovelty × novelty + wDifficulty × difficulty      (defaults 0.05, 0.5, 0.5)
 *
 * and is picked with probability priority / Σ priorities (seeded, reproducible). Both terms
 * are in [0, 1]:
 *
 * - **novelty** = 1 − max(0, highest cosine similarity of the item to what was trained on:
 *   the `history` vectors and every item scheduled so far). 1 before anything is scheduled.
 * - **difficulty** = the failure rate of the item's nearest labelled neighbours, smoothed:
 *   (failures + 1 + reported failures) / (labelled + 2 + reported outcomes), over the `k`
 *   nearest documents of `pool` whose `success` is known (the item itself left out), plus the
 *   outcomes given to {@link CurriculumSampler.report}. With no labelled neighbour and no report
 *   it is 0.5. An item's own `difficulty` (0..1) replaces the neighbours' prior (as two
 *   pseudo-outcomes). {@link indexDifficulty} gives the same prior from the live index.
 *
 * `floor` keeps every item schedulable. A round schedules each item once; then the next round
 * starts (novelty keeps what was seen, so later rounds follow difficulty more).
 */
import type { KnnClient, KnnContext } from "./knn-client.ts";
import { type Random, seededRandom } from "./random.ts";
import type { VectorRecord } from "./rows.ts";
import { unitVector, VectorMemory } from "./vectors.ts";

export interface CurriculumItem {
  doc_id: string;
  vector: ArrayLike<number>;
  /** A known difficulty in [0, 1]; otherwise it comes from the neighbours in `pool`. */
  difficulty?: number;
  text?: string;
}

export interface CurriculumWeights {
  novelty: number;
  difficulty: number;
  floor: number;
}

export interface CurriculumOptions {
  /** Labelled documents whose success gives the difficulty prior (e.g. a Parquet folder's records). */
  pool?: readonly VectorRecord[];
  /** Labelled neighbours consulted per item (default 10). */
  k?: number;
  /** Vectors already trained on (lower the novelty of items near them). */
  history?: readonly ArrayLike<number>[];
  weights?: Partial<CurriculumWeights>;
  seed?: number | string;
}

/** An item's figures now. */
export interface CurriculumScore {
  doc_id: string;
  novelty: number;
  difficulty: number;
  priority: number;
  /** Probability of being picked next (0 when already scheduled in this round). */
  probability: number;
}

export interface Scheduled<T extends CurriculumItem = CurriculumItem> extends CurriculumScore {
  item: T;
  /** 1-based round. */
  round: number;
}

/** Pseudo-counts of failures and successes: the prior of an item's difficulty. */
interface Prior {
  failures: number;
  successes: number;
}

/** The difficulty prior of a vector from labelled neighbours: (failures + 1, successes + 1). */
export function neighbourPrior(
  neighbours: readonly { success: boolean | null }[],
): Prior & { labelled: number } {
  const labelled = neighbours.filter((n) => n.success !== null);
  const failures = labelled.filter((n) => n.success === false).length;
  return { failures: failures + 1, successes: labelled.length - failures + 1, labelled: labelled.length };
}

/**
 * The difficulty of a context from the live index: the smoothed failure rate
 * (failures + 1) / (labelled + 2) of its `k` nearest documents whose success is known
 * (the backend's kNN with `filter: {success: [true, false]}`). 0.5 when none is labelled.
 */
export async function indexDifficulty(
  client: KnnClient,
  context: KnnContext,
  k = 10,
  model?: string,
): Promise<{ difficulty: number; failures: number; labelled: number }> {
  const res = await client.nearest(context, k, { success: [true, false] }, model);
  const p = neighbourPrior(res.neighbors);
  return {
    difficulty: p.failures / (p.failures + p.successes),
    failures: p.failures - 1,
    labelled: p.labelled,
  };
}

/** See the module documentation for the weighting. */
export class CurriculumSampler<T extends CurriculumItem = CurriculumItem> {
  private readonly items: T[];
  private readonly unit: Float32Array[];
  private readonly prior: Prior[];
  private readonly outcomes: { failures: number; total: number }[];
  /** Highest cosine of each item to what was seen (−Infinity: nothing yet). */
  private readonly maxSeen: Float64Array;
  private readonly scheduled: boolean[];
  private readonly byId = new Map<string, number>();
  private readonly random: Random;
  private readonly w: CurriculumWeights;
  private left: number;
  private roundNo = 1;

  constructor(items: readonly T[], options: CurriculumOptions = {}) {
    if (items.length === 0) throw new Error("a curriculum needs at least one item");
    this.items = [...items];
    const dim = this.items[0]?.vector.length as number;
    this.w = { novelty: 0.5, difficulty: 0.5, floor: 0.05, ...options.weights };
    if (
      Object.values(this.w).some((x) => !(x >= 0)) ||
      this.w.floor + this.w.novelty + this.w.difficulty <= 0
    )
      throw new Error("curriculum weights must be ≥ 0 and not all 0");
    this.random = seededRandom(options.seed ?? 1);
    this.unit = this.items.map((it) => {
      if (it.vector.length !== dim)
        throw new Error(`item ${it.doc_id} has dimension ${it.vector.length}, the first item ${dim}`);
      return unitVector(it.vector);
    });
    this.items.forEach((it, i) => {
      if (this.byId.has(it.doc_id)) throw new Error(`doc_id ${it.doc_id} is given twice`);
      this.byId.set(it.doc_id, i);
    });

    const k = options.k ?? 10;
    let pool: VectorMemory | undefined;
    const labelled = (options.pool ?? []).filter((r) => r.success !== null && r.dim === dim);
    if (labelled.length > 0) {
      pool = new VectorMemory(dim, labelled.length);
      for (const r of labelled) pool.add(r.vector, { doc_id: r.doc_id, success: r.success });
    }
    this.prior = this.items.map((it, i) => {
      if (it.difficulty !== undefined) {
        const d = it.difficulty;
        if (!(d >= 0 && d <= 1)) throw new Error(`item ${it.doc_id}: difficulty must be in [0, 1], got ${d}`);
        return { failures: 2 * d, successes: 2 * (1 - d) };
      }
      const near = pool ? pool.nearest(this.unit[i] as Float32Array, k, new Set([it.doc_id])) : [];
      return neighbourPrior(near);
    });
    this.outcomes = this.items.map(() => ({ failures: 0, total: 0 }));
    this.maxSeen = new Float64Array(this.items.length).fill(Number.NEGATIVE_INFINITY);
    for (const h of options.history ?? []) this.see(unitVector(h));
    this.scheduled = this.items.map(() => false);
    this.left = this.items.length;
  }

  private see(u: Float32Array): void {
    if (u.length !== this.unit[0]?.length) throw new Error(`a history vector has dimension ${u.length}`);
    for (let i = 0; i < this.unit.length; i++) {
      const v = this.unit[i] as Float32Array;
      let s = 0;
      for (let j = 0; j < v.length; j++) s += (v[j] as number) * (u[j] as number);
      if (s > (this.maxSeen[i] as number)) this.maxSeen[i] = s;
    }
  }

  private novelty(i: number): number {
    const m = this.maxSeen[i] as number;
    return m === Number.NEGATIVE_INFINITY ? 1 : 1 - Math.max(0, Math.min(1, m));
  }

  private difficulty(i: number): number {
    const p = this.prior[i] as Prior;
    const o = this.outcomes[i] as { failures: number; total: number };
    return (p.failures + o.failures) / (p.failures + p.successes + o.total);
  }

  private priority(i: number): number {
    return this.w.floor + this.w.novelty * this.novelty(i) + this.w.difficulty * this.difficulty(i);
  }

  /** Every item's figures now, in the order given. */
  scores(): CurriculumScore[] {
    const pri = this.items.map((_, i) => (this.scheduled[i] ? 0 : this.priority(i)));
    const total = pri.reduce((a, b) => a + b, 0);
    return this.items.map((it, i) => ({
      doc_id: it.doc_id,
      novelty: this.novelty(i),
      difficulty: this.difficulty(i),
      priority: this.priority(i),
      probability: total > 0 ? (pri[i] as number) / total : 0,
    }));
  }

  /** The next item to train on (never null: a new round starts when one ends). */
  next(): Scheduled<T> {
    if (this.left === 0) {
      this.scheduled.fill(false);
      this.left = this.items.length;
      this.roundNo++;
    }
    const pri = this.items.map((_, i) => (this.scheduled[i] ? 0 : this.priority(i)));
    const total = pri.reduce((a, b) => a + b, 0);
    let r = this.random() * total;
    let pick = -1;
    for (let i = 0; i < pri.length; i++) {
      if (this.scheduled[i]) continue;
      pick = i;
      r -= pri[i] as number;
      if (r < 0) break;
    }
    const i = pick;
    const out: Scheduled<T> = {
      item: this.items[i] as T,
      doc_id: (this.items[i] as T).doc_id,
      novelty: this.novelty(i),
      difficulty: this.difficulty(i),
      priority: pri[i] as number,
      probability: (pri[i] as number) / total,
      round: this.roundNo,
    };
    this.scheduled[i] = true;
    this.left--;
    this.see(this.unit[i] as Float32Array);
    return out;
  }

  /** The next `n` items. */
  take(n: number): Scheduled<T>[] {
    return Array.from({ length: n }, () => this.next());
  }

  /** The outcome of training on an item: failures raise its difficulty, successes lower it. */
  report(docId: string, success: boolean): void {
    const i = this.byId.get(docId);
    if (i === undefined) throw new Error(`no item ${docId} in this curriculum`);
    const o = this.outcomes[i] as { failures: number; total: number };
    o.total++;
    if (!success) o.failures++;
  }

  /** 1-based number of the current round. */
  get round(): number {
    return this.roundNo;
  }
}
