/**
 * The backend's kNN API over HTTP, for the RL helpers: `POST /api/knn/query` and
 * `GET /api/knn/shards`, typed with `pipeline/contracts/knn.ts`. Every failure is a
 * {@link KnnClientError} saying what happened (unreachable, timed out, refused with a status
 * and the backend's message, or an answer of the wrong shape); nothing is retried or made up.
 */
import type { KnnFilter, KnnQuery, KnnResult, Neighbor, ShardStats } from "../contracts/knn.ts";

/** A kNN request as the backend takes it: the engine's query, or a `text` it embeds first. */
export type KnnRequest = KnnQuery & { text?: string };

/** What a query is about: a text (embedded by the backend), a vector, or an indexed doc_id. */
export type KnnContext = { text: string } | { vector: ArrayLike<number> } | { doc_id: string };

export type KnnFailure = "unreachable" | "timeout" | "http" | "invalid_response";

/** A request that did not give an answer. */
export class KnnClientError extends Error {
  constructor(
    message: string,
    readonly kind: KnnFailure,
    /** HTTP status when the backend answered. */
    readonly status: number | null = null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "KnnClientError";
  }

  /** Worth trying again later: unreachable, timed out, 429 or 5xx (503: InferMesh or Redis down). */
  get retryable(): boolean {
    return (
      this.kind === "unreachable" ||
      this.kind === "timeout" ||
      (this.status !== null && (this.status === 429 || this.status >= 500))
    );
  }
}

export interface KnnClientOptions {
  /** The backend, e.g. `http://127.0.0.1:8080` (`BACKEND_URL`). */
  baseUrl: string;
  /** Sent as `Authorization: Bearer` (`BACKEND_TOKEN`). */
  token?: string;
  /** Per request, ms (default 10 000). */
  timeoutMs?: number;
  fetch?: (url: string, init?: RequestInit) => Promise<Response>;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The request's JSON body: typed arrays become plain arrays, absent fields stay absent. */
export function knnBody(req: KnnRequest): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(req)) {
    if (value === undefined) continue;
    body[key] = key === "vector" ? Array.from(value as ArrayLike<number>) : value;
  }
  return body;
}

/** A client of one backend. */
export class KnnClient {
  readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly fetchFn: (url: string, init?: RequestInit) => Promise<Response>;

  constructor(private readonly options: KnnClientOptions) {
    if (!/^https?:\/\//.test(options.baseUrl))
      throw new Error(
        `backend URL must start with http:// or https://, got ${JSON.stringify(options.baseUrl)}`,
      );
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.fetchFn = options.fetch ?? ((url, init) => fetch(url, init));
  }

  private async request(
    method: "GET" | "POST",
    path: string,
    body?: unknown,
    signal?: AbortSignal,
  ): Promise<unknown> {
    const url = `${this.baseUrl}${path}`;
    const headers: Record<string, string> = { accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    const timeout = AbortSignal.timeout(this.timeoutMs);
    let res: Response;
    try {
      res = await this.fetchFn(url, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      if (timeout.aborted)
        throw new KnnClientError(`${method} ${url}: no answer within ${this.timeoutMs} ms`, "timeout", null, {
          cause: err,
        });
      if (signal?.aborted) throw err;
      throw new KnnClientError(
        `${method} ${url}: backend unreachable (${(err as Error).message})`,
        "unreachable",
        null,
        {
          cause: err,
        },
      );
    }
    let payload: unknown;
    const text = await res.text();
    try {
      payload = JSON.parse(text);
    } catch {
      payload = undefined;
    }
    if (!res.ok) {
      const detail =
        isRecord(payload) && typeof payload.error === "string" ? payload.error : text.slice(0, 200);
      throw new KnnClientError(`${method} ${url}: HTTP ${res.status}: ${detail}`, "http", res.status);
    }
    if (payload === undefined)
      throw new KnnClientError(`${method} ${url}: the answer is not JSON`, "invalid_response", res.status);
    return payload;
  }

  /** `POST /api/knn/query`: the `k` nearest documents (filtered by `filter` when given). */
  async query(req: KnnRequest, signal?: AbortSignal): Promise<KnnResult> {
    const json = await this.request("POST", "/api/knn/query", knnBody(req), signal);
    if (!isRecord(json) || !Array.isArray(json.neighbors))
      throw new KnnClientError(
        `POST ${this.baseUrl}/api/knn/query: no "neighbors" in the answer`,
        "invalid_response",
        200,
      );
    const neighbors = json.neighbors.map(neighborOf);
    return {
      neighbors,
      count_scored: typeof json.count_scored === "number" ? json.count_scored : neighbors.length,
      took_ms: typeof json.took_ms === "number" ? json.took_ms : 0,
      model: typeof json.model === "string" ? json.model : (neighbors[0]?.model ?? ""),
    };
  }

  /** A query about a context ({@link KnnContext}) with `k`, an optional filter and model. */
  nearest(context: KnnContext, k: number, filter?: KnnFilter, model?: string): Promise<KnnResult> {
    return this.query({ ...context, k, ...(filter ? { filter } : {}), ...(model ? { model } : {}) });
  }

  /** `GET /api/knn/shards`. */
  async shards(): Promise<ShardStats> {
    const json = await this.request("GET", "/api/knn/shards");
    if (!isRecord(json) || !Array.isArray(json.shards))
      throw new KnnClientError(
        `GET ${this.baseUrl}/api/knn/shards: no "shards" in the answer`,
        "invalid_response",
        200,
      );
    return json as unknown as ShardStats;
  }
}

/** A neighbour of an answer, with the defaults of older backends (no labels, success). */
function neighborOf(n: unknown): Neighbor {
  const r = isRecord(n) ? n : {};
  return {
    doc_id: String(r.doc_id ?? ""),
    score: typeof r.score === "number" ? r.score : Number.NaN,
    model: typeof r.model === "string" ? r.model : "",
    topic: typeof r.topic === "string" ? r.topic : null,
    text: typeof r.text === "string" ? r.text : "",
    labels: isRecord(r.labels) ? (r.labels as Neighbor["labels"]) : {},
    success: typeof r.success === "boolean" ? r.success : null,
  };
}
