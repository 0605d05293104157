import { describe, expect, test } from "bun:test";
import { RateTracker } from "../../pipeline/contracts/rates.ts";

describe("RateTracker", () => {
  test("first observation has no rate, then increase per second", () => {
    const t = new RateTracker(["a", "b"] as const);
    expect(t.update({ a: 10, b: 0 }, 1_000)).toEqual({ a: null, b: null });
    expect(t.update({ a: 40, b: 5 }, 3_000)).toEqual({ a: 15, b: 2.5 });
    expect(t.update({ a: 40, b: 5 }, 4_000)).toEqual({ a: 0, b: 0 });
  });

  test("a counter that goes down (reset) restarts its rate and is never negative", () => {
    const t = new RateTracker(["n"] as const);
    t.update({ n: 100 }, 0);
    expect(t.update({ n: 3 }, 1_000)).toEqual({ n: null });
    expect(t.update({ n: 13 }, 2_000)).toEqual({ n: 10 });
  });

  test("missing or non-numeric counters and no elapsed time give null", () => {
    const t = new RateTracker(["n", "m"] as const);
    t.update({ n: 1, m: 1 }, 0);
    expect(t.update({ n: 2, m: "x" }, 0)).toEqual({ n: null, m: null });
    expect(t.update({ n: 4 }, 1_000)).toEqual({ n: 2, m: null });
    expect(t.update({ n: 6, m: 10 }, 2_000)).toEqual({ n: 2, m: null });
  });

  test("reset forgets the previous snapshot", () => {
    const t = new RateTracker(["n"] as const);
    t.update({ n: 1 }, 0);
    t.reset();
    expect(t.update({ n: 5 }, 1_000)).toEqual({ n: null });
  });

  test("uses the injected clock by default", () => {
    let now = 0;
    const t = new RateTracker(["n"] as const, () => now);
    t.update({ n: 0 });
    now = 500;
    expect(t.update({ n: 1 })).toEqual({ n: 2 });
  });
});
