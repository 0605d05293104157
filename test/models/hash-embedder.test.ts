import { describe, expect, test } from "bun:test";
import { cosine } from "../../pipeline/models/embedder.ts";
import { createHashEmbedder, hashEmbed } from "../../pipeline/models/hash-embedder.ts";

const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

describe("hash-<dim>", () => {
  test("vectors have the model's dimension and unit norm", () => {
    const e = createHashEmbedder(384);
    expect(e).toMatchObject({ name: "hash-384", dim: 384, normalized: true });
    const [a, b] = e.embed(["the tests passed after fixing the import", "x"]);
    expect(a?.length).toBe(384);
    expect(b?.length).toBe(384);
    expect(norm(a as Float32Array)).toBeCloseTo(1, 5);
    expect(norm(b as Float32Array)).toBeCloseTo(1, 5);
  });

  test("is pinned: the same text gives the same numbers in every release", () => {
    // A change here changes every stored hash vector: bump the model name instead.
    expect(Array.from(hashEmbed("hello world", 8), (x) => Number(x.toFixed(6)))).toEqual([
      0, 0.623425, -0.192649, 0, -0.385298, -0.192649, -0.623425, 0,
    ]);
  });

  test("the same text gives the same vector in another process", async () => {
    const text = "Deploy to staging failed: connection refused (ECONNREFUSED) – retrying ✓";
    const script = `import { hashEmbed } from ${JSON.stringify(`${import.meta.dir}/../../pipeline/models/hash-embedder.ts`)};
      console.log(JSON.stringify(Array.from(hashEmbed(${JSON.stringify(text)}, 64))));`;
    const proc = Bun.spawn([process.execPath, "-e", script], { stdout: "pipe" });
    const out = await new Response(proc.stdout).text();
    expect(await proc.exited).toBe(0);
    expect(JSON.parse(out)).toEqual(Array.from(hashEmbed(text, 64)));
  });

  test("case and word order barely matter; shared words make texts close", () => {
    const [a, b, c, d] = createHashEmbedder(384).embed([
      "The tests passed after fixing the import",
      "the IMPORT fixing after passed tests the",
      "all tests pass after the import fix",
      "database migration rolled back in production",
    ]) as Float32Array[];
    expect(cosine(a as Float32Array, b as Float32Array)).toBeCloseTo(1, 5);
    expect(cosine(a as Float32Array, c as Float32Array)).toBeGreaterThan(
      cosine(a as Float32Array, d as Float32Array) + 0.2,
    );
  });

  test("texts without letters or digits get one fixed unit vector, never NaN", () => {
    const [empty, symbols, spaces] = createHashEmbedder(16).embed(["", "!!! ??? ...", "   \n\t"]);
    expect(Array.from(empty as Float32Array).every(Number.isFinite)).toBe(true);
    expect(norm(empty as Float32Array)).toBeCloseTo(1, 6);
    expect(symbols).toEqual(empty as Float32Array);
    expect(spaces).toEqual(empty as Float32Array);
  });

  test("any dim in 8..4096; others are refused", () => {
    expect(createHashEmbedder(8).embed(["a"])[0]?.length).toBe(8);
    expect(createHashEmbedder(4096).embed(["a"])[0]?.length).toBe(4096);
    for (const dim of [7, 4097, 100.5]) expect(() => createHashEmbedder(dim)).toThrow(/8\.\.4096/);
  });
});
