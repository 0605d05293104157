/**
 * The backend's HTTP application, independent of the server that runs it:
 * `createBackend(deps, opts).fetch` is a `Bun.serve` fetch handler (tests call it in-process).
 *
 * Endpoints (every error is JSON `{error}`; with a token, every endpoint needs
 * `Authorization: Bearer <token>`):
 * - `GET /health` → `{status: "ok", timestamp}`
 * - `POST /api/knn/query` (JSON) and `GET /api/knn/query?…` → the kNN result
 * - `GET /api/knn/shards` → shard statistics
 * - `POST /api/knn/owner-query` → a router's query to this backend as a shard owner
 * - `GET /api/embed-worker/dlq?limit=N&format=json|ndjson` → `{items, count}` or an NDJSON download
 * - `POST /api/dlq/replay` (JSON `DlqReplayRequest`) → `DlqReplayAnswer`; 403 unless the backend
 *   was started allowing it (`BACKEND_ALLOW_DLQ_REPLAY`), since it writes to Kafka
 * - event streams: `/api/{infermesh,vectorizer,embed-worker,parse,indexer,spark}/stream`
 *
 * Unknown paths answer 404, known paths with another method 405. When Redis (or another
 * upstream) cannot answer, the endpoints that read it answer 503 `{error}` naming it, at once.
 */

import type { DlqReplayAnswer, DlqReplayRequest } from "../contracts/dlq-replay.ts";
import type { KnnResult, ShardStats } from "../contracts/knn.ts";
import { STREAM_PATHS } from "../contracts/streams.ts";
import { bearerMatches, errorResponse, HttpError, json } from "../core/http-edge.ts";
import { createLogger, type Logger } from "../core/log.ts";
import { TransientError } from "../core/retry.ts";
import { DlqReplayError } from "../io/dlq-replay.ts";
import { KnnError } from "../knn/types.ts";
import {
  type BackendKnnQuery,
  dlqFormat,
  dlqLimit,
  knnQueryFromJson,
  knnQueryFromParams,
  type OwnerQuery,
  ownerQueryFromJson,
  parseJsonObject,
  readBodyLimited,
} from "./request.ts";
import { createInfermeshSource, createVectorizerSource, createWorkerSource, nowSec } from "./sources.ts";
import { createSparkSource } from "./spark.ts";
import { type ChannelState, SseChannel, type SseSettings } from "./sse.ts";
import type { FetchFn } from "./upstream.ts";

export type { BackendKnnQuery, OwnerQuery } from "./request.ts";
export type { FetchFn } from "./upstream.ts";

/** Shard statistics of the kNN service (`GET /api/knn/shards`). */
export type KnnShardsInfo = ShardStats;

/** The kNN service as the backend uses it. */
export interface BackendKnn {
  /**
   * Answers a query (one of vector, doc_id, text is set; text is embedded by the service).
   * Rejects with a `KnnError` (400 bad input such as a wrong dimension, 404 unknown doc_id).
   */
  query(q: BackendKnnQuery): Promise<KnnResult>;
  shards(): Promise<KnnShardsInfo>;
  /**
   * A router's query to this backend as one shard owner (`POST /api/knn/owner-query`); absent on
   * a router itself, which answers that endpoint with 404.
   */
  ownerQuery?(q: OwnerQuery): Promise<KnnResult> | KnnResult;
}

/** What the event streams watch. */
export interface BackendSources {
  /** InferMesh base URL (probed at `/health`). */
  infermeshUrl: string;
  /** Metrics base URLs of the workers (`/metrics` is appended), e.g. `http://127.0.0.1:9101`. */
  embedWorkerUrl: string;
  parseUrl: string;
  indexerUrl: string;
  /** Spark's REST API; default `http://127.0.0.1:4041/api/v1`. */
  sparkUiUrl?: string;
  /** Parquet folders by name (an empty path means that output is off). */
  parquetDirs: Record<string, string>;
  /**
   * The folder of `parquetDirs` reported as the vectorizer's `stats`: default `parse_parquet`
   * when present, else the first one.
   */
  vectorizerFolder?: string;
  /** The fetch used for every upstream call (default: the global one). */
  fetch?: FetchFn;
}

/** Everything the backend talks to, injected. */
export interface BackendDeps {
  knn: BackendKnn;
  /** The newest `limit` DLQ entries, newest first. */
  dlqTail(limit: number): Promise<unknown[]>;
  /** Replays DLQ entries (`pipeline/io/dlq-replay.ts`); served only with `allowDlqReplay`. */
  dlqReplay?(req: DlqReplayRequest): Promise<DlqReplayAnswer>;
  sources: BackendSources;
}

export interface BackendOptions {
  /** `BACKEND_TOKEN`: when set, every endpoint needs `Authorization: Bearer <token>` (else 401). */
  token?: string;
  /** Serve `POST /api/dlq/replay` (`BACKEND_ALLOW_DLQ_REPLAY`); default false: 403. */
  allowDlqReplay?: boolean;
  /** Largest request body, bytes (413 beyond); default 1 MiB. */
  maxBodyBytes?: number;
  /** Poll interval of the streams other than Spark, ms; default 3000. */
  pollIntervalMs?: number;
  /** Poll interval of the Spark stream, ms; default 5000. */
  sparkIntervalMs?: number;
  /** Interval of `: ping` comments on the streams, ms; default 15000. */
  heartbeatMs?: number;
  /** Reconnection delay announced to SSE clients (`retry:`), ms; default 3000. */
  retryMs?: number;
  /** Time limit of each upstream call, ms; default 2500. */
  upstreamTimeoutMs?: number;
  /** Default: a logger named "backend". */
  log?: Logger;
}

/** The part of Bun's `Server` the handler uses (idle timeout of streaming requests). */
export interface ServerLike {
  timeout(request: Request, seconds: number): void;
}

export interface Backend {
  /**
   * Answers one request; never rejects. Pass Bun's `server` (the second argument of Bun's
   * fetch handler) so event streams are exempt from the server's idle timeout.
   */
  fetch(req: Request, server?: ServerLike): Promise<Response>;
  /** Ends every event stream and stops the pollers; later requests answer 503. */
  close(): void;
  /** State of each event stream by path (clients, whether its poller runs, polls, last id). */
  streams(): Record<string, ChannelState>;
}

type Handler = (req: Request, url: URL, server?: ServerLike) => Promise<Response> | Response;

const DEFAULT_SPARK_API = "http://127.0.0.1:4041/api/v1";

/** Builds the backend application; nothing is polled until a stream has a client. */
export function createBackend(deps: BackendDeps, opts: BackendOptions = {}): Backend {
  const log = opts.log ?? createLogger("backend");
  const token = opts.token ?? "";
  const maxBodyBytes = opts.maxBodyBytes ?? 1024 * 1024;
  const pollMs = opts.pollIntervalMs ?? 3000;
  const sparkMs = opts.sparkIntervalMs ?? 5000;
  const timeoutMs = opts.upstreamTimeoutMs ?? 2500;
  const fetchFn: FetchFn = deps.sources.fetch ?? ((url, init) => fetch(url, init));
  const settings: SseSettings = {
    retryMs: opts.retryMs ?? 3000,
    heartbeatMs: opts.heartbeatMs ?? 15_000,
    maxQueuedFrames: 256,
    log,
  };
  const src = deps.sources;
  const folders = Object.keys(src.parquetDirs);
  const vectorizerFolder =
    src.vectorizerFolder ??
    (folders.includes("parse_parquet") ? "parse_parquet" : (folders[0] ?? "parse_parquet"));

  const channels: Record<string, SseChannel<unknown>> = {
    [STREAM_PATHS.infermesh]: new SseChannel(
      "infermesh",
      createInfermeshSource(src.infermeshUrl, src.embedWorkerUrl, fetchFn, timeoutMs),
      pollMs,
      settings,
    ),
    [STREAM_PATHS.vectorizer]: new SseChannel(
      "vectorizer",
      createVectorizerSource(src.parquetDirs, vectorizerFolder),
      pollMs,
      settings,
    ),
    [STREAM_PATHS["embed-worker"]]: new SseChannel(
      "embed-worker",
      createWorkerSource(src.embedWorkerUrl, fetchFn, timeoutMs),
      pollMs,
      settings,
    ),
    [STREAM_PATHS.parse]: new SseChannel(
      "parse",
      createWorkerSource(src.parseUrl, fetchFn, timeoutMs),
      pollMs,
      settings,
    ),
    [STREAM_PATHS.indexer]: new SseChannel(
      "indexer",
      createWorkerSource(src.indexerUrl, fetchFn, timeoutMs),
      pollMs,
      settings,
    ),
    [STREAM_PATHS.spark]: new SseChannel(
      "spark",
      createSparkSource({
        apiUrl: src.sparkUiUrl ?? DEFAULT_SPARK_API,
        fetch: fetchFn,
        // A busy driver's REST API can take seconds (its first answers especially); it is polled every 5 s.
        timeoutMs: Math.max(timeoutMs, Math.min(sparkMs - 500, 4500)),
      }),
      sparkMs,
      settings,
    ),
  };

  const knnQuery: Handler = async (req, url) => {
    const q =
      req.method === "POST"
        ? knnQueryFromJson(parseJsonObject(await readBodyLimited(req, maxBodyBytes)))
        : knnQueryFromParams(url.searchParams);
    return json(await deps.knn.query(q));
  };

  const ownerQuery: Handler = async (req) => {
    const q = ownerQueryFromJson(parseJsonObject(await readBodyLimited(req, maxBodyBytes)));
    if (!deps.knn.ownerQuery)
      throw new HttpError(404, "this backend owns no shards (it is a router, or has no Redis index)");
    return json(await deps.knn.ownerQuery(q));
  };

  const dlq: Handler = async (_req, url) => {
    const limit = dlqLimit(url.searchParams);
    const format = dlqFormat(url.searchParams);
    const items = await deps.dlqTail(limit);
    if (format === "json") return json({ items, count: items.length });
    const stamp = new Date()
      .toISOString()
      .replace(/[-:]/g, "")
      .replace(/\.\d+Z$/, "Z");
    return new Response(items.map((i) => `${JSON.stringify(i)}\n`).join(""), {
      headers: {
        "content-type": "application/x-ndjson; charset=utf-8",
        "content-disposition": `attachment; filename="dlq-${stamp}.ndjson"`,
        "cache-control": "no-store",
      },
    });
  };

  const replay: Handler = async (req) => {
    if (!opts.allowDlqReplay || !deps.dlqReplay) {
      throw new HttpError(
        403,
        "DLQ replay is disabled on this backend: start it with BACKEND_ALLOW_DLQ_REPLAY=1 to allow it",
      );
    }
    const body = parseJsonObject(await readBodyLimited(req, maxBodyBytes)) as DlqReplayRequest;
    try {
      return json(await deps.dlqReplay(body));
    } catch (err) {
      if (!(err instanceof DlqReplayError)) throw err;
      const status = { invalid: 400, missing: 404, conflict: 409, unavailable: 503 }[err.kind];
      throw new HttpError(status, err.message);
    }
  };

  /** Handlers by path, then by lower-case method. */
  const routes: Record<string, Partial<Record<string, Handler>>> = {
    "/health": { get: () => json({ status: "ok", timestamp: nowSec() }) },
    "/api/knn/query": { get: knnQuery, post: knnQuery },
    "/api/knn/shards": { get: async () => json(await deps.knn.shards()) },
    "/api/knn/owner-query": { post: ownerQuery },
    "/api/embed-worker/dlq": { get: dlq },
    "/api/dlq/replay": { post: replay },
  };
  for (const [path, channel] of Object.entries(channels)) {
    routes[path] = {
      get: (req, _url, server) => {
        // An open stream is idle between events; the heartbeat keeps it alive, not a timer.
        server?.timeout(req, 0);
        return channel.connect(req);
      },
    };
  }

  let closed = false;

  const handle = async (req: Request, server?: ServerLike): Promise<Response> => {
    if (closed) throw new HttpError(503, "backend is shutting down");
    if (token !== "" && !bearerMatches(req.headers.get("authorization"), token)) {
      throw new HttpError(401, "missing or invalid bearer token", {}, { "www-authenticate": "Bearer" });
    }
    const url = new URL(req.url);
    const route = routes[url.pathname];
    if (!route) throw new HttpError(404, `no such endpoint: ${url.pathname}`);
    const method = req.method.toLowerCase();
    const handler = Object.hasOwn(route, method) ? route[method] : undefined;
    if (!handler) {
      const allow = Object.keys(route)
        .map((m) => m.toUpperCase())
        .join(", ");
      throw new HttpError(
        405,
        `${req.method} is not allowed on ${url.pathname} (allowed: ${allow})`,
        {},
        { allow },
      );
    }
    return await handler(req, url, server);
  };

  return {
    async fetch(req, server) {
      try {
        return await handle(req, server);
      } catch (err) {
        if (err instanceof HttpError) return errorResponse(err);
        if (err instanceof KnnError) return errorResponse(new HttpError(err.status, err.message));
        // A store or service that cannot answer now (Redis down): say so, at once.
        if (err instanceof TransientError)
          return errorResponse(new HttpError(503, err.message, {}, { "retry-after": "5" }));
        log.error("request failed", { method: req.method, path: new URL(req.url).pathname, error: err });
        return errorResponse(new HttpError(500, "internal error"));
      }
    },
    close() {
      closed = true;
      for (const c of Object.values(channels)) c.close();
    },
    streams() {
      return Object.fromEntries(Object.entries(channels).map(([p, c]) => [p, c.state()]));
    },
  };
}
