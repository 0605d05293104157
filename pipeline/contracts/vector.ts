/**
 * The vector arithmetic the pipeline agrees on: the L2 norm (the embed stage's unit check and
 * normalisation, the norm stored with each indexed vector, the kNN engine's normalisation).
 */

/** The largest |component| and the root of the sum of squares of the components divided by it. */
function scaled(v: ArrayLike<number>): { max: number; root: number } {
  let max = 0;
  for (let i = 0; i < v.length; i++) {
    const a = Math.abs(v[i] as number);
    if (!(a <= max)) max = a; // NaN propagates
  }
  if (max === 0 || !Number.isFinite(max)) return { max, root: max === 0 ? 0 : Number.NaN };
  let sum = 0;
  for (let i = 0; i < v.length; i++) {
    const y = (v[i] as number) / max;
    sum += y * y;
  }
  return { max, root: Math.sqrt(sum) };
}

/**
 * L2 norm, scaled by the largest component so that huge or tiny finite components neither
 * overflow nor underflow. 0 for a zero (or empty) vector; NaN when a component is not finite.
 */
export function l2norm(v: ArrayLike<number>): number {
  const { max, root } = scaled(v);
  return max === 0 ? 0 : max * root;
}

/**
 * Writes `v` scaled to unit length into `out` (the same scaling as {@link l2norm}) and returns
 * the norm; a zero vector writes zeros and returns 0, a non-finite one writes nothing, NaN.
 */
export function normalizeInto(v: ArrayLike<number>, out: { [i: number]: number }): number {
  const { max, root } = scaled(v);
  if (max === 0) {
    for (let i = 0; i < v.length; i++) out[i] = 0;
    return 0;
  }
  if (!Number.isFinite(root)) return Number.NaN;
  for (let i = 0; i < v.length; i++) out[i] = (v[i] as number) / max / root;
  return max * root;
}

/** True when the vector already has unit length (some models return unit vectors). */
export function isUnit(v: ArrayLike<number>): boolean {
  return Math.abs(l2norm(v) - 1) < 1e-3;
}

/** A copy scaled to unit length; a zero (or non-finite) vector cannot be and is returned as is. */
export function normalizeVector(v: Float32Array): { vector: Float32Array; normalized: boolean } {
  const out = new Float32Array(v.length);
  const norm = normalizeInto(v, out);
  return norm > 0 && Number.isFinite(norm)
    ? { vector: out, normalized: true }
    : { vector: v, normalized: false };
}
