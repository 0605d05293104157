import { afterAll, beforeAll, expect, test } from "bun:test";
import { benchKnn } from "../../scripts/lib/bench-knn.ts";
import { scope, type TestScope } from "../helpers/infra.ts";

let s: TestScope;
beforeAll(async () => {
  s = await scope();
});
afterAll(async () => {
  await s.cleanup();
});

test("benchKnn (quick) reports every figure and leaves no Redis key behind", async () => {
  const lines: string[] = [];
  const prefix = `${s.prefix}:knnbench`;
  const figures = await benchKnn({
    redisUrl: s.cfg.redis.url,
    keyPrefix: prefix,
    quick: true,
    log: (l) => lines.push(l),
  });
  const names = figures.map((f) => f.name);
  for (const size of ["1k × 384", "10k × 384", "100k × 100"]) {
    for (const what of [
      "kNN exact p50",
      "kNN exact p99",
      "kNN scan at memory bandwidth",
      "kNN engine memory",
    ])
      expect(names.some((n) => n.startsWith(what) && n.includes(size))).toBe(true);
  }
  for (const size of ["1k × 384", "10k × 384", "10k × 384 hash-384"]) {
    for (const what of ["kNN int8 recall@10", "kNN bytes read per query", "kNN bytes read, exact / int8"])
      expect(names.some((n) => n.startsWith(`${what}, ${size}`))).toBe(true);
  }
  expect(names.some((n) => n.startsWith("kNN int8 + rescore p50, 10k × 384"))).toBe(true);
  expect(names.some((n) => n.startsWith("kNN bytes per vector, 10k × 384: int8 copy"))).toBe(true);
  const ratio = figures.find((f) => f.name.startsWith("kNN bytes read, exact / int8, 10k × 384 random"));
  expect(ratio?.value).toBeGreaterThan(3);
  for (const r of figures.filter((f) => f.name.startsWith("kNN int8 recall@10")))
    expect(r.value).toBeLessThanOrEqual(1);
  expect(names.some((n) => n.startsWith("naive kNN p50, 1k × 384"))).toBe(true);
  expect(names.some((n) => n.startsWith("kNN speed-up over the naive baseline"))).toBe(true);
  expect(names.some((n) => n.startsWith("memory read bandwidth"))).toBe(true);
  for (const f of figures) {
    expect(Number.isFinite(f.value)).toBe(true);
    expect(f.value).toBeGreaterThan(0);
  }
  const p50 = (size: string) => figures.find((f) => f.name.startsWith(`kNN exact p50, ${size}`))?.value ?? 0;
  const p99 = (size: string) => figures.find((f) => f.name.startsWith(`kNN exact p99, ${size}`))?.value ?? 0;
  expect(p99("10k × 384")).toBeGreaterThanOrEqual(p50("10k × 384"));
  expect(lines.length).toBeGreaterThan(10);
  expect(await s.redis().keys(`${prefix}*`)).toEqual([]);
}, 120_000);
