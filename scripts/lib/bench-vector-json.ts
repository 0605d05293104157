/**
 * The micro-benchmark of vector encoding: a 384-dim embeddings record as JSON with the vector's
 * doubles (`JSON.stringify` of `Array.from`) against float32 precision (`encodeEmbeddedRecord`),
 * µs per record and bytes, median of 5 passes over 2000 random vectors.
 */
import { encodeEmbeddedRecord } from "../../pipeline/contracts/records.ts";

export function benchVectorJson(): { name: string; value: number; unit: string }[] {
  const dim = 384;
  const n = 2000;
  let seed = 1;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const vectors = Array.from({ length: n }, () =>
    Float32Array.from({ length: dim }, () => random() * 0.2 - 0.1),
  );
  const record = (vector: Float32Array) => ({
    topic: "agent.results",
    text: "x".repeat(290),
    doc_id: "doc-1",
    vector,
    kafka_ts: 1_700_000_000_000,
    embedded_ts: 1_700_000_000.5,
    model: "hash-384",
    dim,
    normalized: false,
    labels: {},
    success: null,
  });
  const time = (encode: (v: Float32Array) => { length: number }) => {
    let bytes = 0;
    for (const v of vectors) encode(v); // warm-up
    const passes: number[] = [];
    for (let p = 0; p < 5; p++) {
      const t0 = performance.now();
      bytes = 0;
      for (const v of vectors) bytes += encode(v).length;
      passes.push(((performance.now() - t0) * 1000) / n);
    }
    passes.sort((a, b) => a - b);
    return { us: passes[2] as number, bytes: bytes / n };
  };
  const doubles = time((v) => Buffer.from(JSON.stringify({ ...record(v), vector: Array.from(v) })));
  const float32 = time((v) => encodeEmbeddedRecord(record(v)));
  return [
    {
      name: "embeddings record (384-dim) as JSON with doubles: µs per record",
      value: doubles.us,
      unit: "µs",
    },
    {
      name: "embeddings record (384-dim) at float32 precision: µs per record",
      value: float32.us,
      unit: "µs",
    },
    { name: "embeddings record (384-dim) bytes, doubles", value: doubles.bytes, unit: "B" },
    { name: "embeddings record (384-dim) bytes, float32 precision", value: float32.bytes, unit: "B" },
  ];
}
