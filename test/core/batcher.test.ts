import { expect, test } from "bun:test";
import { Batcher } from "../../pipeline/core/batcher.ts";

/** Manual timers: a test decides when time passes. */
function fakeTimers() {
  const timers = new Map<number, { fn: () => void; ms: number }>();
  let next = 1;
  return {
    setTimer: (fn: () => void, ms: number) => {
      timers.set(next, { fn, ms });
      return next++;
    },
    clearTimer: (h: unknown) => void timers.delete(h as number),
    fire() {
      const all = [...timers.values()];
      timers.clear();
      for (const t of all) t.fn();
    },
    pending: () => [...timers.values()].map((t) => t.ms),
  };
}

test("a full batch flushes at once, without waiting for the timer", async () => {
  const t = fakeTimers();
  const flushed: number[][] = [];
  const b = new Batcher<number>({
    maxItems: 3,
    maxWaitMs: 500,
    flush: async (xs) => void flushed.push(xs),
    ...t,
  });
  await b.submit([1, 2, 3]);
  expect(flushed).toEqual([[1, 2, 3]]);
  expect(t.pending()).toEqual([]);
});

test("a partial batch flushes when its timer fires, with no further submissions", async () => {
  const t = fakeTimers();
  const flushed: number[][] = [];
  const b = new Batcher<number>({
    maxItems: 10,
    maxWaitMs: 500,
    flush: async (xs) => void flushed.push(xs),
    ...t,
  });
  let done = false;
  const p = b.submit([1, 2]).then(() => {
    done = true;
  });
  await Bun.sleep(0);
  expect(done).toBe(false);
  expect(t.pending()).toEqual([500]);
  t.fire();
  await p;
  expect(flushed).toEqual([[1, 2]]);
});

test("the real timer flushes a partial batch after maxWait", async () => {
  const flushed: number[][] = [];
  const b = new Batcher<number>({ maxItems: 100, maxWaitMs: 20, flush: async (xs) => void flushed.push(xs) });
  const started = performance.now();
  await b.submit([7]);
  expect(flushed).toEqual([[7]]);
  expect(performance.now() - started).toBeGreaterThanOrEqual(15);
});

test("submissions spanning batches resolve once all their items are flushed; bytes cap a batch", async () => {
  const t = fakeTimers();
  const flushed: string[][] = [];
  const b = new Batcher<string>({
    maxItems: 100,
    maxBytes: 10,
    maxWaitMs: 500,
    sizeOf: (s) => s.length,
    flush: async (xs) => void flushed.push(xs),
    ...t,
  });
  const p1 = b.submit(["aaaa", "bbbb"]);
  const p2 = b.submit(["cccc", "dd"]);
  await p1;
  expect(flushed).toEqual([["aaaa", "bbbb", "cccc"]]);
  t.fire();
  await p2;
  expect(flushed).toEqual([["aaaa", "bbbb", "cccc"], ["dd"]]);
});

test("a failed flush rejects exactly the submissions in that batch; flushes run one at a time", async () => {
  let running = 0;
  let maxRunning = 0;
  const b = new Batcher<number>({
    maxItems: 2,
    maxWaitMs: 5,
    flush: async (xs) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await Bun.sleep(5);
      running--;
      if (xs.includes(3)) throw new Error("boom");
    },
  });
  const results = await Promise.allSettled([b.submit([1, 2]), b.submit([3, 4]), b.submit([5])]);
  expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
  expect(maxRunning).toBe(1);
});

test("drain flushes what is buffered immediately", async () => {
  const t = fakeTimers();
  const flushed: number[][] = [];
  const b = new Batcher<number>({
    maxItems: 10,
    maxWaitMs: 60_000,
    flush: async (xs) => void flushed.push(xs),
    ...t,
  });
  const p = b.submit([1]);
  await b.drain();
  await p;
  expect(flushed).toEqual([[1]]);
});
