import { expect, test } from "bun:test";
import { cacheKey, EmbeddingCache } from "../../pipeline/embed/cache.ts";

const v = (x: number) => new Float32Array([x]);

test("keys differ by model, normalisation and text", () => {
  const keys = new Set([
    cacheKey("m1", false, "a"),
    cacheKey("m2", false, "a"),
    cacheKey("m1", true, "a"),
    cacheKey("m1", false, "b"),
  ]);
  expect(keys.size).toBe(4);
  expect(cacheKey("m1", false, "a")).toBe(cacheKey("m1", false, "a"));
});

test("least recently used entries are evicted at the cap; hits and misses are counted", () => {
  const c = new EmbeddingCache(2, 60_000);
  c.set("a", v(1), false);
  c.set("b", v(2), false);
  expect(c.get("a")?.vector[0]).toBe(1); // a is now most recent
  c.set("c", v(3), false); // evicts b
  expect(c.get("b")).toBeUndefined();
  expect(c.get("a")).toBeDefined();
  expect(c.get("c")).toBeDefined();
  expect(c.stats()).toEqual({ size: 2, hits: 3, misses: 1, evictions: 1, expired: 0 });
});

test("entries expire after the TTL", () => {
  let now = 0;
  const c = new EmbeddingCache(10, 1000, () => now);
  c.set("a", v(1), true);
  now = 999;
  expect(c.get("a")).toEqual({ vector: v(1), normalized: true, expires: 1000 } as never);
  now = 2000;
  expect(c.get("a")).toBeUndefined();
  expect(c.stats()).toMatchObject({ size: 0, expired: 1 });
});

test("a zero cap or TTL disables caching", () => {
  const c = new EmbeddingCache(0, 1000);
  c.set("a", v(1), false);
  expect(c.get("a")).toBeUndefined();
});
