/**
 * One backend event stream kept open: decoded events are dispatched, a failed, ended or
 * silent stream is closed and reopened after a backoff (1 s doubling to 30 s, jittered; reset
 * once an event arrives), resuming with `Last-Event-ID`.
 */
import type { Dispatch } from "../state/store.ts";
import { STREAM_PATHS, type StreamName } from "../state/types.ts";
import { Backoff } from "./backoff.ts";
import { createDecoder } from "./decode.ts";
import type { Scheduler } from "./scheduler.ts";
import { errorText, type Transport } from "./transport.ts";

export interface SseFeedOptions<K extends StreamName> {
  stream: K;
  transport: Transport;
  dispatch: Dispatch;
  scheduler: Scheduler;
  backoff?: Backoff;
  /** A stream silent this long (no event) is considered dead and reopened, ms. */
  stallMs?: number;
}

export class SseFeed<K extends StreamName> {
  private close: (() => void) | undefined;
  private retryTimer: unknown;
  private stallTimer: unknown;
  private lastId: string | undefined;
  private stopped = true;
  private down = false;
  private readonly backoff: Backoff;
  private readonly stallMs: number;
  private readonly decode: ReturnType<typeof createDecoder<K>>;

  constructor(private readonly o: SseFeedOptions<K>) {
    this.backoff = o.backoff ?? new Backoff();
    this.stallMs = o.stallMs ?? (o.stream === "spark" ? 30_000 : 20_000);
    this.decode = createDecoder(o.stream);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.close?.();
    this.close = undefined;
    this.o.scheduler.clearTimeout(this.retryTimer);
    this.o.scheduler.clearTimeout(this.stallTimer);
  }

  /** While the stream is down, reconnects at once instead of waiting for the backoff. */
  reconnectIfDown(): void {
    if (this.stopped || !this.down) return;
    this.close?.();
    this.close = undefined;
    this.o.scheduler.clearTimeout(this.retryTimer);
    this.connect();
  }

  private armStall(): void {
    const s = this.o.scheduler;
    s.clearTimeout(this.stallTimer);
    this.stallTimer = s.setTimeout(() => this.fail(`no event for ${this.stallMs / 1000}s`), this.stallMs);
  }

  private connect(): void {
    const { stream, transport, dispatch, scheduler } = this.o;
    dispatch({ type: "stream/connecting", stream, at: scheduler.now() });
    this.armStall();
    try {
      this.close = transport.openStream(
        STREAM_PATHS[stream],
        {
          // Open is not "up": a stream counts as up once an event arrives.
          onOpen: () => {},
          onMessage: (data, id) => this.message(data, id),
          onError: (message) => {
            this.close = undefined;
            this.fail(message);
          },
        },
        this.lastId,
      );
    } catch (err) {
      this.fail(errorText(err));
    }
  }

  private message(data: string, id: string | undefined): void {
    if (this.stopped) return;
    const { stream, dispatch, scheduler } = this.o;
    if (id !== undefined) this.lastId = id;
    const at = scheduler.now();
    let decoded: ReturnType<typeof this.decode>;
    try {
      decoded = this.decode(JSON.parse(data), at);
    } catch (err) {
      // A malformed event is skipped; the stream itself is fine.
      dispatch({ type: "notice", kind: "error", text: `${stream}: bad event (${errorText(err)})`, at });
      return;
    }
    this.backoff.reset();
    this.down = false;
    this.armStall();
    dispatch({ type: "stream/event", stream, at, data: decoded } as Parameters<Dispatch>[0]);
  }

  private fail(error: string): void {
    if (this.stopped) return;
    const { stream, dispatch, scheduler } = this.o;
    this.down = true;
    this.close?.();
    this.close = undefined;
    scheduler.clearTimeout(this.stallTimer);
    scheduler.clearTimeout(this.retryTimer);
    const delay = this.backoff.next();
    const at = scheduler.now();
    dispatch({ type: "stream/down", stream, at, error, retryAt: at + delay });
    this.retryTimer = scheduler.setTimeout(() => {
      if (!this.stopped) this.connect();
    }, delay);
  }
}
