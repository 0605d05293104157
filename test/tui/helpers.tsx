/**
 * Test harness of the console: a transport that replays recorded fixtures (no network), a
 * manual clock, and a renderer with a virtual terminal of any size (ink-testing-library's
 * stdout is fixed at 100 columns, so the app is rendered with ink directly).
 */
import { EventEmitter } from "node:events";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { render } from "ink";
import { App } from "../../tui/App.tsx";
import { createEffects } from "../../tui/effects.ts";
import { createDlqReplayClient } from "../../tui/sources/dlq.ts";
import { type Feeds, startFeeds } from "../../tui/sources/feeds.ts";
import type { KnnQueryFn } from "../../tui/sources/knn.ts";
import type { Scheduler } from "../../tui/sources/scheduler.ts";
import type { StreamHandlers, Transport, TransportResponse } from "../../tui/sources/transport.ts";
import { initialState } from "../../tui/state/reducer.ts";
import { Store } from "../../tui/state/store.ts";
import { STREAM_PATHS, type StreamName, type ViewId } from "../../tui/state/types.ts";

/** The fixtures folder; TUI_FIXTURES_DIR points the tests at a fresh recording before it replaces these. */
export const FIXTURES = process.env.TUI_FIXTURES_DIR || join(import.meta.dir, "../../fixtures/tui");

/** A JSON fixture. */
export function fixture(name: string): unknown {
  return JSON.parse(readFileSync(join(FIXTURES, name), "utf8"));
}

/** The events of a recorded stream (`<name>.stream.jsonl`), as raw `data:` strings. */
export function streamFixture(stream: StreamName): string[] {
  return readFileSync(join(FIXTURES, `${stream}.stream.jsonl`), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "");
}

/** Timers that only fire when the test advances the clock. */
export class ManualScheduler implements Scheduler {
  private t: number;
  private seq = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();

  constructor(start = Date.UTC(2026, 10, 25, 11, 0, 0)) {
    this.t = start;
  }

  now = (): number => this.t;

  setTimeout = (fn: () => void, ms: number): unknown => {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  };

  clearTimeout = (h: unknown): void => {
    this.timers.delete(h as number);
  };

  /** Moves the clock forward, firing due timers in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = [...this.timers.entries()]
        .filter(([, x]) => x.at <= end)
        .sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.t = Math.max(this.t, due[1].at);
      due[1].fn();
    }
    this.t = end;
  }

  pending(): number {
    return this.timers.size;
  }
}

type Responder = (path: string, body: unknown) => TransportResponse | Promise<TransportResponse>;

/**
 * Replays fixtures: streams are opened like the real ones (asynchronously), tests push
 * events into them or fail them; requests are answered by registered responders (an
 * unregistered path, or `down`, rejects like a refused connection).
 */
export class FixtureTransport implements Transport {
  readonly open = new Map<string, Set<StreamHandlers>>();
  readonly opened: { path: string; lastEventId?: string }[] = [];
  readonly requests: { path: string; method: string; body: unknown }[] = [];
  private readonly responders = new Map<string, Responder>();
  down = false;

  openStream(path: string, handlers: StreamHandlers, lastEventId?: string): () => void {
    this.opened.push({ path, lastEventId });
    const set = this.open.get(path) ?? new Set();
    this.open.set(path, set);
    let closed = false;
    queueMicrotask(() => {
      if (closed) return;
      if (this.down) {
        closed = true;
        handlers.onError("Unable to connect (ECONNREFUSED)");
        return;
      }
      set.add(handlers);
      handlers.onOpen();
    });
    return () => {
      closed = true;
      set.delete(handlers);
    };
  }

  async request(path: string, init: { method?: string; body?: unknown } = {}): Promise<TransportResponse> {
    this.requests.push({ path, method: init.method ?? "GET", body: init.body });
    if (this.down) throw new Error("Unable to connect (ECONNREFUSED)");
    const key = [...this.responders.keys()].find((k) => path === k || path.startsWith(`${k}?`));
    const r = key === undefined ? undefined : this.responders.get(key);
    if (!r) throw new Error(`no fixture for ${path}`);
    return r(path, init.body);
  }

  /** Answers `path` (query string ignored) with `body` and `status`. */
  respond(path: string, body: unknown, status = 200): void {
    this.responders.set(path, () => ({ status, body }));
  }

  respondWith(path: string, r: Responder): void {
    this.responders.set(path, r);
  }

  /** Pushes one event (a `data:` string or an object) to every open stream of `stream`. */
  emit(stream: StreamName, data: string | unknown, id?: string): number {
    const set = this.open.get(STREAM_PATHS[stream]) ?? new Set();
    const raw = typeof data === "string" ? data : JSON.stringify(data);
    for (const h of [...set]) h.onMessage(raw, id);
    return set.size;
  }

  /** Fails every open stream (as when the backend goes away). */
  failAll(message = "stream ended"): void {
    for (const set of this.open.values()) {
      for (const h of [...set]) {
        set.delete(h);
        h.onError(message);
      }
    }
  }

  /** The standard answers of the JSON endpoints from the fixtures. */
  respondWithFixtures(): this {
    this.respond("/health", fixture("health.json"));
    this.respond("/api/knn/shards", fixture("shards.json"));
    this.respond("/api/embed-worker/dlq", fixture("dlq.json"));
    return this;
  }
}

/** A virtual terminal of `columns` × `rows`. */
class VirtualStdout extends EventEmitter {
  isTTY = true;
  frames: string[] = [];
  constructor(
    public columns: number,
    public rows: number,
  ) {
    super();
  }
  write = (frame: string): boolean => {
    this.frames.push(frame);
    return true;
  };
  lastFrame = (): string => this.frames[this.frames.length - 1] ?? "";
  resize(columns: number, rows: number): void {
    this.columns = columns;
    this.rows = rows;
    this.emit("resize");
  }
}

class VirtualStdin extends EventEmitter {
  isTTY = true;
  private data: string | null = null;
  write(data: string): void {
    this.data = data;
    this.emit("readable");
    this.emit("data", data);
  }
  read = (): string | null => {
    const d = this.data;
    this.data = null;
    return d;
  };
  setEncoding(): void {}
  setRawMode(): void {}
  resume(): void {}
  pause(): void {}
  ref(): void {}
  unref(): void {}
}

export const KEYS = {
  up: "\u001b[A",
  down: "\u001b[B",
  pageDown: "\u001b[6~",
  pageUp: "\u001b[5~",
  enter: "\r",
  escape: "\u001b",
  backspace: "\u007f",
  ctrlC: "\u0003",
  ctrlU: "\u0015",
  tab: "\t",
};

export interface Harness {
  store: Store;
  transport: FixtureTransport;
  scheduler: ManualScheduler;
  feeds: Feeds;
  effects: ReturnType<typeof createEffects>;
  stdout: VirtualStdout;
  quits: number;
  lastFrame(): string;
  /** Writes keys (one write per element). */
  press(...keys: string[]): Promise<void>;
  /** Waits until the latest frame satisfies `cond` (polls; fails after `timeoutMs`). */
  waitFor(cond: (frame: string) => boolean, what?: string, timeoutMs?: number): Promise<string>;
  /** Replays every event of the recorded streams (or the given ones), one poll interval apart. */
  replayStreams(streams?: StreamName[]): void;
  unmount(): void;
}

export interface HarnessOptions {
  columns?: number;
  rows?: number;
  color?: boolean;
  view?: ViewId;
  knnQuery?: KnnQueryFn;
  saveDir?: string;
  /** Answer the JSON endpoints from the fixtures (default true). */
  fixtures?: boolean;
  /** Started with --allow-actions. */
  allowActions?: boolean;
  /** Adjusts the transport before the feeds start (e.g. other answers, or `down`). */
  setup?: (t: FixtureTransport) => void;
}

const ALL_STREAMS: StreamName[] = ["infermesh", "vectorizer", "embed-worker", "parse", "indexer", "spark"];

/** Renders the whole console over a fixture transport with a manual clock. */
export async function renderConsole(o: HarnessOptions = {}): Promise<Harness> {
  const scheduler = new ManualScheduler();
  const transport = new FixtureTransport();
  if (o.fixtures !== false) transport.respondWithFixtures();
  o.setup?.(transport);
  const store = new Store(
    initialState({
      backendUrl: "http://127.0.0.1:8080",
      now: scheduler.now(),
      view: o.view,
      allowActions: o.allowActions,
    }),
  );
  const feeds = startFeeds({ transport, dispatch: store.dispatch, scheduler });
  const stdout = new VirtualStdout(o.columns ?? 80, o.rows ?? 24);
  const stdin = new VirtualStdin();
  const h = { quits: 0 } as Harness;
  const effects = createEffects({
    store,
    knnQuery:
      o.knnQuery ??
      (async () => {
        throw new Error("no kNN in this test");
      }),
    saveDir: o.saveDir ?? "/nonexistent",
    cwd: FIXTURES,
    now: scheduler.now,
    refresh: feeds.refresh,
    quit: () => {
      h.quits += 1;
    },
    dlqReplay: createDlqReplayClient(transport),
  });
  const instance = render(<App store={store} effects={effects} color={o.color ?? false} fps={1000} />, {
    stdout: stdout as unknown as NodeJS.WriteStream,
    stdin: stdin as unknown as NodeJS.ReadStream,
    debug: true,
    exitOnCtrlC: false,
    patchConsole: false,
    interactive: true,
    maxFps: 1000,
  });
  // Let the streams open (the transport opens them on a microtask).
  await new Promise((r) => setTimeout(r, 0));

  const waitFor = async (cond: (frame: string) => boolean, what = "condition", timeoutMs = 3000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = stdout.lastFrame();
      if (cond(f)) return f;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last frame:\n${f}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };

  Object.assign(h, {
    store,
    transport,
    scheduler,
    feeds,
    effects,
    stdout,
    lastFrame: () => stdout.lastFrame(),
    async press(...keys: string[]) {
      for (const k of keys) {
        stdin.write(k);
        // Ink reads input on the next tick; a lone ESC is flushed after its own timeout.
        await new Promise((r) => setTimeout(r, k === KEYS.escape ? 60 : 2));
      }
    },
    waitFor,
    replayStreams(streams = ALL_STREAMS) {
      const recorded = new Map(streams.map((s) => [s, streamFixture(s)]));
      const n = Math.max(...[...recorded.values()].map((e) => e.length));
      for (let i = 0; i < n; i++) {
        for (const [s, events] of recorded) {
          const e = events[i];
          if (e !== undefined) transport.emit(s, e, String(i + 1));
        }
        scheduler.advance(3000);
      }
    },
    unmount() {
      feeds.stop();
      instance.unmount();
      instance.cleanup();
    },
  });
  return h;
}

/** Strips ANSI escape sequences. */
export function stripAnsi(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching escape sequences is the point
  return s.replace(/\u001b\[[0-9;?]*[ -/]*[@-~]/g, "");
}

/** Lines of a frame without ANSI codes and without the trailing newline. */
export function frameLines(frame: string): string[] {
  return stripAnsi(frame).replace(/\n$/, "").split("\n");
}
