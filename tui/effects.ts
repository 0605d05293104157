/**
 * The effects key bindings can trigger (search, save, refresh, quit), wired to the sources.
 * Tests build them with a fake query function and a temporary save folder.
 */
import { summaryLine } from "../pipeline/contracts/dlq-replay.ts";
import type { Effects } from "./keys/bindings.ts";
import { type DlqReplayFn, saveDlqTail } from "./sources/dlq.ts";
import { createSearcher, type KnnQueryFn, type ReadText } from "./sources/knn.ts";
import { errorText } from "./sources/transport.ts";
import type { Store } from "./state/store.ts";

export interface EffectDeps {
  store: Store;
  knnQuery: KnnQueryFn;
  /** Folder of saved DLQ files ($TUI_SAVE_DIR, else the working directory). */
  saveDir: string;
  cwd: string;
  now: () => number;
  refresh: () => void;
  quit: () => void;
  /** `POST /api/dlq/replay` (sources/dlq.ts). */
  dlqReplay: DlqReplayFn;
  readText?: ReadText;
}

export function createEffects(d: EffectDeps): Effects & { pending(): Promise<void> } {
  const running = new Set<Promise<void>>();
  const track = (p: Promise<void>) => {
    running.add(p);
    void p.finally(() => running.delete(p));
  };
  const search = createSearcher({
    query: d.knnQuery,
    dispatch: d.store.dispatch,
    now: d.now,
    cwd: d.cwd,
    readText: d.readText,
  });
  return {
    quit: d.quit,
    refresh: () => {
      d.refresh();
      d.store.dispatch({ type: "notice", kind: "info", text: "refreshing …", at: d.now() });
    },
    search: (prompt, k) => track(search(prompt, k)),
    saveDlq: () => {
      const items = d.store.getState().dlq.data?.items ?? [];
      track(
        saveDlqTail(items, d.saveDir, d.now()).then(
          (path) =>
            d.store.dispatch({
              type: "notice",
              kind: "info",
              text: `saved ${items.length} entries to ${path}`,
              at: d.now(),
            }),
          (err) =>
            d.store.dispatch({
              type: "notice",
              kind: "error",
              text: `save failed: ${errorText(err)}`,
              at: d.now(),
            }),
        ),
      );
    },
    replayDlq: (label, request) => {
      const { dispatch } = d.store;
      dispatch({ type: "dlq/replay-preview", label, request });
      track(
        d.dlqReplay({ ...request, dry_run: true }).then(
          (answer) => dispatch({ type: "dlq/replay-confirm", answer }),
          (err) => {
            dispatch({ type: "dlq/replay-close" });
            dispatch({
              type: "notice",
              kind: "error",
              text: `replay refused: ${errorText(err)}`,
              at: d.now(),
            });
          },
        ),
      );
    },
    confirmReplay: () => {
      const { dispatch, getState } = d.store;
      const r = getState().ui.dlq.replay;
      if (r?.phase !== "confirm") return;
      dispatch({ type: "dlq/replay-run" });
      track(
        d.dlqReplay({ ...r.request, dry_run: false }).then(
          (answer) => {
            dispatch({ type: "dlq/replay-close" });
            dispatch({
              type: "notice",
              kind: "info",
              text: `replayed: ${summaryLine(answer.summary)}`,
              at: d.now(),
            });
            d.refresh();
          },
          (err) => {
            dispatch({ type: "dlq/replay-close" });
            dispatch({
              type: "notice",
              kind: "error",
              text: `replay failed: ${errorText(err)}`,
              at: d.now(),
            });
          },
        ),
      );
    },
    /** Settles when every effect started so far has finished (for tests). */
    pending: async () => {
      while (running.size > 0) await Promise.allSettled([...running]);
    },
  };
}
