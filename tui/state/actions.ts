/** Everything that changes the console's state: source events and UI intents. */
import type { DlqReplayAnswer, DlqReplayRequest } from "../../pipeline/contracts/dlq-replay.ts";
import type { DlqEntry, KnnResult, ShardsInfo, StreamData, StreamName, ViewId } from "./types.ts";

export type StreamEvent = {
  [K in StreamName]: { type: "stream/event"; stream: K; at: number; data: StreamData[K] };
}[StreamName];

export type Action =
  | { type: "stream/connecting"; stream: StreamName; at: number }
  | StreamEvent
  | { type: "stream/down"; stream: StreamName; at: number; error: string; retryAt: number }
  | { type: "health/ok"; at: number; rtt_ms: number }
  | { type: "health/fail"; at: number; error: string; retryAt: number }
  | { type: "shards/ok"; at: number; data: ShardsInfo }
  | { type: "shards/fail"; at: number; error: string; retryAt: number }
  | { type: "dlq/ok"; at: number; items: DlqEntry[]; count: number }
  | { type: "dlq/fail"; at: number; error: string; retryAt: number }
  | { type: "tick"; at: number }
  | { type: "view/set"; view: ViewId }
  | { type: "view/cycle"; delta: 1 | -1 }
  | { type: "help/toggle" }
  | { type: "help/close" }
  | { type: "help/scroll"; delta: number; max: number }
  | { type: "prompt/focus"; view?: ViewId }
  | { type: "prompt/blur" }
  | { type: "prompt/insert"; text: string }
  | { type: "prompt/backspace" }
  | { type: "prompt/clear" }
  | { type: "prompt/set"; text: string }
  | { type: "history/prev" }
  | { type: "history/next" }
  | { type: "k/adjust"; delta: number }
  | { type: "knn/start"; query: string; seq: number }
  | { type: "knn/done"; seq: number; result: KnnResult }
  | { type: "knn/error"; seq: number; error: string }
  | { type: "knn/select"; delta: number }
  | { type: "dlq/select"; delta: number }
  | { type: "dlq/open" }
  | { type: "dlq/close" }
  | { type: "dlq/scroll"; delta: number; max: number }
  | { type: "dlq/replay-preview"; label: string; request: DlqReplayRequest }
  | { type: "dlq/replay-confirm"; answer: DlqReplayAnswer }
  | { type: "dlq/replay-run" }
  | { type: "dlq/replay-close" }
  | { type: "index/select"; delta: number }
  | { type: "notice"; text: string; kind: "info" | "error"; at: number };
