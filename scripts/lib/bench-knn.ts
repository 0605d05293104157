/**
 * Figures of the kNN engine on this machine:
 * - for random vectors of 384 dimensions (10k and 100k by default; `sizes`, e.g. 1M) and 1M of 100:
 *   exact float32 query latency (p50, p95, p99), the time one scan would take at the measured
 *   memory read bandwidth (the floor for an exact float32 scan), the memory held, the filtered
 *   query; and the int8 prefilter with exact rescoring: its latency (p50, p95), recall@10
 *   against the exact answer for several rescoring factors, and the bytes one query reads
 *   (int8 rows scanned + float32 rows rescored) against the exact scan's;
 * - the same recall and bytes on real model vectors (hash-384, glove-100d-sif and, unless quick,
 *   all-MiniLM-L6-v2-int8) of texts made from the fixtures;
 * - a naive baseline that does what the reference system did: one Redis GET per candidate.
 *
 * Random vectors with independent components are the hardest case for a prefilter (every
 * score is near 0 and the top 10 are close together); model vectors are what the index holds.
 */
import Redis from "ioredis";
import { loadConfig } from "../../pipeline/config.ts";
import { DEFAULT_RESCORE_FACTOR, KnnEngine } from "../../pipeline/knn/engine.ts";
import { measureReadBandwidth } from "../../pipeline/knn/kernel.ts";
import { createEmbedder, MINILM_INT8_MODEL, SIF_MODEL } from "../../pipeline/models/registry.ts";
import { seededRandom } from "../../pipeline/rl/random.ts";
import { corpus } from "./bench-corpus.ts";

/** One measured figure, as `scripts/bench.ts` prints it. */
export interface KnnFigure {
  name: string;
  value: number;
  unit: string;
}

export interface BenchKnnOptions {
  /** Redis for the naive baseline (e.g. redis://127.0.0.1:6379). */
  redisUrl: string;
  /** Prefix of the keys the baseline writes (`<prefix>:<doc_id>`); all removed at the end. */
  keyPrefix: string;
  /** Sizes ÷ 10 and fewer queries, real vectors of hash-384 only: a smoke run of a few seconds. */
  quick?: boolean;
  /** Row counts of the 384-dimensional random cases (default 10k and 100k; 1M takes minutes), ÷ 10 when quick. */
  sizes?: number[];
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

interface Case {
  n: number;
  dim: number;
  queries: number;
  /** Also run the naive Redis baseline on this case. */
  naive: boolean;
}

const K = 10;
const NAIVE_QUERIES = 3;
/** Rescoring factors whose recall is printed (the default's latency too). */
const FACTORS = [1, 2, 4, 8];
const MODEL = "bench";

/** `10k × 384`, `1M × 100`. */
export const sizeLabel = (n: number, dim: number): string =>
  `${n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}k` : n} × ${dim}`;

/** `100k` → 100000, `1M` → 1000000, `2500` → 2500; NaN when it is not one. */
export function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(s.trim());
  if (!m) return Number.NaN;
  const n = Number(m[1]) * (m[2] === "" ? 1 : m[2]?.toLowerCase() === "k" ? 1e3 : 1e6);
  return Number.isInteger(n) && n > 0 ? n : Number.NaN;
}

const AGENTS = ["coder", "planner", "tester", "reviewer"];

/**
 * A random vector with independent standard normal components (Box–Muller; the engine
 * normalises it): uniformly distributed directions, the prefilter's hardest case.
 */
function randomVector(dim: number, out = new Float32Array(dim)): Float32Array {
  for (let i = 0; i < dim; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - Math.random()));
    const t = 2 * Math.PI * Math.random();
    out[i] = r * Math.cos(t);
    if (i + 1 < dim) out[i + 1] = r * Math.sin(t);
  }
  return out;
}

/** The p-th percentile (0..100) of sorted values, nearest rank. */
function percentile(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? Number.NaN;
}

function gc(): void {
  Bun.gc(true);
}

/**
 * `n` texts like the ones the index holds: a fixture text (agent result or paraphrase) cut to a
 * random prefix of 6–40 words, followed by 2–12 words of another fixture text, so that there are
 * clusters of related results with varied wording.
 */
export function realisticTexts(n: number, seed: number): string[] {
  const base = corpus().map((t) => t.split(/\s+/).filter(Boolean));
  const rand = seededRandom(seed);
  const pick = <T>(a: T[]): T => a[Math.floor(rand() * a.length)] as T;
  return Array.from({ length: n }, () => {
    const a = pick(base);
    const b = pick(base);
    const head = a.slice(0, 6 + Math.floor(rand() * 35));
    const from = Math.floor(rand() * Math.max(1, b.length - 2));
    const tail = b.slice(from, from + 2 + Math.floor(rand() * 11));
    return [...head, ...tail].join(" ");
  });
}

/** What one query of the int8 path reads against the exact scan, from the engine's row sizes. */
function bytesRead(engine: KnnEngine, rescored: number): { exact: number; int8: number } {
  const m = engine.stats().by_model[MODEL];
  if (!m) throw new Error("bench: no model in the engine");
  return {
    exact: m.count * m.float32_bytes_per_vector,
    int8: m.count * m.int8_bytes_per_vector + rescored * m.float32_bytes_per_vector,
  };
}

/**
 * Recall@K of the int8 prefilter against the exact answer for each factor in {@link FACTORS},
 * over `queries`, and the mean candidates rescored at each.
 */
function recall(
  engine: KnnEngine,
  queries: ArrayLike<number>[],
): { factor: number; recall: number; rescored: number }[] {
  const exact = queries.map((vector) =>
    engine.query({ vector, k: K, exact: true }).neighbors.map((x) => x.doc_id),
  );
  return FACTORS.map((factor) => {
    let hits = 0;
    let rescored = 0;
    queries.forEach((vector, i) => {
      const r = engine.query({ vector, k: K }, { rescoreFactor: factor });
      const want = new Set(exact[i]);
      hits += r.neighbors.filter((x) => want.has(x.doc_id)).length;
      rescored += r.rescored ?? 0;
    });
    return { factor, recall: hits / (K * queries.length), rescored: rescored / queries.length };
  });
}

/** Latencies (ms, sorted) of `run` over every query, after a few warm-up runs. */
function latencies(queries: Float32Array[], run: (q: Float32Array) => void): number[] {
  for (let i = 0; i < Math.min(5, queries.length); i++) run(queries[i] as Float32Array);
  const times = queries.map((q) => {
    const t = performance.now();
    run(q);
    return performance.now() - t;
  });
  return times.sort((a, b) => a - b);
}

/**
 * Measures the kNN figures (see the module comment) and returns them; `log` receives progress.
 * Holds one engine at a time (1M × 384 with its int8 copy is about 2.2 GB) and frees it before
 * the next size.
 */
export async function benchKnn(opts: BenchKnnOptions): Promise<KnnFigure[]> {
  const log = opts.log ?? (() => {});
  const quick = opts.quick ?? false;
  const scale = quick ? 10 : 1;
  const sizes = (opts.sizes ?? [10_000, 100_000]).map((n) => Math.max(100, Math.round(n / scale)));
  const smallest = Math.min(...sizes);
  const cases: Case[] = [
    ...sizes.map((n) => ({
      n,
      dim: 384,
      queries: quick ? 50 : n >= 1e6 ? 40 : n >= 1e5 ? 100 : 200,
      naive: n === smallest,
    })),
    { n: 1_000_000 / scale, dim: 100, queries: quick ? 20 : 50, naive: false },
  ];
  const figures: KnnFigure[] = [];
  const add = (name: string, value: number, unit: string) => {
    figures.push({ name, value, unit });
    log(`  ${name}: ${value.toFixed(value < 1 ? 3 : value < 10 ? 2 : 0)} ${unit}`);
  };

  const bwMb = quick ? 64 : 256;
  log(`kNN: measuring memory read bandwidth (sum of ${bwMb} MB, SIMD, one core)`);
  const bw = measureReadBandwidth(bwMb, quick ? 3 : 9);
  // The floor uses the best pass: the fastest the memory was seen to deliver.
  add(
    `memory read bandwidth (${bw.backend} sum of ${bwMb} MB, one core, best of ${bw.passes})`,
    bw.bestGbPerSec,
    "GB/s",
  );
  add(`memory read bandwidth (median of ${bw.passes})`, bw.gbPerSec, "GB/s");
  gc();

  for (const c of cases) {
    const name = sizeLabel(c.n, c.dim);
    let engine: KnnEngine | undefined = new KnnEngine({ quantized: true });
    log(
      `kNN ${name}: inserting ${c.n} Gaussian random vectors (${engine.backend} kernel, with the int8 copy)`,
    );
    const v = new Float32Array(c.dim);
    const started = performance.now();
    for (let i = 0; i < c.n; i++) {
      engine.upsert({
        doc_id: `d${i}`,
        model: MODEL,
        vector: randomVector(c.dim, v),
        topic: null,
        text: "",
        shard: i % 8,
        // Labels as the pipeline stores them: a filter on success keeps about a third.
        labels: { agent: AGENTS[i % AGENTS.length] as string, status: i % 3 === 0 ? "passed" : "failed" },
        success: i % 3 === 0,
      });
    }
    log(
      `kNN ${name}: inserted in ${((performance.now() - started) / 1000).toFixed(1)} s; ${c.queries} queries, k=${K}`,
    );
    const eng = engine;
    const queries = Array.from({ length: c.queries }, () => randomVector(c.dim));
    const engineTop = queries
      .slice(0, NAIVE_QUERIES)
      .map((q) => eng.query({ vector: q, k: K, exact: true }).neighbors.map((x) => x.doc_id));
    const exact = latencies(queries, (q) => eng.query({ vector: q, k: K, exact: true }));
    const p50 = percentile(exact, 50);
    const bound = ((c.n * c.dim * 4) / (bw.bestGbPerSec * 1e9)) * 1000;
    add(`kNN exact p50, ${name} (k=${K})`, p50, "ms");
    add(`kNN exact p95, ${name} (k=${K})`, percentile(exact, 95), "ms");
    add(`kNN exact p99, ${name} (k=${K})`, percentile(exact, 99), "ms");
    add(`kNN scan at memory bandwidth (lower bound), ${name}`, bound, "ms");
    const stats = eng.stats();
    add(`kNN engine memory, ${name} (float32 + int8 copy + bookkeeping)`, stats.bytes / 1e6, "MB");
    const m = stats.by_model[MODEL];
    if (m) {
      add(`kNN bytes per vector, ${name}: float32 row`, m.float32_bytes_per_vector, "B");
      add(`kNN bytes per vector, ${name}: int8 copy`, m.int8_bytes_per_vector, "B");
    }
    const filtered = latencies(queries, (q) =>
      eng.query({ vector: q, k: K, exact: true, filter: { success: true, agent: ["coder", "planner"] } }),
    );
    const fp50 = percentile(filtered, 50);
    add(`kNN filtered p50, ${name} (k=${K}, success=true and 2 of 4 agents: ~1/6 of the rows)`, fp50, "ms");
    add(`kNN filtered / unfiltered p50, ${name}`, fp50 / p50, "×");

    const int8 = latencies(queries, (q) => eng.query({ vector: q, k: K }));
    const i50 = percentile(int8, 50);
    const f = DEFAULT_RESCORE_FACTOR;
    add(`kNN int8 + rescore p50, ${name} (k=${K}, ${K * f} candidates)`, i50, "ms");
    add(`kNN int8 + rescore p95, ${name}`, percentile(int8, 95), "ms");
    add(`kNN exact / int8 p50, ${name}`, p50 / i50, "×");
    addRecall(add, name, "random", eng, queries);

    if (c.naive) {
      const naive = await naiveBaseline(opts, eng, queries.slice(0, NAIVE_QUERIES), c, log);
      naive.top.forEach((top, i) => {
        const same = top.join() === engineTop[i]?.join();
        if (!same) log(`kNN naive query ${i}: top ${K} differs from the engine's (float rounding at a tie?)`);
      });
      add(`naive kNN p50, ${name} (one Redis GET per candidate, ${NAIVE_QUERIES} queries)`, naive.p50, "ms");
      add(`kNN speed-up over the naive baseline, ${name}`, naive.p50 / p50, "×");
    }
    engine = undefined;
    gc();
  }

  await realVectors(add, quick, log);
  return figures;
}

/** Recall@K at each factor, and the bytes read per query against the exact scan's. */
function addRecall(
  add: (name: string, value: number, unit: string) => void,
  name: string,
  what: string,
  engine: KnnEngine,
  queries: ArrayLike<number>[],
): void {
  for (const r of recall(engine, queries)) {
    const tag = r.factor === DEFAULT_RESCORE_FACTOR ? ", the default" : "";
    add(
      `kNN int8 recall@${K}, ${name} ${what}, ${K * r.factor} candidates (factor ${r.factor}${tag})`,
      r.recall,
      "",
    );
    if (r.factor === DEFAULT_RESCORE_FACTOR) {
      const b = bytesRead(engine, r.rescored);
      add(`kNN bytes read per query, ${name} ${what}: exact float32 scan`, b.exact / 1e6, "MB");
      add(`kNN bytes read per query, ${name} ${what}: int8 scan + rescoring`, b.int8 / 1e6, "MB");
      add(`kNN bytes read, exact / int8, ${name} ${what}`, b.exact / b.int8, "×");
    }
  }
}

/**
 * Recall and bytes read on the vectors of real models: texts made from the fixtures
 * ({@link realisticTexts}), embedded in this process; queries are other such texts.
 */
async function realVectors(
  add: (name: string, value: number, unit: string) => void,
  quick: boolean,
  log: (line: string) => void,
): Promise<void> {
  const cacheDir = loadConfig().local.cacheDir;
  const models: { model: string; n: number }[] = [
    { model: "hash-384", n: quick ? 10_000 : 100_000 },
    ...(quick
      ? []
      : [
          { model: SIF_MODEL, n: 100_000 },
          { model: MINILM_INT8_MODEL, n: 2_000 },
        ]),
  ];
  for (const { model, n } of models) {
    const embedder = await createEmbedder(model, { cacheDir, maxBatch: 32 });
    const texts = realisticTexts(n, 1);
    const queryTexts = realisticTexts(quick ? 50 : 100, 2);
    log(`kNN ${model}: embedding ${n} texts made from the fixtures`);
    const started = performance.now();
    const engine = new KnnEngine({ quantized: true });
    for (let i = 0; i < n; i += 256) {
      const vectors = await embedder.embed(texts.slice(i, i + 256));
      for (const [j, vector] of vectors.entries())
        engine.upsert({ doc_id: `r${i + j}`, model: MODEL, vector, topic: null, text: "", shard: 0 });
    }
    const queries = await embedder.embed(queryTexts);
    log(`kNN ${model}: embedded in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    addRecall(add, sizeLabel(n, embedder.dim), model, engine, queries);
    (embedder as { close?: () => Promise<void> | void }).close?.();
    gc();
  }
}

/**
 * The reference system's way: every candidate's vector fetched from Redis with its own GET
 * (a JSON `{vector: [...]}` per doc_id), parsed and scored, then the top k kept.
 */
async function naiveBaseline(
  opts: BenchKnnOptions,
  engine: KnnEngine,
  queries: Float32Array[],
  c: Case,
  log: (line: string) => void,
): Promise<{ p50: number; top: string[][] }> {
  const redis = new Redis(opts.redisUrl, { maxRetriesPerRequest: 3 });
  const key = (id: string) => `${opts.keyPrefix}:${id}`;
  const ids = Array.from({ length: c.n }, (_, i) => `d${i}`);
  try {
    log(`kNN naive: writing ${c.n} keys under ${opts.keyPrefix}:* (pipelined SET)`);
    for (let i = 0; i < ids.length; i += 1000) {
      const p = redis.pipeline();
      for (const id of ids.slice(i, i + 1000)) {
        const stored = engine.get(id);
        if (!stored) throw new Error(`bench: ${id} missing from the engine`);
        p.set(key(id), JSON.stringify({ vector: Array.from(stored.vector) }));
      }
      await p.exec();
    }
    const times: number[] = [];
    const top: string[][] = [];
    for (const [qi, q] of queries.entries()) {
      log(`kNN naive: query ${qi + 1}/${queries.length} (${c.n} GETs)`);
      const t = performance.now();
      let qn = 0;
      for (let j = 0; j < q.length; j++) qn += (q[j] as number) ** 2;
      qn = Math.sqrt(qn);
      const scored: { id: string; score: number }[] = [];
      for (const id of ids) {
        const raw = await redis.get(key(id));
        if (raw === null) continue;
        const vector = (JSON.parse(raw) as { vector: number[] }).vector;
        let dot = 0;
        let vn = 0;
        for (let j = 0; j < vector.length; j++) {
          const x = vector[j] as number;
          dot += x * (q[j] as number);
          vn += x * x;
        }
        scored.push({ id, score: vn === 0 || qn === 0 ? 0 : dot / Math.sqrt(vn) / qn });
      }
      scored.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
      top.push(scored.slice(0, K).map((s) => s.id));
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    return { p50: percentile(times, 50), top };
  } finally {
    log(`kNN naive: removing the ${c.n} keys`);
    try {
      for (let i = 0; i < ids.length; i += 1000) {
        const p = redis.pipeline();
        for (const id of ids.slice(i, i + 1000)) p.unlink(key(id));
        await p.exec();
      }
    } catch (err) {
      log(`kNN naive: could not remove the keys under ${opts.keyPrefix}:* (${(err as Error).message})`);
    }
    redis.disconnect();
  }
}
