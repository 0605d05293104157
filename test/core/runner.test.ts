/**
 * The runner against an in-process stand-in of the kafkajs consumer (the integration tests
 * run it on the real broker): commits wait for durability and never pass a lost batch,
 * writes keep batch order, a failed commit of an older generation does not skip live records.
 */
import { describe, expect, test } from "bun:test";
import type { Kafka } from "kafkajs";
import type { Logger } from "../../pipeline/core/log.ts";
import { Metrics } from "../../pipeline/core/metrics.ts";
import { TransientError } from "../../pipeline/core/retry.ts";
import { type Output, Runner, type Sink, type SourceRecord } from "../../pipeline/core/runner.ts";
import { eventually } from "../helpers/wait.ts";

type Listener = (e: { payload: Record<string, unknown> }) => void;

/** Just enough of a kafkajs consumer: events, one eachBatch handler, recorded commits. */
function fakeKafka(commit: (offsets: unknown) => Promise<void> = async () => {}) {
  const listeners: Record<string, Listener> = {};
  const commits: string[] = [];
  let eachBatch: ((p: unknown) => Promise<void>) | undefined;
  const consumer = {
    events: { GROUP_JOIN: "join", REBALANCING: "rebalancing", CRASH: "crash" },
    connect: async () => {},
    subscribe: async () => {},
    on: (e: string, f: Listener) => {
      listeners[e] = f;
    },
    run: async (o: { eachBatch: (p: unknown) => Promise<void> }) => {
      eachBatch = o.eachBatch;
    },
    commitOffsets: async (o: { offset: string }[]) => {
      await commit(o);
      commits.push(...o.map((x) => x.offset));
    },
    pause: () => {},
    disconnect: async () => {},
  };
  const msg = (i: number) => ({
    offset: String(i),
    key: null,
    value: Buffer.from(`v${i}`),
    timestamp: "1",
    headers: {},
  });
  return {
    kafka: { consumer: () => consumer } as unknown as Kafka,
    commits,
    join: () => listeners.join?.({ payload: { memberAssignment: { in: [0] } } }),
    rebalance: () => listeners.rebalancing?.({ payload: {} }),
    /** One fetch of partition 0 with these offsets. */
    fetch: (offsets: number[]) =>
      (eachBatch as (p: unknown) => Promise<void>)({
        batch: { topic: "in", partition: 0, messages: offsets.map(msg) },
        heartbeat: async () => {},
        resolveOffset: () => {},
        isRunning: () => true,
        isStale: () => false,
      }),
  };
}

const quiet = { info() {}, warn() {}, error() {} } as unknown as Logger;

function runner(
  kafka: Kafka,
  o: {
    process?: (records: SourceRecord[]) => Promise<{ outputs: Output<string>[]; dlq: [] }>;
    sink: Sink<string> | Sink<string>[];
    maxItems?: number;
    /** Retry delay, seconds (the same for every attempt). */
    backoffSec?: number;
    onFatal?: (err: unknown) => void;
  },
) {
  return new Runner<string>({
    name: "t",
    stage: "parse",
    kafka,
    groupId: "g",
    topics: ["in"],
    batch: { maxItems: o.maxItems ?? 2, maxBytes: 1e9, maxWaitMs: 5 },
    process:
      o.process ??
      (async (records) => ({ outputs: records.map((r) => ({ record: r, value: r.offset })), dlq: [] })),
    sinks: Array.isArray(o.sink) ? o.sink : [o.sink],
    dlq: [{ name: "dlq", write: async () => {} }],
    backoff: o.backoffSec
      ? { baseSec: o.backoffSec, maxSec: o.backoffSec }
      : { baseSec: 0.005, maxSec: 0.01 },
    metrics: new Metrics(),
    log: quiet,
    onFatal: o.onFatal ?? (() => {}),
    drainTimeoutMs: 200,
  });
}

const memorySink = (written: string[], durable?: Promise<void>): Sink<string> => ({
  name: "mem",
  async write(outputs) {
    written.push(...outputs.map((x) => x.value));
    return durable ? { durable } : undefined;
  },
  async close() {},
});

describe("runner", () => {
  test("an offset is committed only once the sink made the records durable", async () => {
    const k = fakeKafka();
    let makeDurable = () => {};
    const durable = new Promise<void>((r) => {
      makeDurable = r;
    });
    const written: string[] = [];
    const r = runner(k.kafka, { sink: memorySink(written, durable) });
    await r.start();
    k.join();
    await k.fetch([0, 1, 2, 3]);
    await eventually("written", () => written.length === 4);
    await Bun.sleep(50);
    expect(k.commits).toEqual([]); // acknowledged, not durable: nothing committed
    makeDurable();
    await eventually("committed", () => k.commits.at(-1) === "4");
  });

  test("a batch that fails for good: nothing after it is written or committed", async () => {
    const k = fakeKafka();
    const written: string[] = [];
    let fatal: unknown;
    const r = runner(k.kafka, {
      sink: memorySink(written),
      process: async (records) => {
        if (records.some((x) => x.offset === "2")) throw new Error("stage bug");
        return { outputs: records.map((x) => ({ record: x, value: x.offset })), dlq: [] };
      },
      onFatal: (err) => {
        fatal = err;
        void r.stop();
      },
    });
    await r.start();
    k.join();
    await k.fetch([0, 1, 2, 3, 4, 5]);
    await eventually("fatal", () => fatal !== undefined);
    await Bun.sleep(100);
    expect(written).toEqual(["0", "1"]);
    expect(k.commits.every((c) => Number(c) <= 2)).toBe(true); // never past the lost batch [2, 3]
  });

  test("writes keep batch order while the next batch is processed", async () => {
    const k = fakeKafka();
    const written: string[] = [];
    let slow = true;
    const sink: Sink<string> = {
      name: "slow",
      async write(outputs) {
        if (slow) {
          slow = false;
          await Bun.sleep(50); // the first write is slow; later batches must wait for it
        }
        written.push(...outputs.map((x) => x.value));
        return undefined;
      },
      async close() {},
    };
    const r = runner(k.kafka, { sink });
    await r.start();
    k.join();
    await k.fetch([0, 1, 2, 3, 4, 5]);
    await eventually("all written", () => written.length === 6);
    expect(written).toEqual(["0", "1", "2", "3", "4", "5"]);
    await eventually("committed", () => k.commits.at(-1) === "6");
  });

  test("a commit of an older generation failing after a rejoin does not skip the new generation's records", async () => {
    let failNext: ((err: Error) => void) | undefined;
    const k = fakeKafka(
      (offsets) =>
        new Promise<void>((resolve, reject) => {
          if ((offsets as { offset: string }[])[0]?.offset === "2") failNext = reject;
          else resolve();
        }),
    );
    const written: string[] = [];
    const r = runner(k.kafka, { sink: memorySink(written) });
    await r.start();
    k.join();
    await k.fetch([0, 1]);
    await eventually("commit of 2 in flight", () => failNext !== undefined);
    k.rebalance();
    k.join(); // kafkajs rejoined meanwhile and re-fetches from the last commit
    await k.fetch([2, 3]);
    failNext?.(
      Object.assign(new Error("Specified group generation id is not valid"), { type: "ILLEGAL_GENERATION" }),
    );
    await k.fetch([4, 5]);
    await eventually("all written", () => written.length === 6);
    expect(written).toEqual(["0", "1", "2", "3", "4", "5"]);
    await eventually("committed", () => k.commits.at(-1) === "6");
  });

  test("records fetched before a rejoin are skipped, never committed", async () => {
    const k = fakeKafka();
    const written: string[] = [];
    let release = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const r = runner(k.kafka, {
      sink: memorySink(written),
      maxItems: 2,
      process: async (records) => {
        if (records[0]?.offset === "0") await gate; // hold the first batch while the group rejoins
        return { outputs: records.map((x) => ({ record: x, value: x.offset })), dlq: [] };
      },
    });
    await r.start();
    k.join();
    void k.fetch([0, 1, 2, 3]);
    await Bun.sleep(30);
    k.rebalance();
    k.join();
    release();
    await eventually("first batch written", () => written.length >= 2);
    await Bun.sleep(50);
    expect(written).toEqual(["0", "1"]); // [2, 3] was buffered before the join: left to re-delivery
    expect(k.commits.every((c) => Number(c) <= 2)).toBe(true);
  });

  test("a fault stays reported until that one recovers, whatever else succeeds meanwhile", async () => {
    const k = fakeKafka();
    const written: string[] = [];
    let failing = true;
    const flaky: Sink<string> = {
      name: "flaky",
      async write() {
        if (failing) throw new TransientError("connection refused", "redis");
        return undefined;
      },
      async close() {},
    };
    // Retries far apart: a success in between must not clear the fault.
    const r = runner(k.kafka, { sink: [memorySink(written), flaky], backoffSec: 0.3 });
    await r.start();
    k.join();
    await k.fetch([0, 1, 2, 3]); // [2, 3] is processed (a success) while [0, 1] waits on flaky
    await eventually("the other sink wrote", () => written.length === 2);
    await Bun.sleep(50);
    expect(r.health()).toMatchObject({
      ok: false,
      detail: expect.stringContaining("sink flaky: connection refused"),
    });
    failing = false;
    await eventually("recovered", () => r.health().ok);
    await eventually("committed", () => k.commits.at(-1) === "4");
  });
});
