/**
 * Small hand-made payloads with known numbers for unit tests (the files in fixtures/tui are
 * re-recorded from the real backend, so unit tests do not depend on their exact values).
 */

export const T0S = 1795696000;

/** A worker stream event: `metrics` overrides on top of a plausible embed worker. */
export function workerEvent(over: Record<string, unknown> = {}, rates: Record<string, number | null> = {}) {
  return {
    metrics: {
      started_ts: T0S - 600,
      batches: 290,
      records_in: 18000,
      records_out: 17988,
      dlq_records: 12,
      dlq_by_reason: { invalid_json: 7, empty_text: 4, rejected: 1 },
      retries: 3,
      retries_by_kind: { "process:infermesh": 3 },
      infermesh_failures: 1,
      total_infermesh_calls: 290,
      cache: { size: 1200, hits: 1500, misses: 16500, evictions: 0, expired: 0 },
      paused: false,
      outage_since: null,
      lag: 0,
      last_infermesh_rtt_ms: 2.1,
      model: "glove-100d-sif",
      parquet: { files_written: 2, rows_written: 17988, bytes_written: 7_574_746 },
      ts: T0S,
      ...over,
    },
    rates: {
      records_in_per_sec: 200,
      records_out_per_sec: 199.3,
      batches_per_sec: 3.33,
      dlq_per_sec: 0,
      ...rates,
    },
    timestamp: T0S,
  };
}

export const unreachableWorker = {
  error: "unreachable",
  detail: "GET http://127.0.0.1:9101/metrics: refused",
  timestamp: T0S,
};

export const infermeshEvent = (status = "healthy", rtt = 1.2) => ({
  infermesh: { status, rtt_ms: rtt, http_status: 200 },
  rows_est: 17988,
  rows_per_sec: 199.3,
  timestamp: T0S,
});

export const sparkRunning = {
  status: "running",
  master: "spark://10.0.0.11:7077",
  applications: [{ id: "app-1", name: "parse-job", attempts: [{ completed: false }] }],
  application_id: "app-1",
  executors: [
    { id: "driver", hostPort: "127.0.0.1:41234", totalCores: 0, maxMemory: 100, memoryUsed: 10 },
    { id: "0", hostPort: "10.0.0.12:38911", totalCores: 4, maxMemory: 200, memoryUsed: 20, failedTasks: 1 },
  ],
  jobs: [{ jobId: 3, name: "j", status: "RUNNING" }],
  stages: [{ stageId: 1 }, { stageId: 2 }],
  cluster_metrics: { cores_total: 4, memory_max: 300, memory_used: 30 },
  streaming: { input_rate: 180, processing_rate: 400, batch_duration_ms: 800 },
  timestamp: T0S,
};
