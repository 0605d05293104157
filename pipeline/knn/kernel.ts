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
};

/**
 * `scan(rows, query, n, rowBytes, out)`: for each of `n` rows of `rowBytes` bytes (a multiple
 * of 16) starting at byte `rows`, stores the float32 dot product with the vector at `query` at
 * `out`, `out + 4`, …
 */
function scanFunction(): number[] {
  const [P, Q, N, RB, OUT, R, E16, RE, QP] = [0, 1, 2, 3, 4, 5, 6, 7, 8] as const;
  const A = [9, 10, 11, 12] as const;
  // acc += load(p + off) * load(qp + off)
  const madd = (a: number, off: number) => [
    ...op.get(a),
    ...op.get(P),
    ...op.load(off),
    ...op.get(QP),
    ...op.load(off),
    ...op.f32x4Mul,
    ...op.f32x4Add,
    ...op.set(a),
  ];
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
    // 16 floats per iteration, four accumulators
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
    ...bump(QP, 64),
    ...op.br(0),
    ...op.end,
    ...op.end,
    // the remaining 4, 8 or 12 floats
    ...op.block,
    ...op.loop,
    ...op.get(P),
    ...op.get(RE),
    ...op.geU,
    ...op.brIf(1),
    ...madd(A[0], 0),
    ...bump(P, 16),
    ...bump(QP, 16),
    ...op.br(0),
    ...op.end,
    ...op.end,
    // *out = horizontal sum of (a0 + a1) + (a2 + a3)
    ...op.get(A[0]),
    ...op.get(A[1]),
    ...op.f32x4Add,
    ...op.get(A[2]),
    ...op.get(A[3]),
    ...op.f32x4Add,
    ...op.f32x4Add,
    ...op.set(A[0]),
    ...op.get(OUT),
    ...op.get(A[0]),
    ...op.lane(0),
    ...op.get(A[0]),
    ...op.lane(1),
    ...op.f32Add,
    ...op.get(A[0]),
    ...op.lane(2),
    ...op.get(A[0]),
    ...op.lane(3),
    ...op.f32Add,
    ...op.f32Add,
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
      [...uleb(4), T.v128],
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
  const scan = scanFunction();
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
    ...section(3, vec([[0], [1]])),
    ...section(
      7,
      vec([
        [...name("scan"), 0x00, 0],
        [...name("sum"), 0x00, 1],
      ]),
    ),
    ...section(
      10,
      vec([
        [...uleb(scan.length), ...scan],
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
      if (f[16] !== 10) compiled = null;
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
 * Rows of `stride` float32s in one contiguous block, plus a query slot and a score per row.
 * `vectors`, `query` and `scores` are views that are replaced when the slab is resized.
 */
export class VectorSlab {
  /** All rows (capacity × stride floats); row r starts at r × stride. */
  vectors!: Float32Array;
  /** The query vector the next `scan` uses (stride floats; padding must stay 0). */
  query!: Float32Array;
  /** `scores[r]` = dot(row r, query) after a `scan` covering r. */
  scores!: Float32Array;
  private memory: WebAssembly.Memory | undefined;
  private buffer!: ArrayBuffer;
  private scanFn: ScanFn | undefined;
  private cap = 0;

  constructor(
    readonly backend: KernelBackend,
    readonly stride: number,
    capacity: number,
  ) {
    if (stride <= 0 || stride % 4 !== 0) throw new RangeError(`stride must be a positive multiple of 4`);
    if (backend === "wasm" && !wasmModule()) throw new Error("WebAssembly SIMD is not available here");
    this.allocate(capacity, 0);
  }

  /** Rows the slab can hold without growing. */
  get capacity(): number {
    return this.cap;
  }

  /** Bytes of the block (query, vectors and scores). */
  get bytes(): number {
    return this.buffer.byteLength;
  }

  private static bytesFor(stride: number, capacity: number): number {
    return 4 * (stride + capacity * stride + capacity);
  }

  /**
   * Changes the capacity to `capacity` rows, keeping the first `keepRows` rows. Growing a
   * WebAssembly slab extends its memory in place; anything else copies into a new block.
   */
  resize(capacity: number, keepRows: number): void {
    if (capacity < keepRows) throw new RangeError("capacity below the rows to keep");
    if (capacity === this.cap) return;
    if (this.memory && capacity > this.cap) {
      const need = VectorSlab.bytesFor(this.stride, capacity);
      if (need > MAX_WASM_BYTES)
        throw new RangeError(`a model's vectors cannot exceed 4 GiB (${capacity} rows of ${this.stride})`);
      const pages = Math.ceil(need / PAGE) - this.memory.buffer.byteLength / PAGE;
      if (pages > 0) this.memory.grow(pages);
      this.cap = capacity;
      this.views();
      return;
    }
    this.allocate(capacity, keepRows);
  }

  private allocate(capacity: number, keepRows: number): void {
    const need = VectorSlab.bytesFor(this.stride, capacity);
    const old = this.vectors;
    if (this.backend === "wasm") {
      if (need > MAX_WASM_BYTES)
        throw new RangeError(`a model's vectors cannot exceed 4 GiB (${capacity} rows of ${this.stride})`);
      const module = wasmModule();
      if (!module) throw new Error("WebAssembly SIMD is not available here");
      this.memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(need / PAGE)) });
      const exports = new WebAssembly.Instance(module, { env: { memory: this.memory } }).exports;
      this.scanFn = exports.scan as ScanFn;
    } else {
      this.buffer = new ArrayBuffer(need);
    }
    this.cap = capacity;
    this.views();
    if (old && keepRows > 0) this.vectors.set(old.subarray(0, keepRows * this.stride));
  }

  private views(): void {
    if (this.memory) this.buffer = this.memory.buffer;
    const s = this.stride;
    this.query = new Float32Array(this.buffer, 0, s);
    this.vectors = new Float32Array(this.buffer, 4 * s, this.cap * s);
    this.scores = new Float32Array(this.buffer, 4 * (s + this.cap * s), this.cap);
  }

  /** Sets `scores[r]` = dot(row r, query) for r in [start, start + count). */
  scan(start: number, count: number): void {
    if (count <= 0) return;
    const s = this.stride;
    if (this.scanFn) {
      const rowBytes = 4 * s;
      this.scanFn(rowBytes + start * rowBytes, 0, count, rowBytes, this.scores.byteOffset + 4 * start);
    } else {
      scanJs(this.vectors, this.query, s, start, count, this.scores);
    }
  }
}

/** The JavaScript fallback of `scan`: unrolled by eight, four accumulators (stride % 4 === 0). */
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
