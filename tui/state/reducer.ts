/**
 * The reducer: one pure function from (state, action) to the next state. Sources feed it
 * decoded events (rates are already computed there); keys feed it UI intents.
 */
import type { Action } from "./actions.ts";
import type {
  DlqEntry,
  Fetched,
  Link,
  SeriesKey,
  State,
  StreamData,
  StreamName,
  StreamSlot,
  Streams,
  UiState,
  ViewId,
} from "./types.ts";
import { STREAMS, VIEWS } from "./types.ts";
import { pushPoint, WINDOW_MS } from "./window.ts";

/** How long a notice stays on the status line, ms. */
export const NOTICE_MS = 8_000;
export const K_MIN = 1;
export const K_MAX = 100;
export const HISTORY_MAX = 50;

const SERIES: SeriesKey[] = [
  "embed.in",
  "embed.out",
  "embed.rtt",
  "parse.in",
  "parse.out",
  "index.out",
  "vec.rows",
  "vec.bytes",
  "spark.input",
  "spark.processing",
];

export interface InitOptions {
  backendUrl: string;
  now: number;
  view?: ViewId;
  k?: number;
  windowMs?: number;
  /** `--allow-actions`. */
  allowActions?: boolean;
}

const connecting = (at: number): Link => ({ status: "connecting", since: at });

/** The state before anything was heard. */
export function initialState(o: InitOptions): State {
  const streams = Object.fromEntries(STREAMS.map((s) => [s, { link: connecting(o.now) }])) as Streams;
  return {
    backendUrl: o.backendUrl,
    allowActions: o.allowActions ?? false,
    now: o.now,
    backend: { link: connecting(o.now) },
    streams,
    shards: { link: connecting(o.now) },
    dlq: { link: connecting(o.now) },
    series: Object.fromEntries(SERIES.map((k) => [k, []])) as unknown as State["series"],
    ui: {
      view: o.view ?? "overview",
      help: { open: false, scroll: 0 },
      focus: "none",
      prompt: "",
      history: [],
      historyIndex: null,
      draft: "",
      k: o.k ?? 5,
      knn: { status: "idle", query: "", selected: 0, seq: 0 },
      dlq: { selected: 0, selectedKey: null, detail: null, replay: null },
      index: { selected: 0 },
    },
  };
}

const up = (link: Link, at: number): Link => (link.status === "up" ? link : { status: "up", since: at });

const down = (link: Link, at: number, error: string, retryAt: number): Link => ({
  status: "down",
  since: link.status === "down" ? link.since : at,
  error,
  retryAt,
});

const clamp = (n: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, n));

/** A stable identity of a DLQ entry (its Redis stream id, else its source coordinates), or null. */
export function dlqKey(e: DlqEntry | undefined): string | null {
  if (typeof e?.stream_id === "string") return e.stream_id;
  const s = e?.source;
  if (typeof s !== "object" || s === null) return null;
  const src = s as Record<string, unknown>;
  return `${String(src.topic)}/${String(src.partition)}/${String(src.offset)}`;
}

/** Whether the component behind a stream event is down (the stream itself answered). */
function componentDown(stream: StreamName, data: StreamData[StreamName]): boolean {
  if (stream === "infermesh") return (data as StreamData["infermesh"]).status === "unreachable";
  if (stream === "spark") return (data as StreamData["spark"]).status === "unreachable";
  if (stream === "vectorizer") return false;
  return !(data as StreamData["parse"]).reachable;
}

type SeriesUpdate = Partial<Record<SeriesKey, number | null>>;

/** The chart points carried by one stream event. */
function seriesOf(stream: StreamName, data: StreamData[StreamName]): SeriesUpdate {
  switch (stream) {
    case "embed-worker": {
      const d = data as StreamData["embed-worker"];
      if (!d.reachable) return { "embed.in": null, "embed.out": null, "embed.rtt": null };
      const rtt = d.metrics.last_infermesh_rtt_ms;
      return {
        "embed.in": d.rates.records_in_per_sec,
        "embed.out": d.rates.records_out_per_sec,
        "embed.rtt": typeof rtt === "number" ? rtt : null,
      };
    }
    case "parse": {
      const d = data as StreamData["parse"];
      return d.reachable
        ? { "parse.in": d.rates.records_in_per_sec, "parse.out": d.rates.records_out_per_sec }
        : { "parse.in": null, "parse.out": null };
    }
    case "indexer": {
      const d = data as StreamData["indexer"];
      return { "index.out": d.reachable ? d.rates.records_out_per_sec : null };
    }
    case "vectorizer": {
      const d = data as StreamData["vectorizer"];
      return { "vec.rows": d.rate_rows_per_sec, "vec.bytes": d.rate_bytes_per_sec };
    }
    case "spark": {
      const d = data as StreamData["spark"];
      return d.status === "unreachable"
        ? { "spark.input": null, "spark.processing": null }
        : { "spark.input": d.streaming.input_rate, "spark.processing": d.streaming.processing_rate };
    }
    default:
      return {};
  }
}

function withSlot<K extends StreamName>(state: State, stream: K, slot: StreamSlot<K>): State {
  return { ...state, streams: { ...state.streams, [stream]: slot } };
}

function withUi(state: State, ui: Partial<UiState>): State {
  return { ...state, ui: { ...state.ui, ...ui } };
}

function fetchedDown<T>(f: Fetched<T>, at: number, error: string, retryAt: number): Fetched<T> {
  return { ...f, link: down(f.link, at, error, retryAt) };
}

const viewIndex = (v: ViewId) => VIEWS.findIndex((x) => x.id === v);

export interface ReducerOptions {
  windowMs?: number;
}

/** Applies one action. */
export function reduce(state: State, action: Action, opts: ReducerOptions = {}): State {
  const windowMs = opts.windowMs ?? WINDOW_MS;
  const s = "at" in action ? { ...state, now: Math.max(state.now, action.at) } : state;
  const ui = s.ui;
  switch (action.type) {
    case "stream/connecting": {
      const slot = s.streams[action.stream];
      if (slot.link.status !== "up") return s;
      return withSlot(s, action.stream, { ...slot, link: connecting(action.at) });
    }
    case "stream/event": {
      const slot = s.streams[action.stream] as StreamSlot<StreamName>;
      const isDown = componentDown(action.stream, action.data);
      const next: StreamSlot<StreamName> = {
        link: up(slot.link, action.at),
        last: action.data,
        at: action.at,
      };
      if (isDown) next.componentDownSince = slot.componentDownSince ?? action.at;
      const series = { ...s.series };
      for (const [k, v] of Object.entries(seriesOf(action.stream, action.data))) {
        series[k as SeriesKey] = pushPoint(series[k as SeriesKey], action.at, v ?? null, windowMs);
      }
      return { ...withSlot(s, action.stream, next as StreamSlot<typeof action.stream>), series };
    }
    case "stream/down": {
      const slot = s.streams[action.stream];
      return withSlot(s, action.stream, {
        ...slot,
        link: down(slot.link, action.at, action.error, action.retryAt),
      });
    }
    case "health/ok":
      return {
        ...s,
        backend: { link: up(s.backend.link, action.at), data: { rtt_ms: action.rtt_ms }, at: action.at },
      };
    case "health/fail":
      return { ...s, backend: fetchedDown(s.backend, action.at, action.error, action.retryAt) };
    case "shards/ok": {
      const max = Math.max(0, action.data.shards.length - 1);
      return withUi(
        { ...s, shards: { link: up(s.shards.link, action.at), data: action.data, at: action.at } },
        { index: { selected: clamp(ui.index.selected, 0, max) } },
      );
    }
    case "shards/fail":
      return { ...s, shards: fetchedDown(s.shards, action.at, action.error, action.retryAt) };
    case "dlq/ok": {
      const items = action.items;
      let selected = clamp(ui.dlq.selected, 0, Math.max(0, items.length - 1));
      if (ui.dlq.selectedKey !== null) {
        const found = items.findIndex((e) => dlqKey(e) === ui.dlq.selectedKey);
        if (found >= 0) selected = found;
      }
      return withUi(
        {
          ...s,
          dlq: { link: up(s.dlq.link, action.at), data: { items, count: action.count }, at: action.at },
        },
        { dlq: { ...ui.dlq, selected, selectedKey: dlqKey(items[selected]) } },
      );
    }
    case "dlq/fail":
      return { ...s, dlq: fetchedDown(s.dlq, action.at, action.error, action.retryAt) };
    case "tick":
      if (ui.notice && action.at - ui.notice.at > NOTICE_MS) return withUi(s, { notice: undefined });
      return s;
    case "view/set":
      return withUi(s, { view: action.view, focus: "none", help: { open: false, scroll: 0 } });
    case "view/cycle": {
      const i = (viewIndex(ui.view) + action.delta + VIEWS.length) % VIEWS.length;
      return withUi(s, { view: (VIEWS[i] ?? VIEWS[0])?.id ?? "overview", focus: "none" });
    }
    case "help/toggle":
      return withUi(s, { help: { open: !ui.help.open, scroll: 0 } });
    case "help/close":
      return withUi(s, { help: { open: false, scroll: 0 } });
    case "help/scroll":
      return withUi(s, {
        help: { ...ui.help, scroll: clamp(ui.help.scroll + action.delta, 0, Math.max(0, action.max)) },
      });
    case "prompt/focus":
      return withUi(s, {
        focus: "prompt",
        view: action.view ?? ui.view,
        historyIndex: null,
        help: { open: false, scroll: 0 },
      });
    case "prompt/blur":
      return withUi(s, { focus: "none", historyIndex: null });
    case "prompt/insert":
      return withUi(s, { prompt: ui.prompt + action.text, historyIndex: null });
    case "prompt/backspace":
      return withUi(s, { prompt: [...ui.prompt].slice(0, -1).join(""), historyIndex: null });
    case "prompt/clear":
      return withUi(s, { prompt: "", historyIndex: null });
    case "prompt/set":
      return withUi(s, { prompt: action.text, historyIndex: null });
    case "history/prev": {
      if (ui.history.length === 0) return s;
      const i = ui.historyIndex === null ? ui.history.length - 1 : Math.max(0, ui.historyIndex - 1);
      return withUi(s, {
        historyIndex: i,
        draft: ui.historyIndex === null ? ui.prompt : ui.draft,
        prompt: ui.history[i] ?? "",
      });
    }
    case "history/next": {
      if (ui.historyIndex === null) return s;
      const i = ui.historyIndex + 1;
      if (i >= ui.history.length) return withUi(s, { historyIndex: null, prompt: ui.draft });
      return withUi(s, { historyIndex: i, prompt: ui.history[i] ?? "" });
    }
    case "k/adjust":
      return withUi(s, { k: clamp(ui.k + action.delta, K_MIN, K_MAX) });
    case "knn/start": {
      const history =
        ui.history[ui.history.length - 1] === action.query ? ui.history : [...ui.history, action.query];
      return withUi(s, {
        history: history.slice(-HISTORY_MAX),
        historyIndex: null,
        draft: "",
        knn: { status: "pending", query: action.query, selected: 0, seq: action.seq },
      });
    }
    case "knn/done":
      if (action.seq !== ui.knn.seq) return s;
      return withUi(s, { knn: { ...ui.knn, status: "done", result: action.result, selected: 0 } });
    case "knn/error":
      if (action.seq !== ui.knn.seq) return s;
      return withUi(s, { knn: { ...ui.knn, status: "error", error: action.error, result: undefined } });
    case "knn/select": {
      const n = ui.knn.result?.neighbors.length ?? 0;
      return withUi(s, { knn: { ...ui.knn, selected: clamp(ui.knn.selected + action.delta, 0, n - 1) } });
    }
    case "dlq/select": {
      const items = s.dlq.data?.items ?? [];
      const selected = clamp(ui.dlq.selected + action.delta, 0, Math.max(0, items.length - 1));
      return withUi(s, { dlq: { ...ui.dlq, selected, selectedKey: dlqKey(items[selected]) } });
    }
    case "dlq/open": {
      const entry = s.dlq.data?.items[ui.dlq.selected];
      if (!entry) return s;
      return withUi(s, { dlq: { ...ui.dlq, detail: { scroll: 0, entry } } });
    }
    case "dlq/close":
      return withUi(s, { dlq: { ...ui.dlq, detail: null } });
    case "dlq/scroll": {
      const d = ui.dlq.detail;
      if (!d) return s;
      return withUi(s, {
        dlq: {
          ...ui.dlq,
          detail: { ...d, scroll: clamp(d.scroll + action.delta, 0, Math.max(0, action.max)) },
        },
      });
    }
    case "dlq/replay-preview":
      return withUi(s, {
        dlq: { ...ui.dlq, replay: { phase: "preview", label: action.label, request: action.request } },
      });
    case "dlq/replay-confirm":
      if (ui.dlq.replay?.phase !== "preview") return s;
      return withUi(s, {
        dlq: { ...ui.dlq, replay: { ...ui.dlq.replay, phase: "confirm", preview: action.answer } },
      });
    case "dlq/replay-run":
      if (ui.dlq.replay?.phase !== "confirm") return s;
      return withUi(s, { dlq: { ...ui.dlq, replay: { ...ui.dlq.replay, phase: "running" } } });
    case "dlq/replay-close":
      return withUi(s, { dlq: { ...ui.dlq, replay: null } });
    case "index/select": {
      const n = s.shards.data?.shards.length ?? 0;
      return withUi(s, {
        index: { selected: clamp(ui.index.selected + action.delta, 0, Math.max(0, n - 1)) },
      });
    }
    case "notice":
      return withUi(s, { notice: { text: action.text, kind: action.kind, at: action.at } });
    default:
      return s;
  }
}
