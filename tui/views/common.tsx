/** What several views share: the "why is there no data" explanations and small row helpers. */
import { Box, Text } from "ink";
import { Line } from "../components/Line.tsx";
import { StatusDot } from "../components/StatusDot.tsx";
import { statusTone } from "../components/theme.tsx";
import { clock, duration, fit } from "../format.ts";
import type { Health } from "../state/health.ts";
import type { Link, State, StreamName } from "../state/types.ts";

export const REPLAY_HINT = "no records yet — replay a fixture: bun run replay fixtures/agent-results.jsonl";

export interface ViewProps {
  state: State;
  width: number;
  height: number;
}

/** "down since 12:03:04 · retry in 4s". */
export function downText(link: Link, now: number): string {
  const retry =
    link.retryAt !== undefined ? ` · retry in ${duration(Math.max(0, (link.retryAt - now) / 1000))}` : "";
  return `since ${clock(link.since)}${retry}`;
}

/**
 * Why a stream has nothing to show yet (waiting, or down with its error), or undefined when
 * it has data.
 */
export function noStreamData(state: State, stream: StreamName): string[] | undefined {
  const slot = state.streams[stream];
  if (slot.last !== undefined) return undefined;
  if (slot.link.status === "down") {
    return [
      `no data from the ${stream} stream: ${slot.link.error ?? "down"}`,
      `disconnected ${downText(slot.link, state.now)} — backend ${state.backendUrl}`,
    ];
  }
  return [`waiting for the ${stream} stream from ${state.backendUrl} …`];
}

/** A one-line warning when a stream is down but older data is still shown, else undefined. */
export function staleText(state: State, stream: StreamName): string | undefined {
  const slot = state.streams[stream];
  if (slot.link.status !== "down" || slot.at === undefined) return undefined;
  return `stale: ${stream} stream down ${downText(slot.link, state.now)} (data from ${clock(slot.at)})`;
}

/** A health cell: dot, name, status text and "since". */
export function HealthCell({ h, width, nameWidth = 13 }: { h: Health; width: number; nameWidth?: number }) {
  const since = h.since !== undefined ? ` since ${clock(h.since)}` : "";
  let text = h.text + since;
  if (h.status === "down") text = `down${since}${h.text === "unreachable" ? "" : ` (${h.text})`}`;
  // "no data (stream down)" reads "no data since 12:03:04" when the time is known.
  else if (h.status === "unknown" && h.since !== undefined) text = `no data${since}`;
  return (
    <Box width={width}>
      <Box flexShrink={0}>
        <StatusDot status={h.status} />
        <Text> {fit(h.name, nameWidth)}</Text>
      </Box>
      <Line tone={h.status === "up" ? undefined : statusTone[h.status]}>
        {fit(text, Math.max(0, width - nameWidth - 3))}
      </Line>
    </Box>
  );
}

/** Label + value pairs on one line: "in 12/s · out 11/s". */
export const pairs = (items: [string, string][]): string => items.map(([k, v]) => `${k} ${v}`).join(" · ");
