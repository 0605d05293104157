/**
 * Vectors as JSON at float32 precision: each component is written as the shortest decimal that
 * a JSON reader turns back into the same float32 value (`Math.fround(JSON.parse(s)) === f`, or
 * numpy's `float32(float(s))`) instead of the ~17 digits of the widened double. The record
 * schema does not change (a vector is still an array of JSON numbers); the text is ~43 % shorter.
 *
 * The digits come from double arithmetic, checked: for p significant digits the candidate is
 * m = round(|f| · 10^k) with k = p − 1 − ⌊log10 |f|⌋, and its value is taken as a reader takes it
 * (the correctly rounded double of the decimal m·10^−k, computed as `m / 10^k` or `m · 10^−k` from
 * exact operands with one IEEE rounding, then rounded to float32). p runs down from 8 while the
 * candidate reads back as `f`; when 8 digits do not, 9 do. Where 10^k is not an exact double
 * (|f| < 1e-13 or ≥ 1e21: subnormals, huge values) or a candidate was misrounded, the same search
 * runs on `toPrecision(p)` and `Number()` instead. Every decimal written has been read back and
 * compared, so the encoding is exact by construction; it is the shortest but for rare values next
 * to a power of two, where it may carry one digit more.
 *
 * Numbers are written as JavaScript's `String` writes them (positional from 1e-6 up to 1e21, else
 * `d.ddde±n`); `-0` stays `-0`; NaN and ±Infinity become `null`, as `JSON.stringify` does.
 */

/** 10^0 … 10^22, every one an exact double. */
const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

const ZERO = 48;
const MINUS = 45;
const DOT = 46;

/** Scratch output, grown as needed (encoding is synchronous, so one buffer serves every call). */
let out = new Uint8Array(64 * 1024);
let at = 0;

function reserve(n: number): void {
  if (at + n <= out.length) return;
  const bigger = new Uint8Array(Math.max(out.length * 2, at + n));
  bigger.set(out.subarray(0, at));
  out = bigger;
}

function writeAscii(s: string): void {
  reserve(s.length);
  for (let i = 0; i < s.length; i++) out[at++] = s.charCodeAt(i);
}

/** The `w` lowest decimal digits of the integer `m` (0 ≤ m < 2^31), zero-padded. */
function writeDigits(m: number, w: number): void {
  let i = at + w - 1;
  for (let j = 0; j < w; j++) {
    const q = (m / 10) | 0;
    out[i--] = ZERO + (m - q * 10);
    m = q;
  }
  at += w;
}

/** The shortest decimal of a positive finite float32 `a` by `toPrecision` (the slow path). */
function shortestByPrecision(a: number): string {
  for (let p = 1; p < 9; p++) {
    const s = a.toPrecision(p);
    if (Math.fround(Number(s)) === a) return String(Number(s));
  }
  return String(Number(a.toPrecision(9)));
}

/** Writes m·10^−k (m a positive integer below 2^31) the way `String` writes that number. */
function writeDecimal(m: number, k: number): void {
  while (m % 10 === 0) {
    m /= 10;
    k--;
  }
  let n = 1;
  while (n < 10 && m >= (POW10[n] as number)) n++;
  const point = n - k; // digits before the decimal point
  reserve(n + 32);
  if (point >= n && point <= 21) {
    writeDigits(m, n);
    for (let i = n; i < point; i++) out[at++] = ZERO;
  } else if (point > 0 && point <= 21) {
    const unit = POW10[n - point] as number;
    const hi = Math.floor(m / unit);
    writeDigits(hi, point);
    out[at++] = DOT;
    writeDigits(m - hi * unit, n - point);
  } else if (point > -6 && point <= 0) {
    out[at++] = ZERO;
    out[at++] = DOT;
    for (let i = 0; i < -point; i++) out[at++] = ZERO;
    writeDigits(m, n);
  } else {
    const unit = POW10[n - 1] as number;
    const first = Math.floor(m / unit);
    out[at++] = ZERO + first;
    if (n > 1) {
      out[at++] = DOT;
      writeDigits(m - first * unit, n - 1);
    }
    const exp = point - 1;
    out[at++] = 0x65; // e
    out[at++] = exp < 0 ? MINUS : 0x2b; // - or +
    const a = Math.abs(exp); // below 100: the fast path covers 1e-14 … 1e21
    if (a >= 10) writeDigits(a, 2);
    else out[at++] = ZERO + a;
  }
}

/** Writes one component (see the module doc). */
function writeFloat32(f: number): void {
  let x = Math.fround(f);
  reserve(1);
  if (x === 0) {
    if (Object.is(x, -0)) out[at++] = MINUS;
    reserve(1);
    out[at++] = ZERO;
    return;
  }
  if (!Number.isFinite(x)) {
    writeAscii("null");
    return;
  }
  if (x < 0) {
    out[at++] = MINUS;
    x = -x;
  }
  let e = Math.floor(Math.log10(x));
  if (e < -13 || e > 20) {
    writeAscii(shortestByPrecision(x));
    return;
  }
  // log10 can be off by one next to a power of ten (e stays within −14…21, so 10^k is exact).
  if (e >= 0 ? (POW10[e] as number) > x : x * (POW10[-e] as number) < 1) e--;
  else if (e + 1 >= 0 ? (POW10[e + 1] as number) <= x : x * (POW10[-e - 1] as number) >= 1) e++;
  let best = 0;
  let bestK = 0;
  for (let p = 8; p >= 1; p--) {
    const k = p - 1 - e;
    let m: number;
    let value: number;
    if (k >= 0) {
      const scale = POW10[k] as number;
      m = Math.floor(x * scale + 0.5);
      value = m / scale;
    } else {
      const scale = POW10[-k] as number;
      m = Math.floor(x / scale + 0.5);
      value = m * scale;
    }
    if (Math.fround(value) !== x) break;
    best = m;
    bestK = k;
  }
  if (best === 0) {
    const k = 8 - e;
    const scale = POW10[k] as number;
    best = Math.floor(x * scale + 0.5);
    bestK = k;
    if (Math.fround(best / scale) !== x) {
      writeAscii(shortestByPrecision(x));
      return;
    }
  }
  writeDecimal(best, bestK);
}

function writeVector(v: ArrayLike<number>): void {
  reserve(2);
  out[at++] = 0x5b; // [
  for (let i = 0; i < v.length; i++) {
    if (i > 0) {
      reserve(1);
      out[at++] = 0x2c; // ,
    }
    writeFloat32(v[i] as number);
  }
  reserve(1);
  out[at++] = 0x5d; // ]
}

/** The ASCII bytes written since `start`, copied out; the scratch buffer is then free again. */
function take(start: number): Buffer {
  const b = Buffer.from(out.subarray(start, at));
  at = start;
  return b;
}

/** The shortest decimal of the float32 value of `f` that reads back as that float32 value. */
export function float32String(f: number): string {
  at = 0;
  writeFloat32(f);
  return take(0).toString("latin1");
}

/** A vector as the UTF-8 (ASCII) bytes of a JSON array of float32-precision numbers. */
export function float32JsonBytes(v: ArrayLike<number>): Buffer {
  at = 0;
  writeVector(v);
  return take(0);
}

/** A vector as a JSON array of float32-precision numbers. */
export function float32Json(v: ArrayLike<number>): string {
  return float32JsonBytes(v).toString("latin1");
}

/** Several vectors as the bytes of one JSON array of arrays. */
export function float32JsonListBytes(vectors: readonly ArrayLike<number>[]): Buffer {
  at = 0;
  reserve(1);
  out[at++] = 0x5b;
  vectors.forEach((v, i) => {
    if (i > 0) {
      reserve(1);
      out[at++] = 0x2c;
    }
    writeVector(v);
  });
  reserve(1);
  out[at++] = 0x5d;
  return take(0);
}

/**
 * `JSON.stringify(value)` as UTF-8 bytes, with the field `key` written as the JSON text `raw`
 * instead (the other fields and the key order as `JSON.stringify` writes them; `key` need not
 * be there, it is then added last).
 */
export function jsonWithRawField(value: Record<string, unknown>, key: string, raw: Uint8Array): Buffer {
  const before: Record<string, unknown> = {};
  const after: Record<string, unknown> = {};
  let seen = false;
  for (const k of Object.keys(value)) {
    if (k === key) seen = true;
    else (seen ? after : before)[k] = value[k];
  }
  const head = JSON.stringify(before);
  const tail = JSON.stringify(after);
  return Buffer.concat([
    Buffer.from(`${head.length > 2 ? `${head.slice(0, -1)},` : "{"}${JSON.stringify(key)}:`),
    raw,
    Buffer.from(tail.length > 2 ? `,${tail.slice(1)}` : "}"),
  ]);
}

/**
 * `JSON.stringify(value)` as UTF-8 bytes, with the array field `key` (if present) written at
 * float32 precision by {@link float32JsonBytes}.
 */
export function jsonWithFloat32Field(value: Record<string, unknown>, key: string): Buffer {
  const vector = value[key] as ArrayLike<number> | undefined;
  if (vector === undefined) return Buffer.from(JSON.stringify(value));
  return jsonWithRawField(value, key, float32JsonBytes(vector));
}
