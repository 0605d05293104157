/**
 * Telemetry for an agent: is the embedding backend under load, and what to do about it.
 *
 * {@link TelemetryClient.read} reads the workers' `/metrics` directly (their URLs), or through
 * the backend (one event of each SSE stream: the embed worker, parse, the indexer, InferMesh's
 * health; and the backend's own `/health`), and {@link assessLoad} turns the figures into a
 * level and a recommendation. Nothing is made up: a source that does not answer is reported
 * `down` with the error, and a figure a source does not report is null, never 0.
 *
 * Levels, from the worst finding of any source (thresholds in {@link LoadThresholds}):
 *
 * | level | when | recommendation |
 * |---|---|---|
 * | `outage` | a source is down, InferMesh is unhealthy, or a worker retries a fault (`outage_since`) | `wait`: batch × 0.25, timeout × 4, retry after 5 s |
 * | `overloaded` | a worker is paused (back-pressure), lag ≥ 10 000, or an RTT ≥ 1000 ms | `back_off`: batch × 0.25, timeout × 4, retry after 2 s |
 * | `busy` | lag ≥ 1000 or an RTT ≥ 250 ms | `reduce_batch`: batch × 0.5, timeout × 2 |
 * | `ok` | none of these | `proceed` |
 * | `unknown` | every source is up but none reports a load figure | `proceed` |
 *
 * RTTs: the embed worker's last InferMesh round trip (`last_infermesh_rtt_ms`), InferMesh's
 * `/health` round trip (backend stream), and the backend's `/health` round trip as measured here.
 */
import { RateTracker } from "../contracts/rates.ts";
import { STREAM_PATHS, type StreamName } from "../contracts/streams.ts";

export type WorkerSource = "embed-worker" | "parse" | "indexer";
export type SourceName = WorkerSource | "infermesh" | "backend";

/** Load figures of one source; null when the source does not report it. */
export interface SourceFigures {
  /** Round trip to InferMesh (the embed worker's last call, or the backend's health probe), ms. */
  rtt_ms: number | null;
  /** Records behind, as the worker's consumer group says. */
  lag: number | null;
  /** The worker stopped fetching (back-pressure). */
  paused: boolean | null;
  /** Epoch seconds since a fault is being retried; null when none (or not reported). */
  outage_since: number | null;
  in_flight: number | null;
  records_out_per_sec: number | null;
}

export interface SourceReport {
  name: SourceName;
  /** The URL read. */
  url: string;
  status: "up" | "down";
  /** Why it is down. */
  error: string | null;
  /** Round trip of the read itself, ms (null when down). */
  read_ms: number | null;
  figures: SourceFigures;
}

export type LoadLevel = "ok" | "busy" | "overloaded" | "outage" | "unknown";

export interface Recommendation {
  action: "proceed" | "reduce_batch" | "back_off" | "wait";
  /** Multiply the agent's embedding batch size by this. */
  batchScale: number;
  /** Multiply the agent's timeouts for embedding-backed actions by this. */
  timeoutScale: number;
  /** Wait this long before relying on the backend again, ms; null: no need. */
  retryAfterMs: number | null;
  message: string;
}

export interface TelemetryReport {
  /** Epoch seconds. */
  timestamp: number;
  level: LoadLevel;
  /** What led to the level, one line per finding. */
  reasons: string[];
  recommendation: Recommendation;
  sources: SourceReport[];
}

export interface LoadThresholds {
  rttBusyMs: number;
  rttOverloadedMs: number;
  lagBusy: number;
  lagOverloaded: number;
}

export const DEFAULT_THRESHOLDS: LoadThresholds = {
  rttBusyMs: 250,
  rttOverloadedMs: 1000,
  lagBusy: 1000,
  lagOverloaded: 10_000,
};

const RECOMMENDATIONS: Record<LoadLevel, Recommendation> = {
  ok: {
    action: "proceed",
    batchScale: 1,
    timeoutScale: 1,
    retryAfterMs: null,
    message: "the embedding backend keeps up",
  },
  unknown: {
    action: "proceed",
    batchScale: 1,
    timeoutScale: 1,
    retryAfterMs: null,
    message: "the sources answer but report no load figures",
  },
  busy: {
    action: "reduce_batch",
    batchScale: 0.5,
    timeoutScale: 2,
    retryAfterMs: null,
    message: "the embedding backend is busy: use smaller batches and longer timeouts",
  },
  overloaded: {
    action: "back_off",
    batchScale: 0.25,
    timeoutScale: 4,
    retryAfterMs: 2000,
    message: "the embedding backend is overloaded: back off, send small batches, allow long timeouts",
  },
  outage: {
    action: "wait",
    batchScale: 0.25,
    timeoutScale: 4,
    retryAfterMs: 5000,
    message:
      "the embedding backend is down or retrying a fault: wait and retry, or act without fresh embeddings",
  },
};

const RANK: Record<LoadLevel, number> = { unknown: 0, ok: 1, busy: 2, overloaded: 3, outage: 4 };

const NO_FIGURES: SourceFigures = {
  rtt_ms: null,
  lag: null,
  paused: null,
  outage_since: null,
  in_flight: null,
  records_out_per_sec: null,
};

/** The level and recommendation for these source reports (pure; see the module table). */
export function assessLoad(
  sources: readonly SourceReport[],
  thresholds: Partial<LoadThresholds> = {},
): Pick<TelemetryReport, "level" | "reasons" | "recommendation"> {
  const t = { ...DEFAULT_THRESHOLDS, ...thresholds };
  let level: LoadLevel = "unknown";
  const reasons: string[] = [];
  const find = (l: LoadLevel, reason: string) => {
    if (RANK[l] > RANK[level]) level = l;
    reasons.push(reason);
  };
  let anyFigure = false;
  for (const s of sources) {
    if (s.status === "down") {
      find("outage", `${s.name}: down (${s.error ?? "no answer"})`);
      continue;
    }
    const f = s.figures;
    if (Object.values(f).some((v) => v !== null)) anyFigure = true;
    if (f.outage_since !== null)
      find("outage", `${s.name}: retrying a fault since ${new Date(f.outage_since * 1000).toISOString()}`);
    if (f.paused === true) find("overloaded", `${s.name}: paused (back-pressure)`);
    if (f.lag !== null) {
      if (f.lag >= t.lagOverloaded) find("overloaded", `${s.name}: lag ${f.lag} ≥ ${t.lagOverloaded}`);
      else if (f.lag >= t.lagBusy) find("busy", `${s.name}: lag ${f.lag} ≥ ${t.lagBusy}`);
    }
    if (f.rtt_ms !== null) {
      if (f.rtt_ms >= t.rttOverloadedMs)
        find("overloaded", `${s.name}: RTT ${f.rtt_ms} ms ≥ ${t.rttOverloadedMs}`);
      else if (f.rtt_ms >= t.rttBusyMs) find("busy", `${s.name}: RTT ${f.rtt_ms} ms ≥ ${t.rttBusyMs}`);
    }
  }
  if (level === "unknown" && anyFigure) level = "ok";
  return { level, reasons, recommendation: RECOMMENDATIONS[level] };
}

/** The agent's settings scaled by a recommendation (batch at least 1). */
export function adaptSettings(
  settings: { batchSize: number; timeoutMs: number },
  rec: Recommendation,
): { batchSize: number; timeoutMs: number } {
  return {
    batchSize: Math.max(1, Math.floor(settings.batchSize * rec.batchScale)),
    timeoutMs: Math.round(settings.timeoutMs * rec.timeoutScale),
  };
}

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const bool = (v: unknown): boolean | null => (typeof v === "boolean" ? v : null);
const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Load figures of a worker's `/metrics` object (tolerant: figures of another type are null). */
export function workerFigures(
  metrics: Record<string, unknown>,
  recordsOutPerSec: number | null,
): SourceFigures {
  return {
    rtt_ms: num(metrics.last_infermesh_rtt_ms),
    lag: num(metrics.lag),
    paused: bool(metrics.paused),
    outage_since: num(metrics.outage_since),
    in_flight: num(metrics.in_flight),
    records_out_per_sec: recordsOutPerSec,
  };
}

export interface TelemetryOptions {
  /** Workers read directly: base URLs of their `/metrics` (e.g. embed-worker `http://127.0.0.1:9101`). */
  workers?: Partial<Record<WorkerSource, string>>;
  /** The backend (`BACKEND_URL`): its `/health` and the streams of the workers not given in `workers`, and InferMesh. */
  backendUrl?: string;
  /** Sent to the backend as `Authorization: Bearer`. */
  token?: string;
  /** Per read, ms (default 5000). */
  timeoutMs?: number;
  thresholds?: Partial<LoadThresholds>;
  fetch?: (url: string, init?: RequestInit) => Promise<Response>;
}

function describe(err: unknown, timeoutMs: number): string {
  if (err instanceof Error) {
    if (err.name === "TimeoutError" || err.name === "AbortError") return `no answer within ${timeoutMs} ms`;
    const code = (err as { code?: unknown }).code;
    return typeof code === "string" && code !== "" && !err.message.includes(code)
      ? `${code}: ${err.message}`
      : err.message;
  }
  return String(err);
}

/** Reads the telemetry sources; see the module documentation. */
export class TelemetryClient {
  private readonly timeoutMs: number;
  private readonly fetchFn: (url: string, init?: RequestInit) => Promise<Response>;
  private readonly trackers = new Map<string, RateTracker<"records_out">>();
  private readonly backend: string | undefined;

  constructor(private readonly options: TelemetryOptions) {
    this.backend = options.backendUrl?.replace(/\/+$/, "");
    if (!this.backend && Object.keys(options.workers ?? {}).length === 0)
      throw new Error("telemetry needs a backend URL or at least one worker URL");
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.fetchFn = options.fetch ?? ((url, init) => fetch(url, init));
  }

  private headers(accept: string, backend: boolean): Record<string, string> {
    const h: Record<string, string> = { accept };
    if (backend && this.options.token) h.authorization = `Bearer ${this.options.token}`;
    return h;
  }

  private async getJson(url: string, backend: boolean): Promise<{ json: unknown; ms: number }> {
    const started = performance.now();
    const res = await this.fetchFn(url, {
      headers: this.headers("application/json", backend),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error("the answer is not JSON");
    }
    return { json, ms: Math.round((performance.now() - started) * 100) / 100 };
  }

  /** The first `data:` event of an SSE stream, parsed. */
  private async firstEvent(url: string): Promise<{ json: unknown; ms: number }> {
    const started = performance.now();
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(new DOMException("timed out", "TimeoutError")), this.timeoutMs);
    try {
      const res = await this.fetchFn(url, {
        headers: this.headers("text/event-stream", true),
        signal: ctl.signal,
      });
      if (!res.ok || !res.body) {
        await res.body?.cancel().catch(() => {});
        throw new Error(`HTTP ${res.status}`);
      }
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buf = "";
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) throw new Error("the stream ended before an event");
          buf += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
          let end = buf.indexOf("\n\n");
          while (end >= 0) {
            const block = buf.slice(0, end);
            buf = buf.slice(end + 2);
            const data = block
              .split("\n")
              .filter((l) => l.startsWith("data:"))
              .map((l) => l.slice(5).replace(/^ /, ""));
            if (data.length > 0) {
              return {
                json: JSON.parse(data.join("\n")),
                ms: Math.round((performance.now() - started) * 100) / 100,
              };
            }
            end = buf.indexOf("\n\n");
          }
        }
      } finally {
        await reader.cancel().catch(() => {});
      }
    } finally {
      clearTimeout(timer);
    }
  }

  private rate(url: string, metrics: Record<string, unknown>): number | null {
    let t = this.trackers.get(url);
    if (!t) {
      t = new RateTracker(["records_out"] as const);
      this.trackers.set(url, t);
    }
    return t.update(metrics).records_out;
  }

  private down(name: SourceName, url: string, error: string): SourceReport {
    const t = this.trackers.get(url);
    t?.reset();
    return { name, url, status: "down", error, read_ms: null, figures: { ...NO_FIGURES } };
  }

  private async readWorker(name: WorkerSource, base: string): Promise<SourceReport> {
    const url = `${base.replace(/\/+$/, "")}/metrics`;
    try {
      const { json, ms } = await this.getJson(url, false);
      if (!isRecord(json)) throw new Error("the answer is not a JSON object");
      return {
        name,
        url,
        status: "up",
        error: null,
        read_ms: ms,
        figures: workerFigures(json, this.rate(url, json)),
      };
    } catch (err) {
      return this.down(name, url, describe(err, this.timeoutMs));
    }
  }

  private async readStream(name: WorkerSource | "infermesh"): Promise<SourceReport> {
    const url = `${this.backend}${STREAM_PATHS[name as StreamName]}`;
    try {
      const { json, ms } = await this.firstEvent(url);
      if (!isRecord(json)) throw new Error("the event is not a JSON object");
      if (name === "infermesh") {
        const im = isRecord(json.infermesh) ? json.infermesh : {};
        if (im.status !== "healthy") {
          const why = typeof im.error === "string" ? im.error : `status ${String(im.status ?? "unknown")}`;
          return this.down(
            name,
            url,
            `the backend reports InferMesh ${String(im.status ?? "unknown")} (${why})`,
          );
        }
        return {
          name,
          url,
          status: "up",
          error: null,
          read_ms: ms,
          figures: { ...NO_FIGURES, rtt_ms: num(im.rtt_ms), records_out_per_sec: num(json.rows_per_sec) },
        };
      }
      if (typeof json.error === "string") {
        const detail = typeof json.detail === "string" ? `: ${json.detail}` : "";
        return this.down(name, url, `the backend reports it ${json.error}${detail}`);
      }
      const metrics = isRecord(json.metrics) ? json.metrics : {};
      const rates = isRecord(json.rates) ? json.rates : {};
      return {
        name,
        url,
        status: "up",
        error: null,
        read_ms: ms,
        figures: workerFigures(metrics, num(rates.records_out_per_sec)),
      };
    } catch (err) {
      return this.down(name, url, describe(err, this.timeoutMs));
    }
  }

  private async readBackend(): Promise<SourceReport> {
    const url = `${this.backend}/health`;
    try {
      const { ms } = await this.getJson(url, true);
      // The health round trip as this agent sees it is the backend's load figure.
      return {
        name: "backend",
        url,
        status: "up",
        error: null,
        read_ms: ms,
        figures: { ...NO_FIGURES, rtt_ms: ms },
      };
    } catch (err) {
      return this.down("backend", url, describe(err, this.timeoutMs));
    }
  }

  /** Reads every source (in parallel) and assesses the load. */
  async read(): Promise<TelemetryReport> {
    const direct = this.options.workers ?? {};
    const reads: Promise<SourceReport>[] = [];
    if (this.backend) reads.push(this.readBackend());
    for (const name of ["embed-worker", "parse", "indexer"] as const) {
      const base = direct[name];
      if (base) reads.push(this.readWorker(name, base));
      else if (this.backend) reads.push(this.readStream(name));
    }
    if (this.backend) reads.push(this.readStream("infermesh"));
    const sources = await Promise.all(reads);
    return { timestamp: Date.now() / 1000, ...assessLoad(sources, this.options.thresholds), sources };
  }
}
