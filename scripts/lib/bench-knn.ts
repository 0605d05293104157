/**
 * Figures of the exact kNN engine on this machine: query latency (p50, p99) for 10k and 100k
 * vectors of 384 dimensions and 1M of 100, the memory it holds, the time one scan would take at
 * the measured memory read bandwidth (the floor for an exact float32 scan), and a naive
 * baseline that does what the reference system did: one Redis GET per candidate, then score.
 */
import Redis from "ioredis";
import { KnnEngine } from "../../pipeline/knn/engine.ts";
import { measureReadBandwidth } from "../../pipeline/knn/kernel.ts";

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
  /** Sizes ÷ 10 and fewer queries: a smoke run of a few seconds. */
  quick?: boolean;
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

const label = (n: number, dim: number): string =>
  `${n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}k` : n} × ${dim}`;

/** A random vector with components uniform in [-1, 1) (the engine normalises it). */
const AGENTS = ["coder", "planner", "tester", "reviewer"];

function randomVector(dim: number, out = new Float32Array(dim)): Float32Array {
  for (let i = 0; i < dim; i++) out[i] = Math.random() * 2 - 1;
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
 * Measures the kNN figures (see the module comment) and returns them; `log` receives progress.
 * Holds one engine at a time (1M × 100 is about 420 MB) and frees it before the next size.
 */
export async function benchKnn(opts: BenchKnnOptions): Promise<KnnFigure[]> {
  const log = opts.log ?? (() => {});
  const quick = opts.quick ?? false;
  const scale = quick ? 10 : 1;
  const cases: Case[] = [
    { n: 10_000 / scale, dim: 384, queries: quick ? 50 : 200, naive: true },
    { n: 100_000 / scale, dim: 384, queries: quick ? 50 : 100, naive: false },
    { n: 1_000_000 / scale, dim: 100, queries: quick ? 20 : 50, naive: false },
  ];
  const figures: KnnFigure[] = [];
  const add = (name: string, value: number, unit: string) => {
    figures.push({ name, value, unit });
    log(`  ${name}: ${value.toFixed(value < 10 ? 2 : 0)} ${unit}`);
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
    const name = label(c.n, c.dim);
    let engine: KnnEngine | undefined = new KnnEngine();
    log(`kNN ${name}: inserting ${c.n} random vectors (${engine.backend} kernel)`);
    const v = new Float32Array(c.dim);
    const started = performance.now();
    for (let i = 0; i < c.n; i++) {
      engine.upsert({
        doc_id: `d${i}`,
        model: "bench",
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
    const queries = Array.from({ length: c.queries }, () => randomVector(c.dim));
    for (let i = 0; i < 5; i++) engine.query({ vector: queries[i % queries.length] as Float32Array, k: K });
    const times: number[] = [];
    const engineTop: string[][] = [];
    for (const q of queries) {
      const t = performance.now();
      const r = engine.query({ vector: q, k: K });
      times.push(performance.now() - t);
      if (engineTop.length < NAIVE_QUERIES) engineTop.push(r.neighbors.map((x) => x.doc_id));
    }
    times.sort((a, b) => a - b);
    const p50 = percentile(times, 50);
    const bytes = c.n * c.dim * 4;
    const bound = (bytes / (bw.bestGbPerSec * 1e9)) * 1000;
    add(`kNN exact p50, ${name} (k=${K})`, p50, "ms");
    add(`kNN exact p99, ${name} (k=${K})`, percentile(times, 99), "ms");
    add(`kNN scan at memory bandwidth (lower bound), ${name}`, bound, "ms");
    add(`kNN engine memory, ${name}`, engine.stats().bytes / 1e6, "MB");
    const filtered: number[] = [];
    for (const q of queries) {
      const t = performance.now();
      engine.query({ vector: q, k: K, filter: { success: true, agent: ["coder", "planner"] } });
      filtered.push(performance.now() - t);
    }
    filtered.sort((a, b) => a - b);
    const fp50 = percentile(filtered, 50);
    add(`kNN filtered p50, ${name} (k=${K}, success=true and 2 of 4 agents: ~1/6 of the rows)`, fp50, "ms");
    add(`kNN filtered / unfiltered p50, ${name}`, fp50 / p50, "×");

    if (c.naive) {
      const naive = await naiveBaseline(opts, engine, queries.slice(0, NAIVE_QUERIES), c, log);
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
  return figures;
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
