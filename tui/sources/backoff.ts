/** Reconnect delays: exponential from `baseMs`, capped at `maxMs`, with jitter in [50%, 100%]. */
export interface BackoffOptions {
  baseMs?: number;
  maxMs?: number;
  random?: () => number;
}

export class Backoff {
  private attempt = 0;
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly random: () => number;

  constructor(o: BackoffOptions = {}) {
    this.baseMs = o.baseMs ?? 1_000;
    this.maxMs = o.maxMs ?? 30_000;
    this.random = o.random ?? Math.random;
  }

  /** The delay before the next attempt; each call doubles the next one up to the cap. */
  next(): number {
    const exp = Math.min(this.maxMs, this.baseMs * 2 ** this.attempt);
    this.attempt += 1;
    return Math.round(exp * (0.5 + 0.5 * this.random()));
  }

  /** After a success: the next failure starts from `baseMs` again. */
  reset(): void {
    this.attempt = 0;
  }
}
