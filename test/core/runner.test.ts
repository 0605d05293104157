/**
 * The runner against in-process fakes of its ports (a Source and writers; the integration
 * tests run it on the real broker): commits wait for durability and never pass a lost batch,
 * writes and commits keep their order per partition, fetching waits at the high-water mark,
 * each sink is retried on its own, a failed commit of an older generation does not skip
 * live records.
 */
import { describe, expect, test } from "bun:test";
import type { DlqEntry } from "../../pipeline/contracts/dlq.ts";
import { Metrics } from "../../pipeline/core/metrics.ts";
import { TransientError } from "../../pipeline/core/retry.ts";
import { Runner } from "../../pipeline/core/runner.ts";
import type { DlqSink, ProcessResult, Sink, Source, SourceRecord } from "../../pipeline/core/source.ts";
import { fakeSource, quiet } from "../helpers/fake-source.ts";
import { eventually } from "../helpers/wait.ts";

function runner(
  source: Source,
  o: {
    process?: (records: SourceRecord[]) => Promise<ProcessResult<string>>;
    sink: Sink<string> | Sink<string>[];
    dlq?: DlqSink[];
    maxItems?: number;
    /** Retry delay, seconds (the same for every attempt). */
    backoffSec?: number;
    onFatal?: (err: unknown) => void;
  },
) {
  return new Runner<string>({
    name: "t",
    stage: "parse",
    source,
    batch: { maxItems: o.maxItems ?? 2, maxBytes: 1e9, maxWaitMs: 5 },
    process:
      o.process ??
      (async (records) => ({ outputs: records.map((r) => ({ record: r, value: r.offset })), dlq: [] })),
    sinks: Array.isArray(o.sink) ? o.sink : [o.sink],
    dlq: o.dlq ?? [{ name: "dlq", write: async () => {} }],
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
    const k = fakeSource();
    let makeDurable = () => {};
    const durable = new Promise<void>((r) => {
      makeDurable = r;
    });
    const written: string[] = [];
    const r = runner(k.source, { sink: memorySink(written, durable) });
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
    const k = fakeSource();
    const written: string[] = [];
    let fatal: unknown;
    const r = runner(k.source, {
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
    const k = fakeSource();
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
    const r = runner(k.source, { sink });
    await r.start();
    k.join();
    await k.fetch([0, 1, 2, 3, 4, 5]);
    await eventually("all written", () => written.length === 6);
    expect(written).toEqual(["0", "1", "2", "3", "4", "5"]);
    await eventually("committed", () => k.commits.at(-1) === "6");
  });

  test("a commit of an older generation failing after a rejoin does not skip the new generation's records", async () => {
    let failNext: ((err: Error) => void) | undefined;
    const k = fakeSource(
      (offsets) =>
        new Promise<void>((resolve, reject) => {
          if (offsets[0]?.offset === "2") failNext = reject;
          else resolve();
        }),
    );
    const written: string[] = [];
    const r = runner(k.source, { sink: memorySink(written) });
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
    const k = fakeSource();
    const written: string[] = [];
    let release = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const r = runner(k.source, {
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
    const k = fakeSource();
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
    const r = runner(k.source, { sink: [memorySink(written), flaky], backoffSec: 0.3 });
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

  test("outputs and commits keep their order per partition across interleaved fetches", async () => {
    const k = fakeSource();
    const written: { partition: number; offset: number }[] = [];
    const sink: Sink<string> = {
      name: "record",
      async write(outputs) {
        await Bun.sleep(Math.random() * 5);
        written.push(...outputs.map((x) => ({ partition: x.record.partition, offset: Number(x.value) })));
      },
    };
    const r = runner(k.source, { sink, maxItems: 3 });
    await r.start();
    k.join([0, 1]);
    const fetches: Promise<void>[] = [];
    for (let i = 0; i < 30; i += 5) {
      const offsets = [i, i + 1, i + 2, i + 3, i + 4];
      fetches.push(k.fetch(offsets, 0), k.fetch(offsets, 1));
    }
    await Promise.all(fetches);
    await eventually("all written", () => written.length === 60);
    for (const p of [0, 1]) {
      expect(written.filter((w) => w.partition === p).map((w) => w.offset)).toEqual(
        Array.from({ length: 30 }, (_, i) => i),
      );
    }
    await eventually(
      "both committed",
      () => k.commitsOf(0).at(-1) === "30" && k.commitsOf(1).at(-1) === "30",
    );
    for (const p of [0, 1]) {
      const commits = k.commitsOf(p).map(Number);
      expect(commits).toEqual([...commits].sort((a, b) => a - b)); // never backwards
    }
  });

  test("at the high-water mark the fetch handler waits, so fetching stops until sinks catch up", async () => {
    const k = fakeSource();
    let release = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let processed = 0;
    const r = runner(k.source, {
      maxItems: 300, // high-water mark: max(4 × 300, 1000) = 1200 records
      process: async (records) => {
        processed += records.length;
        return { outputs: records.map((x) => ({ record: x, value: x.offset })), dlq: [] };
      },
      sink: {
        name: "blocked",
        async write() {
          await gate;
        },
      },
    });
    await r.start();
    k.join();
    let fetchReturned = false;
    const fetch = k.fetch(Array.from({ length: 6000 }, (_, i) => i)).then(() => {
      fetchReturned = true;
    });
    await eventually("the pipeline filled", () => processed >= 600);
    await Bun.sleep(100);
    expect(fetchReturned).toBe(false); // the handler holds the fetch: no further fetch happens
    expect(processed).toBeLessThanOrEqual(1500); // bounded by the mark, not by the fetch
    expect(k.commits).toEqual([]);
    release();
    await fetch;
    await eventually("all committed", () => k.commits.at(-1) === "6000");
    expect(processed).toBe(6000);
  });

  test("each sink and each DLQ sink is retried on its own: the others write once", async () => {
    const k = fakeSource();
    const good: string[] = [];
    let sinkFailures = 3;
    let dlqFailures = 3;
    const goodDlq: DlqEntry[] = [];
    const entry = (x: SourceRecord) =>
      ({ reason: "empty_text", source: { offset: x.offset } }) as unknown as DlqEntry;
    const r = runner(k.source, {
      maxItems: 4,
      process: async (records) => ({
        outputs: records
          .filter((x) => Number(x.offset) % 2 === 0)
          .map((x) => ({ record: x, value: x.offset })),
        dlq: records.filter((x) => Number(x.offset) % 2 === 1).map(entry),
      }),
      sink: [
        memorySink(good),
        {
          name: "flaky",
          async write() {
            if (sinkFailures-- > 0) throw new TransientError("connection refused", "redis");
          },
        },
      ],
      dlq: [
        {
          name: "kafka-dlq",
          async write(entries) {
            goodDlq.push(...entries);
          },
        },
        {
          name: "redis-dlq",
          async write() {
            if (dlqFailures-- > 0) throw new TransientError("connection refused", "redis");
          },
        },
      ],
    });
    await r.start();
    k.join();
    await k.fetch([0, 1, 2, 3, 4, 5, 6, 7]);
    await eventually("committed", () => k.commits.at(-1) === "8");
    expect(sinkFailures).toBeLessThan(0);
    expect(dlqFailures).toBeLessThan(0);
    expect(good).toEqual(["0", "2", "4", "6"]); // not re-sent while "flaky" was retried
    expect(goodDlq.map((e) => e.source.offset)).toEqual(["1", "3", "5", "7"]);
  });
});
