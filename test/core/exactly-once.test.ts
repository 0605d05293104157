/**
 * The runner's exactly-once mode against an in-process model of a transactional broker:
 * writes become visible only with their transaction's commit, which carries the input
 * offsets; a failed write or commit is aborted and the span re-sent; a commit whose answer
 * was lost is settled by the committed sequence number; a rebalance aborts the open span;
 * two-phase writers prepare before and publish after each commit, and recover by the
 * committed sequence number at start. (The real broker: test/pipeline/exactly-once.test.ts.)
 */
import { describe, expect, test } from "bun:test";
import { Metrics } from "../../pipeline/core/metrics.ts";
import { TransientError } from "../../pipeline/core/retry.ts";
import { Runner } from "../../pipeline/core/runner.ts";
import type { PartitionOffset, Sink, Transactions, Writer } from "../../pipeline/core/source.ts";
import { fakeSource, quiet } from "../helpers/fake-source.ts";
import { eventually } from "../helpers/wait.ts";

/** A broker's transactions in memory: what read_committed readers see, and the group's offsets. */
function fakeBroker(committedSeq = 0) {
  const state = {
    visible: [] as string[],
    open: undefined as string[] | undefined,
    offsets: new Map<string, string>(),
    seq: committedSeq,
    aborts: 0,
    /** The next commit fails after committing (its answer is lost). */
    loseNextCommitAnswer: false,
  };
  const txns: Transactions = {
    async recover() {
      state.open = undefined;
      return state.seq;
    },
    async begin() {
      if (state.open) throw new Error("a transaction is open");
      state.open = [];
    },
    async commit(offsets: PartitionOffset[], seq: number) {
      if (!state.open) throw new Error("no transaction");
      state.visible.push(...state.open);
      for (const o of offsets) state.offsets.set(`${o.topic}/${o.partition}`, o.offset);
      state.seq = seq;
      state.open = undefined;
      if (state.loseNextCommitAnswer) {
        state.loseNextCommitAnswer = false;
        throw new TransientError("connection closed before the answer", "kafka");
      }
    },
    async abort() {
      if (state.open) state.aborts++;
      state.open = undefined;
      return state.seq;
    },
    fenced: () => false,
  };
  /** A Kafka-like sink writing into the open transaction; `failures` writes fail first. */
  const sink = (failures = 0): Sink<string> => ({
    name: "kafka:out",
    transactional: true,
    async write(outputs) {
      if (failures-- > 0) throw new TransientError("broker unavailable", "kafka");
      if (!state.open) throw new Error("write outside a transaction");
      state.open.push(...outputs.map((o) => o.value));
      return undefined;
    },
  });
  return { state, txns, sink };
}

/** A two-phase writer that logs its calls. */
function twoPhaseWriter(calls: string[]): Writer<{ value: string }> {
  let staged: string[] = [];
  const published: string[] = [];
  return {
    name: "parquet:mem",
    async write(items) {
      staged.push(...items.map((i) => i.value));
    },
    twoPhase: {
      async prepare(seq) {
        calls.push(`prepare ${seq} [${staged.join(",")}]`);
      },
      async publish(seq) {
        published.push(...staged);
        calls.push(`publish ${seq}`);
        staged = [];
      },
      async discard(seq) {
        calls.push(`discard ${seq}`);
        staged = [];
      },
      async recover(committed) {
        calls.push(`recover ${committed}`);
      },
    },
  };
}

function eosRunner(
  source: ReturnType<typeof fakeSource>["source"],
  txns: Transactions,
  sinks: Sink<string>[],
  o: { intervalMs?: number; maxRecords?: number; onFatal?: (err: unknown) => void } = {},
) {
  return new Runner<string>({
    name: "t",
    stage: "parse",
    source,
    batch: { maxItems: 2, maxBytes: 1e9, maxWaitMs: 5 },
    process: async (records) => ({ outputs: records.map((r) => ({ record: r, value: r.offset })), dlq: [] }),
    sinks,
    dlq: [{ name: "dlq", write: async () => {} }],
    backoff: { baseSec: 0.005, maxSec: 0.01 },
    metrics: new Metrics(),
    log: quiet,
    onFatal: o.onFatal ?? (() => {}),
    drainTimeoutMs: 500,
    exactlyOnce: { txns, intervalMs: o.intervalMs ?? 30, maxRecords: o.maxRecords ?? 1000 },
  });
}

describe("exactly-once runner", () => {
  test("outputs become visible with the commit that carries their offsets; the source never commits", async () => {
    const k = fakeSource();
    const b = fakeBroker();
    const r = eosRunner(k.source, b.txns, [b.sink()], { intervalMs: 200 });
    await r.start();
    k.join([0, 1]);
    await k.fetch([0, 1, 2]);
    await k.fetch([0, 1], 1);
    await eventually("written into the open transaction", () => (b.state.open?.length ?? 0) === 5);
    expect(b.state.visible).toEqual([]);
    await eventually("committed by age", () => b.state.visible.length === 5, 2000);
    expect(Object.fromEntries(b.state.offsets)).toEqual({ "in/0": "3", "in/1": "2" });
    expect(b.state.seq).toBe(1);
    expect(k.commits).toEqual([]);
    await r.stop();
  });

  test("a write that fails aborts the transaction and re-sends the span: each output once", async () => {
    const k = fakeSource();
    const b = fakeBroker();
    let calls = 0;
    const flaky: Sink<string> = {
      ...b.sink(),
      async write(outputs) {
        calls++;
        if (calls === 2) {
          b.state.open?.push("garbage of a half-sent request");
          throw new TransientError("broker unavailable", "kafka");
        }
        return b.sink().write(outputs);
      },
    };
    const r = eosRunner(k.source, b.txns, [flaky], { intervalMs: 1000, maxRecords: 6 });
    await r.start();
    k.join();
    await k.fetch([0, 1, 2, 3, 4, 5]);
    await eventually("committed by size", () => b.state.visible.length > 0, 2000);
    expect(b.state.visible).toEqual(["0", "1", "2", "3", "4", "5"]);
    expect(b.state.aborts).toBe(1);
    expect(b.state.offsets.get("in/0")).toBe("6");
    await r.stop();
  });

  test("a commit whose answer was lost is settled by the committed sequence number, not sent twice", async () => {
    const k = fakeSource();
    const b = fakeBroker();
    b.state.loseNextCommitAnswer = true;
    const calls: string[] = [];
    const r = eosRunner(k.source, b.txns, [b.sink(), twoPhaseWriter(calls) as unknown as Sink<string>], {
      maxRecords: 2,
    });
    await r.start();
    k.join();
    await k.fetch([0, 1]);
    await eventually("published", () => calls.includes("publish 1"), 2000);
    await k.fetch([2, 3]);
    await eventually("the next transaction", () => calls.includes("publish 2"), 2000);
    expect(b.state.visible).toEqual(["0", "1", "2", "3"]);
    expect(calls).toEqual(["recover 0", "prepare 1 [0,1]", "publish 1", "prepare 2 [2,3]", "publish 2"]);
    await r.stop();
  });

  test("a rebalance aborts the open span: nothing visible, staged files discarded, re-delivery commits once", async () => {
    const k = fakeSource();
    const b = fakeBroker();
    const calls: string[] = [];
    const r = eosRunner(k.source, b.txns, [b.sink(), twoPhaseWriter(calls) as unknown as Sink<string>], {
      intervalMs: 5000,
    });
    await r.start();
    k.join();
    await k.fetch([0, 1]);
    await eventually("in the open transaction", () => (b.state.open?.length ?? 0) === 2);
    k.rebalance();
    await eventually("aborted", () => calls.includes("discard 1"));
    expect(b.state.visible).toEqual([]);
    k.join();
    await k.fetch([0, 1]); // the group re-delivers from the last commit
    await r.stop(); // a graceful stop commits the open span
    expect(b.state.visible).toEqual(["0", "1"]);
    expect(calls).toEqual(["recover 0", "discard 1", "prepare 1 [0,1]", "publish 1"]);
  });

  test("at start, two-phase writers recover by the last committed transaction, which numbers the next", async () => {
    const k = fakeSource();
    const b = fakeBroker(41);
    const calls: string[] = [];
    const r = eosRunner(k.source, b.txns, [b.sink(), twoPhaseWriter(calls) as unknown as Sink<string>]);
    await r.start();
    k.join();
    await k.fetch([0]);
    await r.stop();
    expect(calls).toEqual(["recover 41", "prepare 42 [0]", "publish 42"]);
    expect(b.state.seq).toBe(42);
  });
});
