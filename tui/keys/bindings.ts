/**
 * Key bindings as data. Each binding names its keys, a label for the footer, a description
 * for the help overlay, when it is enabled, and its action. The table's order is the
 * dispatch priority: the first enabled binding matching a key wins. The footer, the `?`
 * overlay and docs/keybindings.md are generated from this table, so they cannot drift from
 * what the keys do.
 */
import type { DlqReplayRequest } from "../../pipeline/contracts/dlq-replay.ts";
import { replayOfEntry, replayOfReason } from "../dlq-entry.ts";
import { oneLine } from "../format.ts";
import type { Dispatch } from "../state/store.ts";
import type { State, ViewId } from "../state/types.ts";
import { VIEWS } from "../state/types.ts";

/** What actions can do besides dispatching. */
export interface Effects {
  quit(): void;
  search(prompt: string, k: number): void;
  saveDlq(): void;
  refresh(): void;
  /** Asks the backend what a replay would send (a dry run), then waits for the operator's y/n. */
  replayDlq(label: string, request: DlqReplayRequest): void;
  /** Runs the replay the operator confirmed. */
  confirmReplay(): void;
}

export interface KeyContext {
  state: State;
  dispatch: Dispatch;
  effects: Effects;
  /** Rows of a page for PageUp/PageDown. */
  page: number;
  /** Largest scroll offsets of the scrollable overlays at the current size. */
  limits(): { detail: number; help: number };
}

export type Group = "Global" | "Prompt" | "kNN" | "DLQ" | "DLQ entry" | "DLQ replay" | "Index" | "Help";

export interface Binding {
  id: string;
  /** Normalised key names (see `keyName`); "printable" matches any text. */
  keys: string[];
  /** How the keys are shown ("↑/↓", "Enter", "1-7"). */
  display: string;
  /** Short footer label. */
  label: string;
  /** Help overlay text. */
  description: string;
  group: Group;
  /** Shown in the footer when enabled. */
  footer: boolean;
  when: When;
  run(ctx: KeyContext, key: string, input: string): void;
}

/** When a binding is enabled: a test on the state, with the words the docs use for it. */
export interface When {
  (s: State): boolean;
  readonly text: string;
}

const when = (text: string, test: (s: State) => boolean): When =>
  Object.assign((s: State) => test(s), { text });

/** Both `a` and `b` (described as "a, b"). */
const and = (a: When, b: When): When => when(`${a.text}, ${b.text}`, (s) => a(s) && b(s));

const viewName = (v: ViewId) => {
  const view = VIEWS.find((x) => x.id === v);
  return view ? `${view.key} ${view.title}` : v;
};

const always = when("always", () => true);
const helpOpen = when("the help overlay is open", (s) => s.ui.help.open);
const typing = when("the prompt has the focus", (s) => !helpOpen(s) && s.ui.focus === "prompt");
const detailOpen = when(
  `a DLQ entry is open (view ${viewName("dlq")})`,
  (s) => !helpOpen(s) && !typing(s) && s.ui.view === "dlq" && s.ui.dlq.detail !== null,
);
const replayOpen = when(
  `a DLQ replay asks for confirmation (view ${viewName("dlq")})`,
  (s) => !helpOpen(s) && s.ui.view === "dlq" && s.ui.dlq.replay !== null,
);
const replayAsks = and(
  replayOpen,
  when("the dry run answered", (s) => s.ui.dlq.replay?.phase === "confirm"),
);
const replayCancellable = and(
  replayOpen,
  when("the replay is not running yet", (s) => s.ui.dlq.replay?.phase !== "running"),
);
/** No overlay, no focused prompt. */
const normal = when(
  "no overlay open, prompt not focused",
  (s) => !helpOpen(s) && !typing(s) && !detailOpen(s) && !replayOpen(s),
);
const inView = (v: ViewId) =>
  when(`view ${viewName(v)}, no overlay open, prompt not focused`, (s) => normal(s) && s.ui.view === v);
const dlqEntries = and(
  inView("dlq"),
  when("the tail has entries", (s) => (s.dlq.data?.items.length ?? 0) > 0),
);
/** Runs `go` when the console may act, else says how to allow it. */
const action =
  (go: (ctx: KeyContext) => void) =>
  (ctx: KeyContext): void => {
    if (ctx.state.allowActions) {
      go(ctx);
      return;
    }
    ctx.dispatch({
      type: "notice",
      kind: "error",
      text: "actions are disabled: start the console with --allow-actions (or TUI_ALLOW_ACTIONS=1)",
      at: ctx.state.now,
    });
  };
const selectedEntry = (s: State) => s.dlq.data?.items[s.ui.dlq.selected];
const knnResults = and(
  inView("knn"),
  when("a search returned neighbours", (s) => (s.ui.knn.result?.neighbors.length ?? 0) > 0),
);

const step = (key: string, page: number) =>
  key === "up" ? -1 : key === "down" ? 1 : key === "pageup" ? -page : key === "pagedown" ? page : 0;

export const BINDINGS: Binding[] = [
  {
    id: "quit.ctrl-c",
    keys: ["ctrl+c"],
    display: "Ctrl-C",
    label: "quit",
    description: "quit, also while typing",
    group: "Global",
    footer: false,
    when: always,
    run: ({ effects }) => effects.quit(),
  },
  {
    id: "help.close",
    keys: ["escape", "?"],
    display: "Esc/?",
    label: "close help",
    description: "close this help",
    group: "Help",
    footer: true,
    when: helpOpen,
    run: ({ dispatch }) => dispatch({ type: "help/close" }),
  },
  {
    id: "help.scroll",
    keys: ["up", "down", "pageup", "pagedown"],
    display: "↑/↓",
    label: "scroll",
    description: "scroll this help",
    group: "Help",
    footer: true,
    when: helpOpen,
    run: ({ dispatch, page, limits }, key) =>
      dispatch({ type: "help/scroll", delta: step(key, page), max: limits().help }),
  },
  {
    id: "help.quit",
    keys: ["q"],
    display: "q",
    label: "quit",
    description: "quit",
    group: "Help",
    footer: true,
    when: helpOpen,
    run: ({ effects }) => effects.quit(),
  },
  {
    id: "replay.confirm",
    keys: ["y"],
    display: "y",
    label: "replay",
    description: "confirm the replay",
    group: "DLQ replay",
    footer: true,
    when: replayAsks,
    run: ({ effects }) => effects.confirmReplay(),
  },
  {
    id: "replay.cancel",
    keys: ["n", "escape"],
    display: "n/Esc",
    label: "cancel",
    description: "cancel the replay",
    group: "DLQ replay",
    footer: true,
    when: replayCancellable,
    run: ({ dispatch }) => dispatch({ type: "dlq/replay-close" }),
  },
  {
    id: "prompt.submit",
    keys: ["return"],
    display: "Enter",
    label: "search",
    description: "search (text, doc:, @file)",
    group: "Prompt",
    footer: true,
    when: typing,
    run: ({ state, dispatch, effects }) => {
      dispatch({ type: "prompt/blur" });
      effects.search(state.ui.prompt, state.ui.k);
    },
  },
  {
    id: "prompt.cancel",
    keys: ["escape"],
    display: "Esc",
    label: "leave prompt",
    description: "leave the prompt",
    group: "Prompt",
    footer: true,
    when: typing,
    run: ({ dispatch }) => dispatch({ type: "prompt/blur" }),
  },
  {
    id: "prompt.history",
    keys: ["up", "down"],
    display: "↑/↓",
    label: "history",
    description: "query history",
    group: "Prompt",
    footer: true,
    when: typing,
    run: ({ dispatch }, key) => dispatch({ type: key === "up" ? "history/prev" : "history/next" }),
  },
  {
    id: "prompt.backspace",
    keys: ["backspace", "delete"],
    display: "Bksp",
    label: "delete",
    description: "delete the last character",
    group: "Prompt",
    footer: false,
    when: typing,
    run: ({ dispatch }) => dispatch({ type: "prompt/backspace" }),
  },
  {
    id: "prompt.clear",
    keys: ["ctrl+u"],
    display: "Ctrl-U",
    label: "clear",
    description: "clear the prompt",
    group: "Prompt",
    footer: true,
    when: typing,
    run: ({ dispatch }) => dispatch({ type: "prompt/clear" }),
  },
  {
    id: "prompt.type",
    keys: ["printable", "tab"],
    display: "text",
    label: "type",
    description: "type into the prompt",
    group: "Prompt",
    footer: false,
    when: typing,
    // A paste arrives as one input: line breaks and control characters are flattened.
    run: ({ dispatch }, key, input) =>
      dispatch({ type: "prompt/insert", text: key === "tab" ? " " : oneLine(input) }),
  },
  {
    id: "detail.close",
    keys: ["escape", "return"],
    display: "Esc",
    label: "close",
    description: "close the entry",
    group: "DLQ entry",
    footer: true,
    when: detailOpen,
    run: ({ dispatch }) => dispatch({ type: "dlq/close" }),
  },
  {
    id: "detail.scroll",
    keys: ["up", "down", "pageup", "pagedown"],
    display: "↑/↓ PgUp/Dn",
    label: "scroll",
    description: "scroll the entry",
    group: "DLQ entry",
    footer: true,
    when: detailOpen,
    run: ({ dispatch, page, limits }, key) =>
      dispatch({ type: "dlq/scroll", delta: step(key, page), max: limits().detail }),
  },
  {
    id: "dlq.select",
    keys: ["up", "down", "pageup", "pagedown"],
    display: "↑/↓",
    label: "select",
    description: "select an entry",
    group: "DLQ",
    footer: true,
    when: inView("dlq"),
    run: ({ dispatch, page }, key) => dispatch({ type: "dlq/select", delta: step(key, page) }),
  },
  {
    id: "dlq.open",
    keys: ["return"],
    display: "Enter",
    label: "open",
    description: "open the entry in full",
    group: "DLQ",
    footer: true,
    when: dlqEntries,
    run: ({ dispatch }) => dispatch({ type: "dlq/open" }),
  },
  {
    id: "dlq.save",
    keys: ["s"],
    display: "s",
    label: "save",
    description: "save the tail as NDJSON",
    group: "DLQ",
    footer: true,
    when: dlqEntries,
    run: ({ effects }) => effects.saveDlq(),
  },
  {
    id: "dlq.replay",
    keys: ["R"],
    display: "R",
    label: "replay",
    description: "replay the selected entry",
    group: "DLQ",
    footer: true,
    when: dlqEntries,
    run: action(({ state, effects }) => {
      const r = replayOfEntry(selectedEntry(state));
      if (r) effects.replayDlq(r.label, r.request);
    }),
  },
  {
    id: "dlq.replay-reason",
    keys: ["A"],
    display: "A",
    label: "replay all",
    description: "replay its stage & reason",
    group: "DLQ",
    footer: false,
    when: dlqEntries,
    run: action(({ state, effects }) => {
      const r = replayOfReason(selectedEntry(state));
      if (r) effects.replayDlq(r.label, r.request);
    }),
  },
  {
    id: "knn.select",
    keys: ["up", "down", "pageup", "pagedown"],
    display: "↑/↓",
    label: "select",
    description: "select a result",
    group: "kNN",
    footer: true,
    when: knnResults,
    run: ({ dispatch, page }, key) => dispatch({ type: "knn/select", delta: step(key, page) }),
  },
  {
    id: "knn.from-result",
    keys: ["return"],
    display: "Enter",
    label: "more like this",
    description: "search from the result",
    group: "kNN",
    footer: true,
    when: knnResults,
    run: ({ state, dispatch, effects }) => {
      const n = state.ui.knn.result?.neighbors[state.ui.knn.selected];
      if (!n) return;
      const prompt = `doc:${n.doc_id}`;
      dispatch({ type: "prompt/set", text: prompt });
      effects.search(prompt, state.ui.k);
    },
  },
  {
    id: "knn.k",
    keys: ["+", "=", "-", "_"],
    display: "+/-",
    label: "k",
    description: "more/fewer neighbours (k)",
    group: "kNN",
    footer: true,
    when: when(
      `view ${viewName("overview")} or ${viewName("knn")}, no overlay open, prompt not focused`,
      (s) => normal(s) && (s.ui.view === "knn" || s.ui.view === "overview"),
    ),
    run: ({ dispatch }, key) => dispatch({ type: "k/adjust", delta: key === "+" || key === "=" ? 1 : -1 }),
  },
  {
    id: "index.select",
    keys: ["up", "down", "pageup", "pagedown"],
    display: "↑/↓",
    label: "scroll shards",
    description: "scroll the shard table",
    group: "Index",
    footer: true,
    when: and(
      inView("index"),
      when("the index holds vectors", (s) => (s.shards.data?.total_ids ?? 0) > 0),
    ),
    run: ({ dispatch, page }, key) => dispatch({ type: "index/select", delta: step(key, page) }),
  },
  {
    id: "search",
    keys: ["/"],
    display: "/",
    label: "search",
    description: "focus the kNN prompt",
    group: "Global",
    footer: true,
    when: normal,
    run: ({ state, dispatch }) =>
      dispatch({ type: "prompt/focus", view: state.ui.view === "overview" ? "overview" : "knn" }),
  },
  {
    id: "views",
    keys: VIEWS.map((v) => v.key),
    display: "1-7",
    label: "views",
    description: "switch view",
    group: "Global",
    footer: true,
    when: normal,
    run: ({ dispatch }, key) => {
      const v = VIEWS.find((x) => x.key === key);
      if (v) dispatch({ type: "view/set", view: v.id });
    },
  },
  {
    id: "views.cycle",
    keys: ["tab", "shift+tab"],
    display: "Tab/S-Tab",
    label: "next view",
    description: "next / previous view",
    group: "Global",
    footer: false,
    when: normal,
    run: ({ dispatch }, key) => dispatch({ type: "view/cycle", delta: key === "tab" ? 1 : -1 }),
  },
  {
    id: "refresh",
    keys: ["r"],
    display: "r",
    label: "refresh",
    description: "refresh, reconnect now",
    group: "Global",
    footer: false,
    when: normal,
    run: ({ effects }) => effects.refresh(),
  },
  {
    id: "help",
    keys: ["?"],
    display: "?",
    label: "help",
    description: "show all keys",
    group: "Global",
    footer: true,
    when: normal,
    run: ({ dispatch }) => dispatch({ type: "help/toggle" }),
  },
  {
    id: "quit",
    keys: ["q"],
    display: "q",
    label: "quit",
    description: "quit",
    group: "Global",
    footer: true,
    when: normal,
    run: ({ effects }) => effects.quit(),
  },
];
