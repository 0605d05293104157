/**
 * Top-k selection over a score array with a binary min-heap of at most k rows: the root is
 * the worst row kept, so almost every candidate is rejected by one comparison with it.
 * Order: higher score first; equal scores by doc_id ascending (so results are deterministic).
 */
export class TopK {
  private readonly rows: Int32Array;
  private readonly vals: Float64Array;
  private n = 0;

  /**
   * @param k how many rows to keep (≥ 1)
   * @param ids doc_id of each row, for breaking ties
   */
  constructor(
    readonly k: number,
    private readonly ids: readonly string[],
  ) {
    this.rows = new Int32Array(k);
    this.vals = new Float64Array(k);
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
    const k = this.k;
    const ids = this.ids;
    const rows = this.rows;
    const vals = this.vals;
    // Rows scoring below `cut` cannot enter: one comparison for almost every row. (`cut` stays
    // -Infinity until the heap is full, and while its worst score is -1, where a clamped
    // score could still tie.)
    let cut = this.cut();
    for (let r = from; r < to; r++) {
      let s = scores[r] as number;
      if (s < cut || r === skip) continue;
      if (s > 1) s = 1;
      else if (s < -1) s = -1;
      if (this.n < k) this.push(r, s);
      else if (
        s > (vals[0] as number) ||
        (s === (vals[0] as number) && (ids[r] as string) < (ids[rows[0] as number] as string))
      )
        this.replaceRoot(r, s);
      else continue;
      cut = this.cut();
    }
  }

  private cut(): number {
    const worst = this.vals[0] as number;
    return this.n === this.k && worst > -1 ? worst : Number.NEGATIVE_INFINITY;
  }

  /** The rows kept, best first. */
  sorted(): { row: number; score: number }[] {
    const out: { row: number; score: number }[] = [];
    for (let i = 0; i < this.n; i++) out.push({ row: this.rows[i] as number, score: this.vals[i] as number });
    const ids = this.ids;
    out.sort((a, b) => b.score - a.score || ((ids[a.row] as string) < (ids[b.row] as string) ? -1 : 1));
    return out;
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
