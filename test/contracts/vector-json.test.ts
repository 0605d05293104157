import { describe, expect, test } from "bun:test";
import {
  float32Json,
  float32JsonBytes,
  float32JsonListBytes,
  float32String,
  jsonWithFloat32Field,
} from "../../pipeline/contracts/vector-json.ts";

/** The reference: the first `toPrecision(p)` that reads back as `f`, written as `String` would. */
function reference(f: number): string {
  if (f === 0) return Object.is(f, -0) ? "-0" : "0";
  for (let p = 1; p <= 9; p++) {
    const s = f.toPrecision(p);
    if (Math.fround(Number(s)) === f) return String(Number(s));
  }
  throw new Error(`no 9-digit decimal reads back as ${f}`);
}

/** A seeded stream of 32-bit integers (xorshift32). */
function bits(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

const asFloat = new Float32Array(1);
const asBits = new Uint32Array(asFloat.buffer);
const fromBits = (b: number) => {
  asBits[0] = b;
  return asFloat[0] as number;
};

const EDGES = [
  0,
  -0,
  1,
  -1,
  0.1,
  0.5,
  1 / 3,
  2 ** -149, // smallest subnormal
  -(2 ** -149),
  fromBits(0x007fffff), // largest subnormal
  2 ** -126, // smallest normal
  fromBits(0x7f7fffff), // largest float32
  -fromBits(0x7f7fffff),
  16777216,
  16777217,
  1e-6,
  9.999999e-7,
  1e21,
  9.99999e20,
  1e-13,
  1e-14,
  9.9999e-15,
  1e-45,
  3.4e38,
  123456789,
  0.000123,
  1e10,
  2 ** 70,
  2 ** -70,
  ...Array.from({ length: 60 }, (_, i) => 10 ** (i - 30)),
  ...Array.from({ length: 60 }, (_, i) => -(10 ** (i - 30)) * 7),
  ...Array.from({ length: 277 }, (_, i) => 2 ** (i - 149)),
].map((x) => Math.fround(x));

/** Every case reads back exactly (sign of zero included). */
function readsBack(f: number, s: string): boolean {
  return Object.is(Math.fround(JSON.parse(s) as number), f);
}

describe("float32String", () => {
  test("edge cases read back exactly and are the shortest", () => {
    for (const f of EDGES) {
      const s = float32String(f);
      expect({ f, ok: readsBack(f, s) }).toEqual({ f, ok: true });
      expect({ f, s }).toEqual({ f, s: reference(f) });
    }
  });

  test("random float32 bit patterns (all exponents, signs, subnormals) read back exactly", () => {
    const next = bits(0x9e3779b9);
    let longer = 0;
    let n = 0;
    for (let i = 0; i < 300_000; i++) {
      const f = fromBits(next());
      if (!Number.isFinite(f)) continue;
      n++;
      const s = float32String(f);
      if (!readsBack(f, s)) throw new Error(`${f} written as ${s} reads back as ${JSON.parse(s)}`);
      const ref = reference(f);
      if (s !== ref) {
        // Never more than one digit longer; that only next to powers of two.
        expect(s.replace(/^-|e.*$|\./g, "").length).toBe(ref.replace(/^-|e.*$|\./g, "").length + 1);
        longer++;
      }
    }
    expect(n).toBeGreaterThan(290_000);
    expect(longer / n).toBeLessThan(1e-4);
  });

  test("embedding-like components match the reference exactly", () => {
    const next = bits(12345);
    for (let i = 0; i < 200_000; i++) {
      const f = Math.fround(((next() / 2 ** 32) * 2 - 1) * 0.3);
      expect(float32String(f)).toBe(reference(f));
    }
  });

  test("doubles are written as their float32 value; non-finite as null", () => {
    expect(float32String(0.1)).toBe("0.1");
    expect(float32String(Math.PI)).toBe("3.1415927");
    expect(float32String(Number.NaN)).toBe("null");
    expect(float32String(Number.POSITIVE_INFINITY)).toBe("null");
    expect(float32String(1e39)).toBe("null"); // beyond float32: Infinity
  });
});

describe("float32Json", () => {
  test("a vector is a JSON array that reads back to the same Float32Array", () => {
    const next = bits(7);
    const v = Float32Array.from({ length: 384 }, () => fromBits(next() & 0xbf7fffff)); // finite
    const text = float32Json(v);
    expect(Float32Array.from(JSON.parse(text) as number[])).toEqual(v);
    expect(text.length).toBeLessThan(JSON.stringify(Array.from(v)).length);
    expect(float32JsonBytes(v).toString()).toBe(text);
    expect(float32Json([])).toBe("[]");
    expect(float32Json([0.5, -0, 2])).toBe("[0.5,-0,2]");
  });

  test("a list of vectors", () => {
    const list = [Float32Array.of(0.25, 1 / 3), Float32Array.of(), Float32Array.of(-1e-20)];
    const text = float32JsonListBytes(list).toString();
    expect(text).toBe("[[0.25,0.33333334],[],[-1e-20]]");
    expect(float32JsonListBytes([]).toString()).toBe("[]");
  });

  test("long vectors grow the scratch buffer", () => {
    const v = new Float32Array(100_000).fill(-1.2345678e-20);
    const back = JSON.parse(float32Json(v)) as number[];
    expect(back.length).toBe(100_000);
    expect(Math.fround(back[99_999] as number)).toBe(Math.fround(-1.2345678e-20));
  });
});

describe("jsonWithFloat32Field", () => {
  test("the other fields and the key order are JSON.stringify's", () => {
    const v = Float32Array.of(0.1, -2.5);
    const r = { topic: "t", text: 'é "q" \u2028 \ud800', vector: v, dim: 2, labels: { a: 1.5 } };
    const bytes = jsonWithFloat32Field(r, "vector");
    const text = bytes.toString("utf8");
    expect(text).toBe(JSON.stringify({ ...r, vector: [0.1, -2.5] }));
    expect(Object.keys(JSON.parse(text))).toEqual(["topic", "text", "vector", "dim", "labels"]);
    expect(jsonWithFloat32Field({ vector: [1] }, "vector").toString()).toBe('{"vector":[1]}');
    expect(jsonWithFloat32Field({ a: 1, vector: [1] }, "vector").toString()).toBe('{"a":1,"vector":[1]}');
    expect(jsonWithFloat32Field({ vector: [1], b: 2 }, "vector").toString()).toBe('{"vector":[1],"b":2}');
    expect(jsonWithFloat32Field({ a: 1 }, "vector").toString()).toBe('{"a":1}');
  });
});
