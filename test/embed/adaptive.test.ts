/** Adaptive batching: AIMD on round trip and errors, and the embed step that follows it. */
import { describe, expect, test } from "bun:test";
import { AdaptiveBatchSize } from "../../pipeline/core/adaptive-batch.ts";
import { Batcher } from "../../pipeline/core/batcher.ts";
import { TransientError } from "../../pipeline/core/retry.ts";
import type { SourceRecord } from "../../pipeline/core/source.ts";
import { AdaptiveProcess } from "../../pipeline/embed/adaptive.ts";

const rec = (i: number): SourceRecord => ({
  topic: "t",
  partition: 0,
  offset: String(i),
  key: null,
  value: null,
  timestamp: 0,
  headers: {},
});

describe("AdaptiveBatchSize", () => {
  test("halves on a failure, -10 % when slow, +1/8 for a fast full batch, within [min, max]", () => {
    const a = new AdaptiveBatchSize({ min: 8, max: 100, start: 64, targetMs: 200 });
    expect(a.observe({ ok: true, rttMs: 50, size: 64 })).toBe(72); // full and fast: grows
    expect(a.observe({ ok: true, rttMs: 50, size: 10 })).toBe(72); // partial and fast: stays
    expect(a.observe({ ok: true, rttMs: 300, size: 72 })).toBe(64); // slow: shrinks
    expect(a.observe({ ok: false, rttMs: 0, size: 64 })).toBe(32); // failed: halves
    for (let i = 0; i < 10; i++) a.observe({ ok: false, rttMs: 0, size: 8 });
    expect(a.limit).toBe(8);
    for (let i = 0; i < 100; i++) a.observe({ ok: true, rttMs: 1, size: a.limit });
    expect(a.limit).toBe(100);
  });

  test("the batcher cuts batches at the current limit", async () => {
    let limit = 5;
    const sizes: number[] = [];
    const b = new Batcher<number>({
      maxItems: 100,
      maxBytes: 0,
      maxWaitMs: 1000,
      limit: () => limit,
      flush: async (items) => {
        sizes.push(items.length);
      },
    });
    void b.submit([1, 2, 3, 4, 5, 6, 7]);
    limit = 3;
    void b.submit([1, 2, 3]);
    await b.drain();
    expect(sizes).toEqual([5, 3, 2]);
  });
});

describe("AdaptiveProcess", () => {
  test("an InferMesh that times out above 40 inputs: retries shrink the steps until they pass", async () => {
    const size = new AdaptiveBatchSize({ min: 4, max: 512, start: 256, targetMs: 200 });
    const limits: number[] = [];
    let proc: AdaptiveProcess<string> | undefined;
    const seen: number[] = [];
    const cached = new Set<string>();
    proc = new AdaptiveProcess<string>(
      size,
      async (records) => {
        seen.push(records.length);
        const fresh = records.filter((r) => !cached.has(r.offset));
        if (fresh.length === 0)
          return { outputs: records.map((r) => ({ record: r, value: r.offset })), dlq: [] };
        if (fresh.length > 40) {
          proc?.call({ ok: false, rttMs: 1000 });
          throw new TransientError("timeout", "infermesh");
        }
        proc?.call({ ok: true, rttMs: 20 });
        for (const r of records) cached.add(r.offset); // as the embed stage's cache does
        return { outputs: records.map((r) => ({ record: r, value: r.offset })), dlq: [] };
      },
      (l) => limits.push(l),
    );
    const batch = Array.from({ length: 256 }, (_, i) => rec(i));
    let result: Awaited<ReturnType<AdaptiveProcess<string>["process"]>> | undefined;
    for (let attempt = 0; attempt < 20 && !result; attempt++) {
      result = await proc.process(batch, new AbortController().signal).catch(() => undefined);
    }
    expect(result?.outputs.map((o) => o.value)).toEqual(batch.map((r) => r.offset)); // all, in order
    expect(limits.slice(0, 3)).toEqual([128, 64, 32]);
    expect(seen.filter((n) => n <= 40).length).toBeGreaterThan(0);
  });

  test("steps answered from the cache (no call) leave the limit alone", async () => {
    const size = new AdaptiveBatchSize({ min: 4, max: 512, start: 64, targetMs: 200 });
    const proc = new AdaptiveProcess<string>(size, async (records) => ({
      outputs: records.map((r) => ({ record: r, value: r.offset })),
      dlq: [],
    }));
    await proc.process(
      Array.from({ length: 64 }, (_, i) => rec(i)),
      new AbortController().signal,
    );
    expect(proc.limit).toBe(64);
  });
});
