/**
 * SSE fan-out: N `eventsource` clients on one backend stream. The backend runs in this
 * process (its real app and SSE hub) against a local metrics endpoint polled every
 * `intervalMs`; the figures are events/s delivered to all clients and the process's CPU.
 */
import { EventSource } from "eventsource";
import { createBackend } from "../../pipeline/backend/app.ts";

export interface SseFigure {
  name: string;
  value: number;
  unit: string;
}

export async function benchSse({ clients = 50, seconds = 10, intervalMs = 100 } = {}): Promise<SseFigure[]> {
  let n = 0;
  const upstream = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: () =>
      Response.json({ records_in: ++n * 64, records_out: n * 64, batches: n, dlq_records: 0, started_ts: 1 }),
  });
  const base = `http://127.0.0.1:${upstream.port}`;
  const backend = createBackend(
    {
      knn: {
        query: async () => ({ neighbors: [], count_scored: 0, took_ms: 0, model: "none" }),
        shards: async () => ({ shards: [], total_ids: 0, nonempty: 0, dims_by_model: {}, memory: {} }),
      },
      dlqTail: async () => [],
      sources: {
        infermeshUrl: base,
        embedWorkerUrl: base,
        parseUrl: base,
        indexerUrl: base,
        parquetDirs: {},
      },
    },
    { pollIntervalMs: intervalMs },
  );
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req, srv) => backend.fetch(req, srv) });
  let received = 0;
  const sources = Array.from({ length: clients }, () => {
    const es = new EventSource(`http://127.0.0.1:${server.port}/api/embed-worker/stream`);
    es.onmessage = () => {
      received++;
    };
    return es;
  });
  try {
    while (received < clients) await Bun.sleep(20); // every client connected and served once
    const startCount = received;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await Bun.sleep(seconds * 1000);
    const wall = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const events = received - startCount;
    return [
      {
        name: `SSE fan-out events/s delivered, ${clients} clients, one poll every ${intervalMs} ms`,
        value: events / wall,
        unit: "events/s",
      },
      {
        name: `SSE fan-out CPU (backend + ${clients} clients in one process)`,
        value: ((cpu.user + cpu.system) / 1e6 / wall) * 100,
        unit: "% of one core",
      },
    ];
  } finally {
    for (const es of sources) es.close();
    backend.close();
    server.stop(true);
    upstream.stop(true);
  }
}
