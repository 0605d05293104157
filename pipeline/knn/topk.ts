/**
 * Top-k selection over a score array with a binary min-heap of at most k rows: the root is
 * the worst row kept, so almost every candidate is rejected by one comparison with it.
 * Order: higher score first; equal scores by doc_id ascending (so results are deterministic).
 */
/**
 * The order of results everywhere (one engine, or owners' answers merged by a router): higher
 * score first; equal scores by doc_id ascending (UTF-16 code units).
 */
export function byRank(a: { score: number; doc_id: string }, b: { score: number; doc_id: string }): number {
  return b.score - a.score || (a.doc_id < b.doc_id ? -1 : a.doc_id > b.doc_id ? 1 : 0);
}

export class TopK {
  private readonly rows: Int32Array;
  private readonly vals: Float64Array;
  private n = 0;
  private readonly lo: number;
  private readonly hi: number;

  /**
   * @param k how many rows to keep (≥ 1)
   * @param ids doc_id of each row, for breaking ties
   * @param clamp clamp scores to [-1, 1] (cosines; default true). Approximate scores that only
   *   rank candidates are not clamped, so that scores just past 1 keep their order.
   */
  constructor(
    readonly k: number,
    private readonly ids: readonly string[],
    clamp = true,
  ) {
    this.rows = new Int32Array(k);
    this.vals = new Float64Array(k);
    this.lo = clamp ? -1 : Number.NEGATIVE_INFINITY;
    this.hi = clamp ? 1 : Number.POSITIVE_INFINITY;
  }

  /** Rows kept so far. */
  get size(): number {
    return this.n;
  }

  /**
   * Offers rows [from, to) with their scores `scores[r]`, skipping row `skip` (-1: none).
   * Scores are clamped to [-1, 1] (float rounding can put a unit-vector dot just past 1).
   */
  offerRange(scores: Float32Array, from: number, to: number, skip: number): void {
    // Rows scoring below `cut` cannot enter: one comparison for almost every row. (`cut` stays
    // -Infinity until the heap is full, and while its worst score is the lowest clamped one,
    // where a clamped score could still tie.)
    let cut = this.cut();
    for (let r = from; r < to; r++) {
      const s = scores[r] as number;
      if (s < cut || r === skip) continue;
      if (this.offer(r, s)) cut = this.cut();
    }
  }

  /** Offers the rows `rows[0..count)` with their scores `scores[row]`. */
  offerRows(scores: Float32Array, rows: ArrayLike<number>, count = rows.length): void {
    for (let i = 0; i < count; i++) {
      const r = rows[i] as number;
      this.offer(r, scores[r] as number);
    }
  }

  /** Offers one row; true when it was kept. */
  private offer(r: number, score: number): boolean {
    const s = Math.min(this.hi, Math.max(this.lo, score));
    const vals = this.vals;
    if (this.n < this.k) this.push(r, s);
    else if (
      s > (vals[0] as number) ||
      (s === (vals[0] as number) && (this.ids[r] as string) < (this.ids[this.rows[0] as number] as string))
    )
      this.replaceRoot(r, s);
    else return false;
    return true;
  }

  private cut(): number {
    const worst = this.vals[0] as number;
    return this.n === this.k && worst > this.lo ? worst : Number.NEGATIVE_INFINITY;
  }

  /** The rows kept, in no particular order (a view, valid until the next offer). */
  keptRows(): Int32Array {
    return this.rows.subarray(0, this.n);
  }

  /** The rows kept, best first ({@link byRank}). */
  sorted(): { row: number; score: number }[] {
    const out: { row: number; score: number; doc_id: string }[] = [];
    for (let i = 0; i < this.n; i++) {
      const row = this.rows[i] as number;
      out.push({ row, score: this.vals[i] as number, doc_id: this.ids[row] as string });
    }
    return out.sort(byRank).map(({ row, score }) => ({ row, score }));
  }

  /** True when entry i ranks below entry j (lower score, or equal score and larger doc_id). */
  private worse(i: number, j: number): boolean {
    const a = this.vals[i] as number;
    const b = this.vals[j] as number;
    return (
      a < b ||
      (a === b && (this.ids[this.rows[i] as number] as string) > (this.ids[this.rows[j] as number] as string))
    );
  }

  private swap(i: number, j: number): void {
    const r = this.rows[i] as number;
    this.rows[i] = this.rows[j] as number;
    this.rows[j] = r;
    const v = this.vals[i] as number;
    this.vals[i] = this.vals[j] as number;
    this.vals[j] = v;
  }

  private push(row: number, score: number): void {
    let i = this.n++;
    this.rows[i] = row;
    this.vals[i] = score;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.worse(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  private replaceRoot(row: number, score: number): void {
    this.rows[0] = row;
    this.vals[0] = score;
    const n = this.n;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const child = r < n && this.worse(r, l) ? r : l;
      if (!this.worse(child, i)) break;
      this.swap(i, child);
      i = child;
    }
  }
}
