/**
 * The project's InferMesh-compatible embedding server (Bun.serve):
 * - `GET /health` → 200 `{status: "ok", models, dim_by_model, normalized_by_model}` once the
 *   models are loaded; 503 `{status: "loading"}` before, 503 `{status: "error", error}` if
 *   loading failed.
 * - `POST /embed` `{model?, inputs: string[]}` (or `{input: string}`) →
 *   `{vectors: number[][], model, dim, normalized}`; no model means the first one served.
 *   Components are the model's float32 values, exactly (as JSON numbers).
 * - `GET /metrics` → {@link InfermeshMetricsSnapshot} plus `status`.
 *
 * With an API key set, `/embed` needs `Authorization: Bearer <key>` (401 otherwise); `/health`
 * and `/metrics` stay open for probes and carry no data. Every error is JSON `{error, ...}`.
 */
import type { Server } from "bun";
import { bearerMatches, errorResponse, HttpError, json } from "../core/http-edge.ts";
import type { Embedder } from "../models/embedder.ts";
import { type EmbedLimits, parseEmbedRequest, readBodyLimited } from "./embed-request.ts";
import { InfermeshMetrics } from "./metrics.ts";

export interface InfermeshServerOptions extends EmbedLimits {
  host: string;
  /** 0 picks a free port (see `server.port`). */
  port: number;
  /** Bearer token required by /embed; empty = no authentication. */
  apiKey: string;
  /** Where unexpected failures are reported (never tokens or request contents); default stderr. */
  log?: (message: string) => void;
}

export type InfermeshServer = Server<undefined>;

type ModelState =
  | { status: "loading" }
  | { status: "ok"; byName: Map<string, Embedder>; first: Embedder; dimByModel: Record<string, number> }
  | { status: "error"; error: string };

const ROUTES: Record<string, string> = { "/health": "GET", "/embed": "POST", "/metrics": "GET" };

/**
 * Starts the server on `opts.host:opts.port` with the given models, or with a promise of them
 * (the port is then taken at once and /health answers 503 "loading" until they arrive).
 */
export function createInfermeshServer(
  opts: InfermeshServerOptions,
  models: Embedder[] | Promise<Embedder[]>,
): InfermeshServer {
  const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const metrics = new InfermeshMetrics();
  let state: ModelState = { status: "loading" };
  const ready = (list: Embedder[]) => {
    const first = list[0];
    if (!first) {
      state = { status: "error", error: "no models to serve" };
      return;
    }
    const byName = new Map(list.map((m) => [m.name, m]));
    state = { status: "ok", byName, first, dimByModel: Object.fromEntries(list.map((m) => [m.name, m.dim])) };
  };
  if (Array.isArray(models)) ready(models);
  else
    models.then(ready, (err: unknown) => {
      state = { status: "error", error: err instanceof Error ? err.message : String(err) };
      log(`infermesh: loading models failed: ${state.error}`);
    });

  const health = (): Response => {
    if (state.status === "ok") {
      const list = [...state.byName.values()];
      return json({
        status: "ok",
        models: list.map((m) => m.name),
        dim_by_model: state.dimByModel,
        normalized_by_model: Object.fromEntries(list.map((m) => [m.name, m.normalized])),
      });
    }
    return json(state, 503);
  };

  const embed = async (req: Request): Promise<Response> => {
    if (opts.apiKey && !bearerMatches(req.headers.get("authorization"), opts.apiKey)) {
      throw new HttpError(401, "missing or wrong bearer token", {}, { "www-authenticate": "Bearer" });
    }
    const body = await readBodyLimited(req, opts.maxBodyBytes);
    const request = parseEmbedRequest(body, opts);
    if (state.status !== "ok") {
      const message = state.status === "loading" ? "models are still loading" : state.error;
      throw new HttpError(503, message, {}, { "retry-after": "5" });
    }
    const model = request.model === undefined ? state.first : state.byName.get(request.model);
    if (!model) {
      throw new HttpError(400, `unknown model ${JSON.stringify(request.model)}`, {
        models: [...state.byName.keys()],
      });
    }
    const started = performance.now();
    const vectors = await model.embed(request.inputs);
    const ms = performance.now() - started;
    if (vectors.length !== request.inputs.length || vectors.some((v) => v.length !== model.dim)) {
      throw new Error(
        `model ${model.name} returned ${vectors.length} vectors for ${request.inputs.length} inputs`,
      );
    }
    metrics.recordBatch(model.name, request.inputs.length, ms);
    return json({
      vectors: vectors.map((v) => Array.from(v)),
      model: model.name,
      dim: model.dim,
      normalized: model.normalized,
    });
  };

  const route = async (req: Request): Promise<Response> => {
    const path = new URL(req.url).pathname;
    const method = ROUTES[path];
    if (!method) throw new HttpError(404, `no route ${path}; try GET /health, POST /embed, GET /metrics`);
    if (req.method !== method && !(method === "GET" && req.method === "HEAD")) {
      throw new HttpError(405, `${path} answers ${method} only`, {}, { allow: method });
    }
    if (path === "/health") return health();
    if (path === "/metrics") {
      const dims = state.status === "ok" ? state.dimByModel : {};
      return json({ status: state.status, ...metrics.snapshot(dims) });
    }
    return embed(req);
  };

  return Bun.serve({
    hostname: opts.host,
    port: opts.port,
    development: false,
    // The limit is enforced in readBodyLimited, which answers JSON; Bun's own 413 has no body.
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    async fetch(req) {
      let res: Response;
      try {
        res = await route(req);
      } catch (err) {
        if (err instanceof HttpError) res = errorResponse(err);
        else {
          log(`infermesh: ${req.method} ${new URL(req.url).pathname} failed: ${(err as Error).stack ?? err}`);
          res = json({ error: "internal error" }, 500);
        }
      }
      metrics.recordResponse(res.status);
      return res;
    },
  });
}
