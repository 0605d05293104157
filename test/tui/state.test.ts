import { describe, expect, test } from "bun:test";
import { decodeInfermesh, decodeSpark, WorkerDecoder } from "../../tui/sources/decode.ts";
import type { Action } from "../../tui/state/actions.ts";
import { allHealth, kafkaHealth, redisHealth, workerHealth } from "../../tui/state/health.ts";
import { initialState, K_MAX, reduce } from "../../tui/state/reducer.ts";
import type { KnnResult, State, StreamData, WorkerName } from "../../tui/state/types.ts";
import { pushPoint } from "../../tui/state/window.ts";
import { fixture } from "./helpers.tsx";
import { infermeshEvent, sparkRunning, T0S, unreachableWorker, workerEvent } from "./samples.ts";

const T0 = Date.UTC(2026, 10, 25, 11, 0, 0);
const run = (actions: Action[], s: State = initialState({ backendUrl: "http://b", now: T0 })) =>
  actions.reduce((acc, a) => reduce(acc, a), s);

/** Five events of a worker 3 s apart (the first has no rates yet), plus `extra` raw events. */
function workerEvents(name: WorkerName, extra: unknown[] = []): Action[] {
  const d = new WorkerDecoder();
  const raws = [0, 1, 2, 3, 4].map((i) =>
    workerEvent(
      { ts: T0S + 3 * i, records_in: 18000 + 600 * i, records_out: 17988 + 600 * i },
      i === 0 ? { records_in_per_sec: null, records_out_per_sec: null } : {},
    ),
  );
  return [...raws, ...extra].map((raw, i) => ({
    type: "stream/event",
    stream: name,
    at: T0 + 3000 * (i + 1),
    data: d.decode(raw, T0) as StreamData[typeof name],
  }));
}

describe("reducer", () => {
  test("down since stays at the first failure; recovery clears it", () => {
    const s = run([
      { type: "health/fail", at: T0 + 1000, error: "refused", retryAt: T0 + 2000 },
      { type: "health/fail", at: T0 + 3000, error: "refused", retryAt: T0 + 5000 },
    ]);
    expect(s.backend.link).toEqual({
      status: "down",
      since: T0 + 1000,
      error: "refused",
      retryAt: T0 + 5000,
    });
    const back = reduce(s, { type: "health/ok", at: T0 + 6000, rtt_ms: 2 });
    expect(back.backend.link).toEqual({ status: "up", since: T0 + 6000 });
  });

  test("a component down inside a live stream keeps its own 'down since'", () => {
    const down = unreachableWorker;
    const d = new WorkerDecoder();
    const ev = (at: number, raw: unknown): Action => ({
      type: "stream/event",
      stream: "embed-worker",
      at,
      data: d.decode(raw, at),
    });
    const s = run([ev(T0 + 1000, down), ev(T0 + 4000, down)]);
    expect(s.streams["embed-worker"].componentDownSince).toBe(T0 + 1000);
    expect(s.streams["embed-worker"].link.status).toBe("up");
    const back = reduce(s, ev(T0 + 7000, workerEvent()));
    expect(back.streams["embed-worker"].componentDownSince).toBeUndefined();
  });

  test("series keep a rolling window and skip unknown values", () => {
    let series = pushPoint([], 0, 1);
    series = pushPoint(series, 60_000, null);
    series = pushPoint(series, 120_000, 3);
    expect(series.map((p) => p.v)).toEqual([1, 3]);
    series = pushPoint(series, 200_000, 4);
    expect(series.map((p) => p.t)).toEqual([120_000, 200_000]);
    const s = run(workerEvents("embed-worker"));
    // The first snapshot has no rate yet.
    expect(s.series["embed.out"]).toHaveLength(4);
    expect(s.series["embed.rtt"]).toHaveLength(5);
  });

  test("prompt history: up walks back, down returns to the draft", () => {
    let s = run([
      { type: "knn/start", query: "one", seq: 1 },
      { type: "knn/start", query: "two", seq: 2 },
      { type: "knn/start", query: "two", seq: 3 },
      { type: "prompt/focus" },
      { type: "prompt/insert", text: "dra" },
    ]);
    expect(s.ui.history).toEqual(["one", "two"]);
    s = run([{ type: "history/prev" }], s);
    expect(s.ui.prompt).toBe("two");
    s = run([{ type: "history/prev" }, { type: "history/prev" }], s);
    expect(s.ui.prompt).toBe("one");
    s = run([{ type: "history/next" }], s);
    expect(s.ui.prompt).toBe("two");
    s = run([{ type: "history/next" }], s);
    expect(s.ui.prompt).toBe("dra");
    expect(s.ui.historyIndex).toBeNull();
  });

  test("k stays within bounds; stale kNN answers are ignored", () => {
    const s = run(Array.from({ length: 200 }, () => ({ type: "k/adjust", delta: 1 }) as Action));
    expect(s.ui.k).toBe(K_MAX);
    expect(run([{ type: "k/adjust", delta: -10 }]).ui.k).toBe(1);
    const result = fixture("knn-query.json") as KnnResult;
    const t = run([
      { type: "knn/start", query: "a", seq: 1 },
      { type: "knn/start", query: "b", seq: 2 },
      { type: "knn/done", seq: 1, result },
    ]);
    expect(t.ui.knn.status).toBe("pending");
  });

  test("the DLQ selection follows its entry when newer entries arrive", () => {
    const items = [5, 4, 3, 2, 1].map((n) => ({
      stage: "parse",
      reason: "invalid_json",
      ts: T0S + n,
      source: { topic: "agent.results", partition: 0, offset: String(n) },
    }));
    let s = run([
      { type: "dlq/ok", at: T0, items: items.slice(1), count: 4 },
      { type: "dlq/select", delta: 2 },
    ]);
    const selected = s.dlq.data?.items[s.ui.dlq.selected];
    s = run([{ type: "dlq/ok", at: T0 + 5000, items, count: 5 }], s);
    expect(s.ui.dlq.selected).toBe(3);
    expect(s.dlq.data?.items[s.ui.dlq.selected]).toEqual(selected as Record<string, unknown>);
    s = run([{ type: "dlq/open" }, { type: "dlq/ok", at: T0 + 9000, items: [], count: 0 }], s);
    expect(s.ui.dlq.detail?.entry).toEqual(selected as Record<string, unknown>);
  });
});

describe("health", () => {
  test("every component is up from the recorded streams", () => {
    const infermesh = [decodeInfermesh(infermeshEvent())];
    const spark = [decodeSpark(sparkRunning)];
    const s = run([
      { type: "health/ok", at: T0, rtt_ms: 2 },
      ...workerEvents("parse"),
      ...workerEvents("embed-worker"),
      ...workerEvents("indexer"),
      ...infermesh.map((data) => ({ type: "stream/event", stream: "infermesh", at: T0, data }) as Action),
      ...spark.map((data) => ({ type: "stream/event", stream: "spark", at: T0, data }) as Action),
    ]);
    expect(allHealth(s).map((h) => [h.name, h.status])).toEqual([
      ["Kafka", "up"],
      ["Redis", "up"],
      ["InferMesh", "up"],
      ["parse", "up"],
      ["embed-worker", "up"],
      ["indexer", "up"],
      ["backend", "up"],
      ["Spark", "up"],
    ]);
    expect(kafkaHealth(s).text).toBe("via workers (3/3 ok)");
  });

  test("a paused worker is degraded with its outage start; Kafka/Redis say which worker retries", () => {
    const paused = workerEvent({
      ts: T0S + 20,
      paused: true,
      outage_since: T0S + 10,
      retries: 9,
      retries_by_kind: { "process:infermesh": 9 },
    });
    const s = run(workerEvents("embed-worker", [paused]));
    expect(workerHealth(s, "embed-worker")).toEqual({
      name: "embed-worker",
      status: "warn",
      text: "paused",
      since: (T0S + 10) * 1000,
    });
    // InferMesh is what fails, not Redis: Redis reads "paused", not "retried".
    expect(redisHealth(s).text).toBe("via workers: embed-worker paused");
    const redisDown = workerEvent({
      ts: T0S + 23,
      paused: true,
      outage_since: T0S + 10,
      retries_by_kind: { "process:infermesh": 9, "sink redis:both:redis": 2 },
    });
    const t = run(workerEvents("embed-worker", [paused, redisDown]));
    expect(redisHealth(t)).toMatchObject({
      status: "warn",
      text: "retried by embed-worker",
      since: (T0S + 10) * 1000,
    });
    expect(kafkaHealth(t).text).toBe("via workers: embed-worker paused");
  });

  test("nothing is shown as up without data: unknown while waiting or when the stream is down", () => {
    const s = run([
      { type: "stream/down", stream: "parse", at: T0 + 1, error: "refused", retryAt: T0 + 1000 },
    ]);
    expect(workerHealth(s, "parse")).toMatchObject({ status: "unknown", since: T0 + 1 });
    expect(kafkaHealth(s)).toMatchObject({ status: "unknown", text: "no worker reporting" });
    const after = run(workerEvents("parse"), s);
    const stale = run(
      [{ type: "stream/down", stream: "parse", at: T0 + 99_000, error: "gone", retryAt: T0 + 100_000 }],
      after,
    );
    expect(workerHealth(stale, "parse").status).toBe("unknown");
  });
});
