/**
 * The console's cost: `bun tui/main.tsx` in an 80×24 tmux pane, connected to a backend that
 * streams every source at the production intervals (3 s, Spark 5 s) from counters that move,
 * measured from /proc over `seconds` (CPU as % of one core, resident memory).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { $ } from "zx";
import { createBackend } from "../../pipeline/backend/app.ts";

export interface TuiFigure {
  name: string;
  value: number;
  unit: string;
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const TICKS = 100;

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / TICKS; // utime + stime
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1] ?? Number.NaN) / 1024;
}

export async function benchTui({ seconds = 60 } = {}): Promise<TuiFigure[]> {
  let n = 0;
  const metrics = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      if (new URL(req.url).pathname === "/health") return Response.json({ status: "ok" });
      n++;
      return Response.json({
        started_ts: 1,
        batches: n * 10,
        records_in: n * 640,
        records_out: n * 640,
        dlq_records: n,
        dlq_by_reason: { empty_text: n },
        last_infermesh_rtt_ms: 3 + (n % 7),
        cache: { size: n * 90, hits: n * 100, misses: n * 540, evictions: 0, expired: 0 },
        lag: n % 50,
        paused: false,
        assigned_partitions: 3,
      });
    },
  });
  const base = `http://127.0.0.1:${metrics.port}`;
  const backend = createBackend({
    knn: {
      query: async () => ({ neighbors: [], count_scored: 0, took_ms: 0, model: "none" }),
      shards: async () => ({
        shards: Array.from({ length: 32 }, (_, id) => ({ id, count: 600 + id, samples: [`doc-${id}`] })),
        total_ids: 20_000,
        nonempty: 32,
        dims_by_model: { "glove-100d-sif": 100 },
        memory: { index_bytes: 20e6, index_vectors: 20_000 },
      }),
    },
    dlqTail: async (limit) =>
      Array.from({ length: Math.min(limit, 50) }, (_, i) => ({
        stage: "parse",
        reason: "empty_text",
        doc_id: `d${i}`,
        ts: Date.now() / 1000,
      })),
    sources: { infermeshUrl: base, embedWorkerUrl: base, parseUrl: base, indexerUrl: base, parquetDirs: {} },
  });
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req, srv) => backend.fetch(req, srv) });
  const socket = `rl-embeddings-bench-${process.pid}`;
  const root = join(import.meta.dir, "..", "..");
  try {
    const cmd = `cd ${root} && BACKEND_URL=http://127.0.0.1:${server.port} exec ${process.execPath} tui/main.tsx`;
    await $`tmux -L ${socket} new-session -d -s bench -x 80 -y 24 ${cmd}`;
    const pid = Number((await $`tmux -L ${socket} display -p -t bench ${"#{pane_pid}"}`).stdout.trim());
    await Bun.sleep(5000); // connected and streaming
    const cpu0 = cpuSeconds(pid);
    const t0 = performance.now();
    let peak = 0;
    while (performance.now() - t0 < seconds * 1000) {
      await Bun.sleep(1000);
      peak = Math.max(peak, rssMb(pid));
    }
    const wall = (performance.now() - t0) / 1000;
    const cpu = ((cpuSeconds(pid) - cpu0) / wall) * 100;
    return [
      {
        name: `console CPU over ${seconds} s of live streaming (80×24, every stream)`,
        value: cpu,
        unit: "% of one core",
      },
      { name: "console resident memory (peak)", value: peak, unit: "MB" },
      { name: "console resident memory (end)", value: rssMb(pid), unit: "MB" },
    ];
  } finally {
    await $`tmux -L ${socket} kill-server`.nothrow().quiet();
    backend.close();
    server.stop(true);
    metrics.stop(true);
  }
}
