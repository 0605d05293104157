/**
 * A periodic HTTP read with its own policy: every `intervalMs` after the previous answer
 * (never overlapping: a refresh requested while one runs is dropped), after a failure again
 * after a backoff instead.
 */
import { Backoff } from "./backoff.ts";
import type { Scheduler } from "./scheduler.ts";
import { errorText } from "./transport.ts";

export interface PollFeedOptions<T> {
  name: string;
  intervalMs: number;
  scheduler: Scheduler;
  /** One read; rejects on failure (its message is reported). */
  run(signal: AbortSignal): Promise<T>;
  onOk(value: T, at: number): void;
  onFail(error: string, at: number, retryAt: number): void;
  backoff?: Backoff;
}

export class PollFeed<T> {
  private timer: unknown;
  private inFlight: AbortController | undefined;
  private stopped = true;
  private readonly backoff: Backoff;

  constructor(private readonly o: PollFeedOptions<T>) {
    this.backoff = o.backoff ?? new Backoff();
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.tick();
  }

  stop(): void {
    this.stopped = true;
    this.o.scheduler.clearTimeout(this.timer);
    this.inFlight?.abort();
    this.inFlight = undefined;
  }

  /** Reads now unless a read is already running. */
  refresh(): void {
    if (this.stopped || this.inFlight) return;
    this.o.scheduler.clearTimeout(this.timer);
    void this.tick();
  }

  private async tick(): Promise<void> {
    if (this.stopped || this.inFlight) return;
    const ctl = new AbortController();
    this.inFlight = ctl;
    const s = this.o.scheduler;
    let delay: number;
    try {
      const value = await this.o.run(ctl.signal);
      if (this.stopped) return;
      this.backoff.reset();
      this.o.onOk(value, s.now());
      delay = this.o.intervalMs;
    } catch (err) {
      if (this.stopped) return;
      delay = Math.max(this.backoff.next(), Math.min(this.o.intervalMs, 1_000));
      const at = s.now();
      this.o.onFail(errorText(err), at, at + delay);
    } finally {
      if (this.inFlight === ctl) this.inFlight = undefined;
    }
    if (!this.stopped) this.timer = s.setTimeout(() => void this.tick(), delay);
  }
}
