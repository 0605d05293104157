/**
 * {@link VectorLabelSampler}: batches of vectors with a label (success vs failure, agent,
 * kind, …) for supervised pre-training, from the embed worker's Parquet files.
 *
 * - **Split.** A document is in the validation set when hashUnit(doc_id, salt) <
 *   `validationFraction` (sha256, see `random.ts`), so a doc_id is always on the same side —
 *   in every run, whatever the seed, the files' order or repeated rows — and never in both.
 * - **balanced**: every batch holds about batchSize / classes rows of each class (the
 *   remainder goes to the classes in turn); a small class is cycled (reshuffled after each
 *   pass) so it is oversampled rather than missing.
 * - **stratified**: every batch holds each class in proportion to its share of the split
 *   (largest remainder), without oversampling.
 * - **Reproducible.** The same records, options and seed give the same batches: records are
 *   ordered by doc_id first and shuffled with a seeded generator.
 *
 * Rows whose label is absent or null are left out (`unlabelled`).
 */
import type { LabelValue } from "../contracts/extract.ts";
import { hashUnit, type Random, seededRandom, shuffleInPlace } from "./random.ts";
import { labelOf, type ReadFolderOptions, readVectorFolder, type VectorRecord } from "./rows.ts";

export type SamplingMode = "balanced" | "stratified";
export type Split = "train" | "validation";

export interface SamplerOptions {
  /** The label to predict: `success` (the default), `topic`, `model` or a label name. */
  label?: string;
  mode?: SamplingMode;
  /** Share of doc_ids held out for validation, [0, 1) (default 0.2). */
  validationFraction?: number;
  /** Salt of the split hash (default ""): change it for another split of the same documents. */
  splitSalt?: string;
  seed?: number | string;
  /**
   * The classes, in order (their index is `y`). Default: the values found, sorted (false
   * before true, numbers ascending, then strings). A row of another value is left out.
   */
  classes?: readonly LabelValue[];
}

/** A batch for supervised training. */
export interface LabeledBatch {
  /** rows × dim, row-major. */
  matrix: Float32Array;
  dim: number;
  rows: number;
  /** Class index of each row (into `classes`). */
  y: Int32Array;
  /** The label value of each row. */
  values: LabelValue[];
  classes: readonly LabelValue[];
  doc_ids: string[];
  records: VectorRecord[];
}

const keyOf = (v: LabelValue): string => JSON.stringify(v);

function compareValues(a: LabelValue, b: LabelValue): number {
  const rank = (v: LabelValue) =>
    v === null ? 0 : typeof v === "boolean" ? 1 : typeof v === "number" ? 2 : 3;
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (typeof a === "boolean" || typeof a === "number") return Number(a) - Number(b);
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}

/** Cycles through a class's rows in a seeded order, reshuffling after each pass. */
class Cycle {
  private order: number[] = [];
  private at = 0;

  constructor(
    private readonly rows: readonly number[],
    private readonly random: Random,
  ) {}

  next(): number {
    if (this.at >= this.order.length) {
      this.order = shuffleInPlace([...this.rows], this.random);
      this.at = 0;
    }
    return this.order[this.at++] as number;
  }
}

/** See the module documentation. */
export class VectorLabelSampler {
  readonly label: string;
  readonly mode: SamplingMode;
  readonly classes: readonly LabelValue[];
  readonly dim: number;
  /** Rows left out because their label is absent, null or not one of `classes`. */
  readonly unlabelled: number;
  private readonly records: VectorRecord[];
  private readonly classOf: Int32Array;
  private readonly splitOf: Split[];
  private readonly seed: number | string;
  /** One generator per split, so that sampling one split never changes the other's batches. */
  private readonly randoms = new Map<Split, Random>();
  private readonly cycles = new Map<Split, Cycle[]>();

  constructor(records: readonly VectorRecord[], options: SamplerOptions = {}) {
    this.label = options.label ?? "success";
    this.mode = options.mode ?? "balanced";
    if (this.mode !== "balanced" && this.mode !== "stratified")
      throw new Error(`mode must be balanced or stratified, got ${String(options.mode)}`);
    const fraction = options.validationFraction ?? 0.2;
    if (!(fraction >= 0 && fraction < 1))
      throw new Error(`validationFraction must be in [0, 1), got ${fraction}`);
    this.seed = options.seed ?? 1;

    // One row per doc_id, in doc_id order: the result depends on the documents, not on the files.
    const byId = new Map<string, VectorRecord>();
    for (const r of records) {
      const prev = byId.get(r.doc_id);
      if (!prev || r.embedded_ts >= prev.embedded_ts) byId.set(r.doc_id, r);
    }
    const sorted = [...byId.values()].sort((a, b) =>
      a.doc_id < b.doc_id ? -1 : a.doc_id > b.doc_id ? 1 : 0,
    );
    const labelled = sorted.filter((r) => {
      const v = labelOf(r, this.label);
      return v !== undefined && v !== null;
    });
    const found = new Map<string, LabelValue>();
    for (const r of labelled) {
      const v = labelOf(r, this.label) as LabelValue;
      found.set(keyOf(v), v);
    }
    this.classes = options.classes ? [...options.classes] : [...found.values()].sort(compareValues);
    const index = new Map(this.classes.map((c, i) => [keyOf(c), i]));
    this.records = labelled.filter((r) => index.has(keyOf(labelOf(r, this.label) as LabelValue)));
    this.unlabelled = byId.size - this.records.length;
    if (this.records.length === 0) throw new Error(`no record has a value of label "${this.label}"`);
    const dim = this.records[0]?.dim as number;
    for (const r of this.records)
      if (r.dim !== dim)
        throw new Error(`doc ${r.doc_id} has dimension ${r.dim}, others ${dim}: use one model`);
    this.dim = dim;
    this.classOf = Int32Array.from(
      this.records,
      (r) => index.get(keyOf(labelOf(r, this.label) as LabelValue)) as number,
    );
    const salt = options.splitSalt ?? "";
    this.splitOf = this.records.map((r) => (hashUnit(r.doc_id, salt) < fraction ? "validation" : "train"));
  }

  /**
   * A sampler over a Parquet folder of the embed worker ({@link readVectorFolder}: one row per
   * doc_id; `model` is required when the folder holds several models).
   */
  static async fromParquet(
    dir: string,
    options: SamplerOptions & ReadFolderOptions = {},
  ): Promise<VectorLabelSampler> {
    const { records } = await readVectorFolder(dir, options);
    if (records.length === 0) throw new Error(`no vectors in ${dir}`);
    return new VectorLabelSampler(records, options);
  }

  /** The side of the split a doc_id is on (whether or not it is in this sampler). */
  splitOfDoc(docId: string, options: Pick<SamplerOptions, "validationFraction" | "splitSalt"> = {}): Split {
    return hashUnit(docId, options.splitSalt ?? "") < (options.validationFraction ?? 0.2)
      ? "validation"
      : "train";
  }

  /** Rows of a split by class: `{value, rows}` per class, in class order. */
  counts(split: Split = "train"): { value: LabelValue; rows: number }[] {
    const n = this.classes.map(() => 0);
    this.records.forEach((_, i) => {
      const c = this.classOf[i] as number;
      if (this.splitOf[i] === split) n[c] = (n[c] as number) + 1;
    });
    return this.classes.map((value, c) => ({ value, rows: n[c] as number }));
  }

  /** The doc_ids of a split, sorted. */
  docIds(split: Split): string[] {
    return this.records.filter((_, i) => this.splitOf[i] === split).map((r) => r.doc_id);
  }

  private randomOf(split: Split): Random {
    let r = this.randoms.get(split);
    if (!r) {
      r = seededRandom(`${this.seed}:${split}`);
      this.randoms.set(split, r);
    }
    return r;
  }

  private cyclesOf(split: Split): Cycle[] {
    let c = this.cycles.get(split);
    if (!c) {
      const rows: number[][] = this.classes.map(() => []);
      this.records.forEach((_, i) => {
        if (this.splitOf[i] === split) rows[this.classOf[i] as number]?.push(i);
      });
      c = rows.map((r) => new Cycle(r, this.randomOf(split)));
      this.cycles.set(split, c);
    }
    return c;
  }

  /** How many rows of each class a batch of `size` holds. */
  private quota(size: number, split: Split): number[] {
    const counts = this.counts(split).map((c) => c.rows);
    const present = counts.map((n) => n > 0);
    const classes = present.filter(Boolean).length;
    if (classes === 0) throw new Error(`the ${split} split is empty`);
    if (this.mode === "balanced") {
      const base = Math.floor(size / classes);
      let extra = size - base * classes;
      // The remainder goes to the classes in turn, starting at a seeded class.
      const start = Math.floor(this.randomOf(split)() * classes);
      const ids = counts.flatMap((n, c) => (n > 0 ? [c] : []));
      const q = counts.map(() => 0);
      for (const c of ids) q[c] = base;
      for (let j = 0; extra > 0; j++, extra--) {
        const c = ids[(start + j) % ids.length] as number;
        q[c] = (q[c] as number) + 1;
      }
      return q;
    }
    const total = counts.reduce((a, b) => a + b, 0);
    const exact = counts.map((n) => (n / total) * size);
    const q = exact.map(Math.floor);
    let rest = size - q.reduce((a, b) => a + b, 0);
    const order = exact
      .map((x, c) => ({ c, frac: x - Math.floor(x) }))
      .sort((a, b) => b.frac - a.frac || a.c - b.c);
    for (const { c } of order) {
      if (rest === 0) break;
      if (present[c]) {
        q[c] = (q[c] as number) + 1;
        rest--;
      }
    }
    return q;
  }

  /** One batch of `size` rows of `split` (default train), shuffled. */
  sample(size: number, split: Split = "train"): LabeledBatch {
    if (!Number.isInteger(size) || size < 1)
      throw new Error(`batch size must be a positive integer, got ${size}`);
    const cycles = this.cyclesOf(split);
    const rows: number[] = [];
    this.quota(size, split).forEach((n, c) => {
      for (let j = 0; j < n; j++) rows.push((cycles[c] as Cycle).next());
    });
    shuffleInPlace(rows, this.randomOf(split));
    const matrix = new Float32Array(rows.length * this.dim);
    const records = rows.map((i) => this.records[i] as VectorRecord);
    records.forEach((r, j) => {
      matrix.set(r.vector, j * this.dim);
    });
    return {
      matrix,
      dim: this.dim,
      rows: rows.length,
      y: Int32Array.from(rows, (i) => this.classOf[i] as number),
      values: rows.map((i) => this.classes[this.classOf[i] as number] as LabelValue),
      classes: this.classes,
      doc_ids: records.map((r) => r.doc_id),
      records,
    };
  }

  /**
   * `count` batches of `size` (default: as many as cover the split's rows once,
   * ceil(rows / size)). Always yields: an empty split throws instead.
   */
  *batches(size: number, options: { split?: Split; count?: number } = {}): Generator<LabeledBatch> {
    const split = options.split ?? "train";
    const rows = this.counts(split).reduce((a, c) => a + c.rows, 0);
    if (rows === 0) throw new Error(`the ${split} split is empty`);
    const count = options.count ?? Math.ceil(rows / size);
    for (let i = 0; i < count; i++) yield this.sample(size, split);
  }
}
