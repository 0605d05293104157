import { expect, test } from "bun:test";
import { type KernelBackend, measureReadBandwidth, strideOf, VectorSlab } from "../../pipeline/knn/kernel.ts";

function fill(slab: VectorSlab, rows: number, seed: number): void {
  for (let i = 0; i < rows * slab.stride; i++) slab.vectors[i] = Math.sin(seed + i);
}

function dot(slab: VectorSlab, row: number): number {
  let s = 0;
  for (let j = 0; j < slab.stride; j++)
    s += (slab.vectors[row * slab.stride + j] as number) * (slab.query[j] as number);
  return s;
}

test("strides are the dimension rounded up to a multiple of 4", () => {
  expect([1, 3, 4, 5, 100, 383, 384].map(strideOf)).toEqual([4, 4, 4, 8, 100, 384, 384]);
});

for (const backend of ["wasm", "js"] as KernelBackend[]) {
  test(`${backend}: scan scores every row of every stride, any sub-range`, () => {
    for (const stride of [4, 8, 12, 16, 20, 60, 64, 100, 384]) {
      const slab = new VectorSlab(backend, stride, 37);
      fill(slab, 37, stride);
      for (let j = 0; j < stride; j++) slab.query[j] = Math.cos(j);
      slab.scores.fill(Number.NaN);
      slab.scan(5, 20);
      for (let r = 0; r < 37; r++) {
        if (r < 5 || r >= 25) expect(slab.scores[r]).toBeNaN();
        else expect(Math.abs((slab.scores[r] as number) - dot(slab, r))).toBeLessThan(1e-4);
      }
    }
  });

  test(`${backend}: growing and shrinking keep the rows`, () => {
    const slab = new VectorSlab(backend, 100, 16);
    fill(slab, 16, 1);
    const before = Array.from(slab.vectors.subarray(0, 16 * 100));
    slab.resize(40_000, 16); // several WebAssembly pages: grows in place
    expect(slab.capacity).toBe(40_000);
    expect(slab.vectors.length).toBe(40_000 * 100);
    expect(slab.scores.length).toBe(40_000);
    expect(Array.from(slab.vectors.subarray(0, 16 * 100))).toEqual(before);
    slab.vectors.fill(0.5, 16 * 100, 40_000 * 100);
    slab.query.fill(1);
    slab.scan(0, 40_000);
    expect(slab.scores[39_999]).toBe(50);
    slab.resize(32, 16);
    expect(slab.capacity).toBe(32);
    expect(slab.bytes).toBeLessThanOrEqual(65_536); // one WebAssembly page at least
    expect(Array.from(slab.vectors.subarray(0, 16 * 100))).toEqual(before);
  });
}

test("memory read bandwidth is measured in GB/s", () => {
  const bw = measureReadBandwidth(16, 2);
  expect(bw.backend).toBe("wasm");
  expect(bw.bytes).toBe(16 * 2 ** 20);
  expect(bw.gbPerSec).toBeGreaterThan(0.1);
  expect(bw.bestGbPerSec).toBeGreaterThanOrEqual(bw.gbPerSec);
});
