/**
 * Every feed of the console and its refresh policy, started together:
 * - the six event streams (pushed by the backend every ~3 s, Spark ~5 s; reconnect 1→30 s);
 * - `GET /health` every 2 s (the "disconnected since" of the status line);
 * - `GET /api/knn/shards` every 10 s;
 * - `GET /api/embed-worker/dlq?limit=N` every 5 s;
 * - a 1 s clock tick (durations on screen, notice expiry).
 */
import type { Dispatch } from "../state/store.ts";
import { STREAMS } from "../state/types.ts";
import { decodeDlq, decodeShards } from "./decode.ts";
import { PollFeed } from "./poll-feed.ts";
import type { Scheduler } from "./scheduler.ts";
import { SseFeed } from "./sse-feed.ts";
import { answerError, type Transport } from "./transport.ts";

export interface FeedsOptions {
  transport: Transport;
  dispatch: Dispatch;
  scheduler: Scheduler;
  /** Entries of the DLQ tail kept (default 200). */
  dlqLimit?: number;
  healthMs?: number;
  shardsMs?: number;
  dlqMs?: number;
  /** Re-render cadence for clocks and "since" texts, ms (default 5000: the console idles cheaply). */
  tickMs?: number;
}

export interface Feeds {
  stop(): void;
  /** Re-reads the HTTP feeds and reopens the streams that are down, now. */
  refresh(): void;
}

export function startFeeds(o: FeedsOptions): Feeds {
  const { transport, dispatch, scheduler } = o;
  const limit = o.dlqLimit ?? 200;

  const getJson = async (path: string, signal: AbortSignal): Promise<unknown> => {
    const res = await transport.request(path, { signal });
    if (res.status < 200 || res.status >= 300) throw new Error(answerError(res));
    return res.body;
  };

  const streams = STREAMS.map((stream) => new SseFeed({ stream, transport, dispatch, scheduler }));

  const health = new PollFeed({
    name: "health",
    intervalMs: o.healthMs ?? 2_000,
    scheduler,
    run: async (signal) => {
      const t0 = performance.now();
      await getJson("/health", signal);
      return performance.now() - t0;
    },
    onOk: (rtt_ms, at) => dispatch({ type: "health/ok", at, rtt_ms }),
    onFail: (error, at, retryAt) => dispatch({ type: "health/fail", at, error, retryAt }),
  });

  const shards = new PollFeed({
    name: "shards",
    intervalMs: o.shardsMs ?? 10_000,
    scheduler,
    run: async (signal) => decodeShards(await getJson("/api/knn/shards", signal)),
    onOk: (data, at) => dispatch({ type: "shards/ok", at, data }),
    onFail: (error, at, retryAt) => dispatch({ type: "shards/fail", at, error, retryAt }),
  });

  const dlq = new PollFeed({
    name: "dlq",
    intervalMs: o.dlqMs ?? 5_000,
    scheduler,
    run: async (signal) => decodeDlq(await getJson(`/api/embed-worker/dlq?limit=${limit}`, signal)),
    onOk: (d, at) => dispatch({ type: "dlq/ok", at, items: d.items, count: d.count }),
    onFail: (error, at, retryAt) => dispatch({ type: "dlq/fail", at, error, retryAt }),
  });

  const polls = [health, shards, dlq];
  let tickTimer: unknown;
  let stopped = false;
  const tick = () => {
    if (stopped) return;
    dispatch({ type: "tick", at: scheduler.now() });
    tickTimer = scheduler.setTimeout(tick, o.tickMs ?? 5_000);
  };

  for (const s of streams) s.start();
  for (const p of polls) p.start();
  tickTimer = scheduler.setTimeout(tick, o.tickMs ?? 5_000);

  return {
    stop() {
      stopped = true;
      scheduler.clearTimeout(tickTimer);
      for (const s of streams) s.stop();
      for (const p of polls) p.stop();
    },
    refresh() {
      for (const p of polls) p.refresh();
      for (const s of streams) s.reconnectIfDown();
    },
  };
}
