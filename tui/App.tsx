/**
 * The console's root: tab bar, status line, the current view (or the help overlay), footer.
 * Renders from the store's state at most `fps` times a second, exactly the window's size.
 */
import { Box, useInput, useWindowSize } from "ink";
import type { FC } from "react";
import { Footer } from "./components/Footer.tsx";
import { HelpOverlay } from "./components/HelpOverlay.tsx";
import { StatusLine } from "./components/StatusLine.tsx";
import { TabBar } from "./components/TabBar.tsx";
import { ThemeProvider, type Tone } from "./components/theme.tsx";
import { clock } from "./format.ts";
import type { Effects } from "./keys/bindings.ts";
import { footerBindings, handleKey, helpGroups } from "./keys/dispatch.ts";
import { bodyRows, pageRows, scrollLimits } from "./layout.ts";
import { downText } from "./state/selectors.ts";
import type { Store } from "./state/store.ts";
import type { State, ViewId } from "./state/types.ts";
import { useThrottledState } from "./use-throttled-state.ts";
import { Dlq } from "./views/Dlq.tsx";
import { Embed } from "./views/Embed.tsx";
import { Index } from "./views/Index.tsx";
import { Knn } from "./views/Knn.tsx";
import { Overview } from "./views/Overview.tsx";
import type { ViewProps } from "./views/props.ts";
import { Spark } from "./views/Spark.tsx";
import { Vectorizer } from "./views/Vectorizer.tsx";

const VIEW_COMPONENTS: Record<ViewId, FC<ViewProps>> = {
  overview: Overview,
  spark: Spark,
  vectorizer: Vectorizer,
  embed: Embed,
  index: Index,
  dlq: Dlq,
  knn: Knn,
};

/** The status line's connection text. */
export function connectionText(state: State): { text: string; tone?: Tone } {
  const link = state.backend.link;
  if (link.status === "down") {
    return {
      text: `✕ disconnected ${downText(link, state.now)} — ${state.backendUrl}: ${link.error ?? "?"}`,
      tone: "bad",
    };
  }
  if (link.status === "connecting") return { text: `○ connecting to ${state.backendUrl} …`, tone: "muted" };
  const down = Object.entries(state.streams).filter(([, s]) => s.link.status === "down");
  if (down.length > 0) {
    return {
      text: `◐ connected to ${state.backendUrl} · streams down: ${down.map(([n]) => n).join(", ")}`,
      tone: "warn",
    };
  }
  return { text: `● connected to ${state.backendUrl}`, tone: "ok" };
}

export interface AppProps {
  store: Store;
  effects: Effects;
  /** False under NO_COLOR. */
  color: boolean;
  /** Largest render rate (default 10). */
  fps?: number;
}

export function App({ store, effects, color, fps = 10 }: AppProps) {
  const state = useThrottledState(store, 1000 / fps);
  const { columns, rows } = useWindowSize();
  const width = Math.max(1, columns);
  const bodyHeight = bodyRows(rows);

  useInput((input, key) => {
    /** How far the overlays can scroll at this size (for the state of the moment). */
    const limits = () => {
      const now = store.getState();
      return scrollLimits({
        entry: now.ui.dlq.detail?.entry,
        help: helpGroups(now),
        width,
        height: bodyHeight,
      });
    };
    handleKey(
      {
        getState: store.getState,
        dispatch: store.dispatch,
        effects,
        page: pageRows(bodyHeight),
        limits,
      },
      input,
      key,
    );
  });

  const View = VIEW_COMPONENTS[state.ui.view];
  const conn = connectionText(state);
  const notice = state.ui.notice;
  return (
    <ThemeProvider color={color}>
      <Box flexDirection="column" width={width} height={rows} overflow="hidden">
        <TabBar view={state.ui.view} width={width} status={clock(state.now).slice(0, 5)} />
        <StatusLine
          width={width}
          left={conn.text}
          leftTone={conn.tone}
          right={notice?.text}
          rightTone={notice?.kind === "error" ? "bad" : "ok"}
        />
        <Box flexDirection="column" width={width} height={bodyHeight} overflow="hidden">
          {state.ui.help.open ? (
            <HelpOverlay
              groups={helpGroups(state)}
              width={width}
              height={bodyHeight}
              scroll={state.ui.help.scroll}
            />
          ) : (
            <View state={state} width={width} height={bodyHeight} />
          )}
        </Box>
        <Footer entries={footerBindings(state)} width={width} />
      </Box>
    </ThemeProvider>
  );
}
