/**
 * The scoring kernel of the kNN engine: one contiguous block of float32 rows and the loop that
 * takes the dot product of every row with a query vector.
 *
 * The loop is a small WebAssembly function using 128-bit SIMD (four float32 lanes, unrolled by
 * four: 16 floats per iteration, four independent accumulators), which runs at the machine's
 * memory read bandwidth; a plain JavaScript loop only reaches about half of it. The module is
 * assembled below from its instructions (no build step, no binary blob) and compiled once per
 * process. Where WebAssembly SIMD is unavailable, the same layout lives in an ArrayBuffer and a
 * JavaScript loop (unrolled by eight) scores it.
 *
 * Layout of one slab (all float32, rows padded with zeros to `stride`, a multiple of 4):
 *
 *     [ query: stride ][ vectors: capacity × stride ][ scores: capacity ]
 *
 * Growing a WebAssembly slab extends its memory in place, so the vectors are not copied; the
 * scores after them are scratch space and simply move.
 */

/** Which implementation scores the rows. */
export type KernelBackend = "wasm" | "js";

const PAGE = 65536;
/** Largest WebAssembly memory (32-bit addresses). */
const MAX_WASM_BYTES = 65536 * PAGE;

// ---------------------------------------------------------------------------------------------
// A minimal WebAssembly assembler: just what the two functions below need.

function uleb(n: number): number[] {
  const out: number[] = [];
  let v = n >>> 0;
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  let v = n | 0;
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && !(b & 0x40)) || (v === -1 && b & 0x40)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const name = (s: string): number[] => vec([...new TextEncoder().encode(s)].map((b) => [b]));

const T = { i32: 0x7f, f32: 0x7d, v128: 0x7b } as const;
const op = {
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
  i32: (n: number) => [0x41, ...sleb(n)],
  add: [0x6a],
  and: [0x71],
  geU: [0x4f],
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  br: (depth: number) => [0x0c, depth],
  brIf: (depth: number) => [0x0d, depth],
  f32Add: [0x92],
  /** f32.store, alignment 2^2, offset 0. */
  f32Store: [0x38, 2, 0],
  /** v128.load, alignment hint 2^4, constant offset. */
  load: (offset: number) => [0xfd, 0x00, 4, ...uleb(offset)],
  zero: [0xfd, 0x0c, ...new Array<number>(16).fill(0)],
  f32x4Add: [0xfd, 0xe4, 0x01],
  f32x4Mul: [0xfd, 0xe6, 0x01],
  lane: (l: number) => [0xfd, 0x1f, l],
  sub: [0x6b],
  /** f32.load, alignment 2^2, offset 0. */
  f32Load: [0x2a, 2, 0],
  f32Mul: [0x94],
  f32ConvertI32S: [0xb2],
  laneI32: (l: number) => [0xfd, 0x1b, l],
  i16x8ExtendLowS: [0xfd, 0x87, 0x01],
  i16x8ExtendHighS: [0xfd, 0x88, 0x01],
  i32x4DotI16x8S: [0xfd, 0xba, 0x01],
  i32x4Add: [0xfd, 0xae, 0x01],
};

/** What the rows of a slab hold: float32 components, or int8 ones with a float32 scale. */
type RowKind = "f32" | "i8";

/**
 * `scan(rows, query, n, rowBytes, out)` (float32 rows) and `scan8(…)` (int8 rows): for each of
 * `n` rows of `rowBytes` bytes (a multiple of 16) starting at byte `rows`, stores the dot
 * product with the row at `query` at `out`, `out + 4`, … as a float32.
 *
 * Both read 64 bytes per iteration into four independent accumulators, then the 16-byte
 * remainder. float32 rows multiply four lanes at a time. int8 rows multiply sixteen lanes into
 * 16-bit products (two `extmul`s; |a·b| ≤ 127², so the sum of two fits 16 bits), add them
 * pairwise into the four 32-bit lanes of the accumulator, and end with the integer sum times
 * the row's scale, a float32 in the row's last four bytes (the query's are zero there, so the
 * scale's bytes add nothing to the dot product).
 */
function scanFunction(kind: RowKind): number[] {
  const [P, Q, N, RB, OUT, R, E16, RE, QP] = [0, 1, 2, 3, 4, 5, 6, 7, 8] as const;
  const A = [9, 10, 11, 12] as const;
  const X = 13;
  // acc += load(p + off) · load(qp + off), lane-wise
  const madd = (a: number, off: number) =>
    kind === "f32"
      ? [
          ...op.get(a),
          ...op.get(P),
          ...op.load(off),
          ...op.get(QP),
          ...op.load(off),
          ...op.f32x4Mul,
          ...op.f32x4Add,
          ...op.set(a),
        ]
      : [
          ...op.get(P),
          ...op.load(off),
          ...op.set(X),
          ...op.get(a),
          ...op.get(X),
          ...op.i16x8ExtendLowS,
          ...op.get(QP),
          ...op.load(2 * off),
          ...op.i32x4DotI16x8S,
          ...op.i32x4Add,
          ...op.get(X),
          ...op.i16x8ExtendHighS,
          ...op.get(QP),
          ...op.load(2 * off + 16),
          ...op.i32x4DotI16x8S,
          ...op.i32x4Add,
          ...op.set(a),
        ];
  // The int8 query is held widened to 16 bits: twice the row's bytes.
  const qStep = kind === "f32" ? 1 : 2;
  const vAdd = kind === "f32" ? op.f32x4Add : op.i32x4Add;
  const lane = kind === "f32" ? op.lane : op.laneI32;
  const sAdd = kind === "f32" ? op.f32Add : op.add;
  // i8: the integer sum to float32, times the scale at the row's end (p = the next row now).
  const scaled =
    kind === "f32"
      ? []
      : [...op.f32ConvertI32S, ...op.get(P), ...op.i32(4), ...op.sub, ...op.f32Load, ...op.f32Mul];
  const bump = (local: number, by: number) => [...op.get(local), ...op.i32(by), ...op.add, ...op.set(local)];
  const body = [
    ...op.i32(0),
    ...op.set(R),
    ...op.block,
    ...op.loop,
    // while (r < n)
    ...op.get(R),
    ...op.get(N),
    ...op.geU,
    ...op.brIf(1),
    ...A.flatMap((a) => [...op.zero, ...op.set(a)]),
    ...op.get(Q),
    ...op.set(QP),
    // e16 = p + (rowBytes & ~63); re = p + rowBytes
    ...op.get(P),
    ...op.get(RB),
    ...op.i32(-64),
    ...op.and,
    ...op.add,
    ...op.set(E16),
    ...op.get(P),
    ...op.get(RB),
    ...op.add,
    ...op.set(RE),
    // 64 bytes per iteration, four accumulators
    ...op.block,
    ...op.loop,
    ...op.get(P),
    ...op.get(E16),
    ...op.geU,
    ...op.brIf(1),
    ...madd(A[0], 0),
    ...madd(A[1], 16),
    ...madd(A[2], 32),
    ...madd(A[3], 48),
    ...bump(P, 64),
    ...bump(QP, 64 * qStep),
    ...op.br(0),
    ...op.end,
    ...op.end,
    // the remaining 16, 32 or 48 bytes
    ...op.block,
    ...op.loop,
    ...op.get(P),
    ...op.get(RE),
    ...op.geU,
    ...op.brIf(1),
    ...madd(A[0], 0),
    ...bump(P, 16),
    ...bump(QP, 16 * qStep),
    ...op.br(0),
    ...op.end,
    ...op.end,
    // *out = horizontal sum of (a0 + a1) + (a2 + a3)
    ...op.get(A[0]),
    ...op.get(A[1]),
    ...vAdd,
    ...op.get(A[2]),
    ...op.get(A[3]),
    ...vAdd,
    ...vAdd,
    ...op.set(A[0]),
    ...op.get(OUT),
    ...op.get(A[0]),
    ...lane(0),
    ...op.get(A[0]),
    ...lane(1),
    ...sAdd,
    ...op.get(A[0]),
    ...lane(2),
    ...op.get(A[0]),
    ...lane(3),
    ...sAdd,
    ...sAdd,
    ...scaled,
    ...op.f32Store,
    ...bump(OUT, 4),
    ...bump(R, 1),
    ...op.br(0),
    ...op.end,
    ...op.end,
    ...op.end,
  ];
  return [
    ...vec([
      [...uleb(4), T.i32],
      [...uleb(5), T.v128],
    ]),
    ...body,
  ];
}

/** `sum(from, to)`: sum of the float32s in [from, to) (a multiple of 64 bytes); reads memory. */
function sumFunction(): number[] {
  const [P, END] = [0, 1] as const;
  const A = [2, 3, 4, 5] as const;
  const acc = (a: number, off: number) => [
    ...op.get(a),
    ...op.get(P),
    ...op.load(off),
    ...op.f32x4Add,
    ...op.set(a),
  ];
  const body = [
    ...op.block,
    ...op.loop,
    ...op.get(P),
    ...op.get(END),
    ...op.geU,
    ...op.brIf(1),
    ...acc(A[0], 0),
    ...acc(A[1], 16),
    ...acc(A[2], 32),
    ...acc(A[3], 48),
    ...op.get(P),
    ...op.i32(64),
    ...op.add,
    ...op.set(P),
    ...op.br(0),
    ...op.end,
    ...op.end,
    ...op.get(A[0]),
    ...op.get(A[1]),
    ...op.f32x4Add,
    ...op.get(A[2]),
    ...op.get(A[3]),
    ...op.f32x4Add,
    ...op.f32x4Add,
    ...op.lane(0),
    ...op.end,
  ];
  return [...vec([[...uleb(4), T.v128]]), ...body];
}

function assemble(): Uint8Array {
  const scan = scanFunction("f32");
  const scan8 = scanFunction("i8");
  const sum = sumFunction();
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    // types: 0 = (i32 ×5) → (), 1 = (i32 ×2) → f32
    ...section(
      1,
      vec([
        [0x60, ...vec([[T.i32], [T.i32], [T.i32], [T.i32], [T.i32]]), 0],
        [0x60, ...vec([[T.i32], [T.i32]]), 1, T.f32],
      ]),
    ),
    // import env.memory (min 1 page)
    ...section(2, vec([[...name("env"), ...name("memory"), 0x02, 0x00, 1]])),
    ...section(3, vec([[0], [0], [1]])),
    ...section(
      7,
      vec([
        [...name("scan"), 0x00, 0],
        [...name("scan8"), 0x00, 1],
        [...name("sum"), 0x00, 2],
      ]),
    ),
    ...section(
      10,
      vec([
        [...uleb(scan.length), ...scan],
        [...uleb(scan8.length), ...scan8],
        [...uleb(sum.length), ...sum],
      ]),
    ),
  ]);
}

type ScanFn = (rows: number, query: number, n: number, rowBytes: number, out: number) => void;
type SumFn = (from: number, to: number) => number;

let compiled: WebAssembly.Module | null | undefined;

/** The compiled module, or null when this runtime lacks WebAssembly SIMD. */
function wasmModule(): WebAssembly.Module | null {
  if (compiled === undefined) {
    try {
      compiled = new WebAssembly.Module(assemble());
      // Run it once: some runtimes compile SIMD lazily and fail only at instantiation.
      const memory = new WebAssembly.Memory({ initial: 1 });
      const f = new Float32Array(memory.buffer);
      f.set([1, 2, 3, 4, 1, 1, 1, 1], 0);
      const { scan } = new WebAssembly.Instance(compiled, { env: { memory } }).exports as { scan: ScanFn };
      scan(16, 0, 1, 16, 64);
      // scan8: a query of 12 ones (16-bit) at 0, row bytes 1..12 at 128, its scale 0.5 in its last four.
      new Int16Array(memory.buffer, 0, 16).fill(0).fill(1, 0, 12);
      const b = new Int8Array(memory.buffer);
      for (let i = 0; i < 12; i++) b[128 + i] = i + 1;
      f[35] = 0.5;
      const { scan8 } = new WebAssembly.Instance(compiled, { env: { memory } }).exports as { scan8: ScanFn };
      scan8(128, 0, 1, 16, 192);
      if (f[16] !== 10 || f[48] !== 39) compiled = null;
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

/** The backend used when none is asked for: "wasm" when WebAssembly SIMD works here, else "js". */
export function defaultBackend(): KernelBackend {
  return wasmModule() ? "wasm" : "js";
}

/** Rounds a dimension up to the padded row length (a multiple of 4 floats). */
export function strideOf(dim: number): number {
  return (dim + 3) & ~3;
}

/**
 * Rows of `rowBytes` bytes (a multiple of 16) in one contiguous block, plus a query slot and a
 * float32 score per row: [ query: queryBytes ][ rows: capacity × rowBytes ][ scores: capacity ].
 * The subclasses say what a row holds ({@link VectorSlab}: float32, {@link Int8Slab}: int8).
 */
abstract class Slab {
  /** `scores[r]` = dot(row r, query) after a `scan` covering r. */
  scores!: Float32Array;
  protected buffer!: ArrayBuffer;
  private memory: WebAssembly.Memory | undefined;
  private scanFn: ScanFn | undefined;
  private cap = 0;

  constructor(
    readonly backend: KernelBackend,
    readonly rowBytes: number,
    private readonly queryBytes: number,
    private readonly kind: RowKind,
  ) {
    if (rowBytes <= 0 || rowBytes % 16 !== 0)
      throw new RangeError(`row bytes must be a positive multiple of 16`);
    if (backend === "wasm" && !wasmModule()) throw new Error("WebAssembly SIMD is not available here");
  }

  /** Rows the slab can hold without growing. */
  get capacity(): number {
    return this.cap;
  }

  /** Bytes of the block (query, rows and scores). */
  get bytes(): number {
    return this.buffer.byteLength;
  }

  private bytesFor(capacity: number): number {
    return this.queryBytes + this.rowBytes * capacity + 4 * capacity;
  }

  /**
   * Changes the capacity to `capacity` rows, keeping the first `keepRows` rows. Growing a
   * WebAssembly slab extends its memory in place; anything else copies into a new block.
   */
  resize(capacity: number, keepRows: number): void {
    if (capacity < keepRows) throw new RangeError("capacity below the rows to keep");
    if (capacity === this.cap) return;
    if (this.memory && capacity > this.cap) {
      const need = this.checked(capacity);
      const pages = Math.ceil(need / PAGE) - this.memory.buffer.byteLength / PAGE;
      if (pages > 0) this.memory.grow(pages);
      this.cap = capacity;
      this.setViews();
      return;
    }
    this.allocate(capacity, keepRows);
  }

  private checked(capacity: number): number {
    const need = this.bytesFor(capacity);
    if (this.backend === "wasm" && need > MAX_WASM_BYTES)
      throw new RangeError(
        `a model's vectors cannot exceed 4 GiB (${capacity} rows of ${this.rowBytes} bytes)`,
      );
    return need;
  }

  protected allocate(capacity: number, keepRows: number): void {
    const need = this.checked(capacity);
    const old = this.buffer;
    if (this.backend === "wasm") {
      const module = wasmModule();
      if (!module) throw new Error("WebAssembly SIMD is not available here");
      this.memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(need / PAGE)) });
      const exports = new WebAssembly.Instance(module, { env: { memory: this.memory } }).exports;
      this.scanFn = (this.kind === "f32" ? exports.scan : exports.scan8) as ScanFn;
    } else {
      this.buffer = new ArrayBuffer(need);
    }
    this.cap = capacity;
    this.setViews();
    if (old && keepRows > 0) {
      const n = keepRows * this.rowBytes;
      new Uint8Array(this.buffer, this.queryBytes, n).set(new Uint8Array(old, this.queryBytes, n));
    }
  }

  private setViews(): void {
    if (this.memory) this.buffer = this.memory.buffer;
    this.scores = new Float32Array(this.buffer, this.queryBytes + this.rowBytes * this.cap, this.cap);
    this.views();
  }

  /** Makes the subclass's typed views over `buffer` (the query slot, then `capacity` rows). */
  protected abstract views(): void;

  /** The JavaScript scan of rows [start, start + count) into `scores`. */
  protected abstract scanJs(start: number, count: number): void;

  /** Sets `scores[r]` = dot(row r, query) for r in [start, start + count). */
  scan(start: number, count: number): void {
    if (count <= 0) return;
    if (this.scanFn) {
      const rb = this.rowBytes;
      this.scanFn(this.queryBytes + start * rb, 0, count, rb, this.scores.byteOffset + 4 * start);
    } else {
      this.scanJs(start, count);
    }
  }
}

/**
 * Rows of `stride` float32s in one contiguous block, plus a query slot and a score per row.
 * `vectors`, `query` and `scores` are views that are replaced when the slab is resized.
 */
export class VectorSlab extends Slab {
  /** All rows (capacity × stride floats); row r starts at r × stride. */
  vectors!: Float32Array;
  /** The query vector the next `scan` uses (stride floats; padding must stay 0). */
  query!: Float32Array;

  constructor(
    backend: KernelBackend,
    readonly stride: number,
    capacity: number,
  ) {
    if (stride <= 0 || stride % 4 !== 0) throw new RangeError(`stride must be a positive multiple of 4`);
    super(backend, 4 * stride, 4 * stride, "f32");
    this.allocate(capacity, 0);
  }

  protected views(): void {
    const s = this.stride;
    this.query = new Float32Array(this.buffer, 0, s);
    this.vectors = new Float32Array(this.buffer, 4 * s, this.capacity * s);
  }

  protected scanJs(start: number, count: number): void {
    scanJs(this.vectors, this.query, this.stride, start, count, this.scores);
  }
}

/** Bytes of one int8 row of a dimension: the components, then the float32 scale, to a multiple of 16. */
export function int8RowBytes(dim: number): number {
  return (dim + 4 + 15) & ~15;
}

/**
 * Int8 copies of unit vectors, one row each: `dim` int8 components q = round(x / s) with the
 * row's own scale s = max|x| / 127 (symmetric, so q ∈ [-127, 127]), then s as a float32 in
 * the row's last four bytes. `scan` gives s_row × Σ q_row·q_query: the row's dot product with
 * the query up to the query's scale (the same for every row, so the order is kept) and the
 * rounding of the components. The engine uses it to pick candidates that it then rescores
 * exactly in float32.
 */
export class Int8Slab extends Slab {
  /** The query slot: rowBytes components, widened to 16 bits (only the first `dim` may be non-zero). */
  query!: Int16Array;
  /** All rows as int8 (capacity × rowBytes). */
  rows!: Int8Array;
  /** The rows as float32, to reach each row's scale. */
  private f32!: Float32Array;

  constructor(
    backend: KernelBackend,
    readonly dim: number,
    capacity: number,
  ) {
    if (!Number.isInteger(dim) || dim <= 0) throw new RangeError("dim must be a positive integer");
    const rowBytes = int8RowBytes(dim);
    super(backend, rowBytes, 2 * rowBytes, "i8");
    this.allocate(capacity, 0);
  }

  protected views(): void {
    const rb = this.rowBytes;
    this.query = new Int16Array(this.buffer, 0, rb);
    this.rows = new Int8Array(this.buffer, 2 * rb, this.capacity * rb);
    this.f32 = new Float32Array(this.buffer, 2 * rb, (this.capacity * rb) / 4);
  }

  /** The scale of row `row`. */
  scale(row: number): number {
    return this.f32[((row + 1) * this.rowBytes) / 4 - 1] as number;
  }

  /** Quantises `v` (dim components) into row `row`. */
  write(row: number, v: ArrayLike<number>): void {
    const rb = this.rowBytes;
    const s = quantizeInto(v, this.dim, this.rows, row * rb);
    this.rows.fill(0, row * rb + this.dim, (row + 1) * rb - 4);
    this.f32[((row + 1) * rb) / 4 - 1] = s;
  }

  /** Copies row `from` over row `to`. */
  copyRow(from: number, to: number): void {
    const rb = this.rowBytes;
    this.rows.copyWithin(to * rb, from * rb, from * rb + rb);
  }

  /** Quantises `v` (dim components) into the query slot. */
  setQuery(v: ArrayLike<number>): void {
    quantizeInto(v, this.dim, this.query, 0);
    this.query.fill(0, this.dim);
  }

  protected scanJs(start: number, count: number): void {
    const rb = this.rowBytes;
    const q = this.query;
    const rows = this.rows;
    const dim = this.dim;
    for (let r = start; r < start + count; r++) {
      const o = r * rb;
      let s = 0;
      for (let j = 0; j < dim; j++) s += (rows[o + j] as number) * (q[j] as number);
      this.scores[r] = Math.fround(s) * this.scale(r);
    }
  }
}

/**
 * Writes round(v[i] / s) for i < dim into `out` from `at`, with s = max|v| / 127, and returns s
 * (0 for a zero vector, whose components are all 0).
 */
export function quantizeInto(
  v: ArrayLike<number>,
  dim: number,
  out: Int8Array | Int16Array,
  at: number,
): number {
  let max = 0;
  for (let i = 0; i < dim; i++) {
    const a = Math.abs(v[i] as number);
    if (a > max) max = a;
  }
  if (max === 0) {
    out.fill(0, at, at + dim);
    return 0;
  }
  const s = Math.fround(max / 127);
  const inv = 127 / max;
  for (let i = 0; i < dim; i++) out[at + i] = Math.round((v[i] as number) * inv);
  return s;
}

/** The JavaScript fallback of the float32 `scan`: unrolled by eight, four accumulators (stride % 4 === 0). */
function scanJs(
  v: Float32Array,
  q: Float32Array,
  stride: number,
  start: number,
  count: number,
  out: Float32Array,
): void {
  const end8 = stride & ~7;
  for (let r = start, o = start * stride; r < start + count; r++, o += stride) {
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let j = 0;
    for (; j < end8; j += 8) {
      const p = o + j;
      s0 += (v[p] as number) * (q[j] as number) + (v[p + 4] as number) * (q[j + 4] as number);
      s1 += (v[p + 1] as number) * (q[j + 1] as number) + (v[p + 5] as number) * (q[j + 5] as number);
      s2 += (v[p + 2] as number) * (q[j + 2] as number) + (v[p + 6] as number) * (q[j + 6] as number);
      s3 += (v[p + 3] as number) * (q[j + 3] as number) + (v[p + 7] as number) * (q[j + 7] as number);
    }
    if (j < stride) {
      const p = o + j;
      s0 += (v[p] as number) * (q[j] as number);
      s1 += (v[p + 1] as number) * (q[j + 1] as number);
      s2 += (v[p + 2] as number) * (q[j + 2] as number);
      s3 += (v[p + 3] as number) * (q[j + 3] as number);
    }
    out[r] = s0 + s1 + s2 + s3;
  }
}

/** Result of {@link measureReadBandwidth}. */
export interface Bandwidth {
  /** Sequential read bandwidth, GB/s (10^9 bytes), the median of the passes. */
  gbPerSec: number;
  /** The best pass, GB/s. */
  bestGbPerSec: number;
  backend: KernelBackend;
  bytes: number;
  passes: number;
}

/**
 * Measures sequential memory read bandwidth by summing a block far larger than the CPU caches
 * `passes` times with the same SIMD loads the scan uses (or plain JavaScript without SIMD).
 */
export function measureReadBandwidth(megabytes = 256, passes = 7): Bandwidth {
  const bytes = Math.max(1, Math.floor(megabytes)) * 2 ** 20;
  const module = wasmModule();
  let run: () => void;
  if (module) {
    const memory = new WebAssembly.Memory({ initial: bytes / PAGE });
    new Float32Array(memory.buffer).fill(1); // touch every page so the passes read real memory
    const { sum } = new WebAssembly.Instance(module, { env: { memory } }).exports as { sum: SumFn };
    run = () => {
      if (!Number.isFinite(sum(0, bytes))) throw new Error("unreachable");
    };
  } else {
    const a = new Float32Array(bytes / 4).fill(1);
    run = () => {
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let i = 0; i < a.length; i += 4) {
        s0 += a[i] as number;
        s1 += a[i + 1] as number;
        s2 += a[i + 2] as number;
        s3 += a[i + 3] as number;
      }
      if (!Number.isFinite(s0 + s1 + s2 + s3)) throw new Error("unreachable");
    };
  }
  run(); // warm up
  const rates: number[] = [];
  for (let i = 0; i < passes; i++) {
    const t = performance.now();
    run();
    rates.push(bytes / ((performance.now() - t) / 1000) / 1e9);
  }
  rates.sort((a, b) => a - b);
  return {
    gbPerSec: rates[Math.floor(rates.length / 2)] as number,
    bestGbPerSec: rates[rates.length - 1] as number,
    backend: module ? "wasm" : "js",
    bytes,
    passes,
  };
}
