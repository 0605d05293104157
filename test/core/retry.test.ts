import { expect, test } from "bun:test";
import { backoffDelayMs, retry, TransientError } from "../../pipeline/core/retry.ts";

test("backoff doubles from the base, is capped, and jitters within [50%, 100%]", () => {
  const p = { baseSec: 0.5, maxSec: 3, retries: 10 };
  expect([1, 2, 3, 4, 5].map((a) => backoffDelayMs(p, a, () => 1))).toEqual([500, 1000, 2000, 3000, 3000]);
  expect(backoffDelayMs(p, 1, () => 0)).toBe(250);
  for (let i = 0; i < 100; i++) {
    const d = backoffDelayMs(p, 2);
    expect(d).toBeGreaterThanOrEqual(500);
    expect(d).toBeLessThanOrEqual(1000);
  }
});

test("transient errors are retried `retries` times, then thrown", async () => {
  const slept: number[] = [];
  let calls = 0;
  const run = retry(
    async () => {
      calls++;
      throw new TransientError("down", "connect");
    },
    { baseSec: 0.5, maxSec: 10, retries: 2 },
    { sleep: async (ms) => void slept.push(ms), random: () => 1 },
  );
  await expect(run).rejects.toThrow("down");
  expect(calls).toBe(3);
  expect(slept).toEqual([500, 1000]);
});

test("a permanent error is thrown at once; success ends the loop", async () => {
  let calls = 0;
  await expect(
    retry(
      async () => {
        calls++;
        throw new Error("bad input");
      },
      { baseSec: 0, maxSec: 0, retries: 5 },
    ),
  ).rejects.toThrow("bad input");
  expect(calls).toBe(1);

  let n = 0;
  const v = await retry(
    async () => {
      if (++n < 3) throw new TransientError("flaky", "http_503");
      return "ok";
    },
    { baseSec: 0, maxSec: 0, retries: Number.POSITIVE_INFINITY },
  );
  expect([v, n]).toEqual(["ok", 3]);
});

test("an abort stops an unbounded retry while it waits", async () => {
  const ac = new AbortController();
  const run = retry(
    async () => {
      throw new TransientError("down", "connect");
    },
    { baseSec: 10, maxSec: 10, retries: Number.POSITIVE_INFINITY },
    { signal: ac.signal },
  );
  setTimeout(() => ac.abort(new Error("shutdown")), 10);
  await expect(run).rejects.toThrow("shutdown");
});
