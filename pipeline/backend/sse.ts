/**
 * Server-sent events with one shared poller per source.
 *
 * An {@link SseChannel} polls its source only while at least one client listens: the first
 * client starts the poller (which polls at once, then every `intervalMs` after the previous
 * poll finished, so polls never overlap), every snapshot is fanned out to every client as
 * `id: <n>` + `data: <json>`, a new client immediately gets the latest snapshot, and the
 * poller stops as soon as the last client is gone. Each stream starts with `retry: <ms>` and
 * carries `: ping` comments every `heartbeatMs`.
 */
import type { Logger } from "../core/log.ts";

/** Settings shared by the channels of one backend. */
export interface SseSettings {
  /** Reconnection delay announced to clients (`retry:`), ms. */
  retryMs: number;
  /** Interval of `: ping` comments, ms. */
  heartbeatMs: number;
  /** A client with more queued frames than this (a reader that stopped reading) is dropped. */
  maxQueuedFrames: number;
  log: Logger;
}

/** What a channel is doing, for tests and diagnostics. */
export interface ChannelState {
  clients: number;
  polling: boolean;
  /** Polls started since the channel was created. */
  polls: number;
  /** Id of the latest snapshot (0 before the first). */
  lastId: number;
}

interface Client {
  controller: ReadableStreamDefaultController<Uint8Array>;
  onAbort?: () => void;
  signal: AbortSignal;
}

const encoder = new TextEncoder();
const PING = encoder.encode(": ping\n\n");

/** Headers of every event stream. */
export const SSE_HEADERS: Record<string, string> = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  connection: "keep-alive",
  "x-accel-buffering": "no",
};

/** One event stream fed by one shared poller. */
export class SseChannel<T> {
  private readonly clients = new Set<Client>();
  private latest: { id: number; frame: Uint8Array } | undefined;
  private seq = 0;
  private polls = 0;
  /** Incremented at every start and stop; a poll of an older generation is discarded. */
  private generation = 0;
  private polling = false;
  private pollTimer: ReturnType<typeof setTimeout> | undefined;
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private failing = false;
  private closed = false;

  /**
   * @param name used in logs
   * @param poll produces one snapshot; it should report a down source in the snapshot rather
   *   than throw (a rejection is logged and that round is skipped)
   */
  constructor(
    readonly name: string,
    private readonly poll: () => Promise<T>,
    private readonly intervalMs: number,
    private readonly settings: SseSettings,
  ) {}

  /**
   * Opens an event stream for `req`. The client is dropped when the request is aborted or the
   * stream cancelled. A numeric `Last-Event-ID` larger than the channel's counter moves the
   * counter forward, so ids keep increasing for a client that reconnects after a restart.
   */
  connect(req: Request): Response {
    if (this.closed) throw new Error(`channel ${this.name} is closed`);
    const lastEventId = Number(req.headers.get("last-event-id"));
    if (Number.isSafeInteger(lastEventId) && lastEventId > this.seq) this.seq = lastEventId;
    let client: Client | undefined;
    const stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        controller.enqueue(encoder.encode(`retry: ${this.settings.retryMs}\n\n`));
        if (req.signal.aborted) {
          controller.close();
          return;
        }
        client = { controller, signal: req.signal };
        const c = client;
        c.onAbort = () => this.drop(c);
        req.signal.addEventListener("abort", c.onAbort, { once: true });
        this.add(c);
      },
      cancel: () => {
        if (client) this.drop(client);
      },
    });
    return new Response(stream, { headers: SSE_HEADERS });
  }

  /** Current state (clients, whether the poller runs, polls so far, latest id). */
  state(): ChannelState {
    return { clients: this.clients.size, polling: this.polling, polls: this.polls, lastId: this.seq };
  }

  /** Ends every stream and stops the poller; later `connect` calls throw. */
  close(): void {
    this.closed = true;
    for (const c of [...this.clients]) this.drop(c, true);
    this.stop();
  }

  private add(client: Client): void {
    this.clients.add(client);
    this.settings.log.debug("sse client connected", { stream: this.name, clients: this.clients.size });
    if (this.latest) this.send(client, this.latest.frame);
    if (!this.polling) this.start();
  }

  private drop(client: Client, close = false): void {
    if (!this.clients.delete(client)) return;
    if (client.onAbort) client.signal.removeEventListener("abort", client.onAbort);
    if (close) {
      try {
        client.controller.close();
      } catch {
        // Already closed or errored by the runtime.
      }
    }
    this.settings.log.debug("sse client gone", { stream: this.name, clients: this.clients.size });
    if (this.clients.size === 0) this.stop();
  }

  private send(client: Client, frame: Uint8Array): void {
    const queued = client.controller.desiredSize;
    if (queued !== null && queued < -this.settings.maxQueuedFrames) {
      this.settings.log.warn("sse client not reading, dropped", { stream: this.name });
      this.drop(client, true);
      return;
    }
    try {
      client.controller.enqueue(frame);
    } catch {
      this.drop(client);
    }
  }

  private broadcast(frame: Uint8Array): void {
    for (const c of [...this.clients]) this.send(c, frame);
  }

  private start(): void {
    const generation = ++this.generation;
    this.polling = true;
    this.heartbeat = setInterval(() => this.broadcast(PING), this.settings.heartbeatMs);
    this.settings.log.debug("poller started", { stream: this.name });
    const tick = async (): Promise<void> => {
      if (generation !== this.generation) return;
      this.polls += 1;
      let snapshot: T | undefined;
      try {
        snapshot = await this.poll();
        this.failing = false;
      } catch (err) {
        if (!this.failing) this.settings.log.warn("poll failed", { stream: this.name, error: err });
        this.failing = true;
      }
      if (generation !== this.generation) return;
      if (snapshot !== undefined) this.publish(snapshot);
      this.pollTimer = setTimeout(tick, this.intervalMs);
    };
    void tick();
  }

  private stop(): void {
    if (!this.polling) return;
    this.generation += 1;
    this.polling = false;
    clearTimeout(this.pollTimer);
    clearInterval(this.heartbeat);
    this.pollTimer = undefined;
    this.heartbeat = undefined;
    // A snapshot kept while nobody listens would be stale for the next client: the next
    // poller run polls at once instead.
    this.latest = undefined;
    this.settings.log.debug("poller stopped", { stream: this.name });
  }

  private publish(snapshot: T): void {
    const id = ++this.seq;
    const frame = encoder.encode(`id: ${id}\ndata: ${JSON.stringify(snapshot)}\n\n`);
    this.latest = { id, frame };
    this.broadcast(frame);
  }
}
