/**
 * The project's InferMesh-compatible embedding server (Bun.serve):
 * - `GET /health` → 200 `{status: "ok", models, dim_by_model, normalized_by_model}` once the
 *   models are loaded; 503 `{status: "loading"}` before, 503 `{status: "error", error}` if
 *   loading failed.
 * - `POST /embed` `{model?, inputs: string[]}` (or `{input: string}`) →
 *   `{vectors: number[][], model, dim, normalized}`; no model means the first one served.
 *   Components are the model's float32 values, exactly: each the shortest decimal that reads
 *   back as that float32 (`contracts/vector-json.ts`), in every protocol below too.
 * - `GET /metrics` → {@link InfermeshMetricsSnapshot} plus `status`.
 *
 * The protocols other clients speak, on their own paths so that `/embed` keeps its answer:
 * - Hugging Face text-embeddings-inference under `/tei`: `POST /tei/embed {inputs: string |
 *   string[]}` → `number[][]` (the default model), `GET /tei/info`, `GET /tei/health`; a TEI
 *   client takes `http://host:port/tei` as its base URL;
 * - OpenAI: `POST /v1/embeddings {input, model, encoding_format?}` → `{object: "list", data:
 *   [{object: "embedding", index, embedding}], model, usage}` (`embedding` is base64 of
 *   little-endian float32 when asked), and `GET /v1/models`; base URL `http://host:port/v1`.
 *
 * With an API key set, the embedding endpoints need `Authorization: Bearer <key>` (401
 * otherwise); `/health`, `/metrics` and the info endpoints stay open for probes and carry no
 * data. Every error is JSON `{error, ...}`.
 */
import type { Server } from "bun";
import { float32JsonBytes, float32JsonListBytes, jsonWithRawField } from "../contracts/vector-json.ts";
import { bearerMatches, errorResponse, HttpError, json, jsonText } from "../core/http-edge.ts";
import type { Embedder } from "../models/embedder.ts";
import {
  type EmbedLimits,
  parseEmbedRequest,
  parseOpenAiRequest,
  parseTeiRequest,
  readBodyLimited,
} from "./embed-request.ts";
import { InfermeshMetrics } from "./metrics.ts";

export interface InfermeshServerOptions extends EmbedLimits {
  host: string;
  /** 0 picks a free port (see `server.port`). */
  port: number;
  /** Share the port with other processes that set it too (SO_REUSEPORT); default false. */
  reusePort?: boolean;
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

const ROUTES: Record<string, string> = {
  "/health": "GET",
  "/embed": "POST",
  "/metrics": "GET",
  "/tei/embed": "POST",
  "/tei/info": "GET",
  "/tei/health": "GET",
  "/v1/embeddings": "POST",
  "/v1/models": "GET",
};

/** Little-endian float32 bytes of a vector, base64 (OpenAI's `encoding_format: "base64"`). */
function float32Base64(v: Float32Array): string {
  const le = new Float32Array(v);
  return Buffer.from(le.buffer, le.byteOffset, le.byteLength).toString("base64");
}

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

  const authorize = (req: Request): void => {
    if (opts.apiKey && !bearerMatches(req.headers.get("authorization"), opts.apiKey)) {
      throw new HttpError(401, "missing or wrong bearer token", {}, { "www-authenticate": "Bearer" });
    }
  };

  const loaded = (): Extract<ModelState, { status: "ok" }> => {
    if (state.status === "ok") return state;
    const message = state.status === "loading" ? "models are still loading" : state.error;
    throw new HttpError(503, message, {}, { "retry-after": "5" });
  };

  /** The vectors of `inputs` by the named model (or the first one), checked and counted. */
  const embedWith = async (
    name: string | undefined,
    inputs: string[],
    unknownStatus = 400,
  ): Promise<{ model: Embedder; vectors: Float32Array[] }> => {
    const s = loaded();
    const model = name === undefined ? s.first : s.byName.get(name);
    if (!model) {
      throw new HttpError(unknownStatus, `unknown model ${JSON.stringify(name)}`, {
        models: [...s.byName.keys()],
      });
    }
    const started = performance.now();
    const vectors = await model.embed(inputs);
    const ms = performance.now() - started;
    if (vectors.length !== inputs.length || vectors.some((v) => v.length !== model.dim)) {
      throw new Error(`model ${model.name} returned ${vectors.length} vectors for ${inputs.length} inputs`);
    }
    metrics.recordBatch(model.name, inputs.length, ms);
    return { model, vectors };
  };

  const embed = async (req: Request): Promise<Response> => {
    authorize(req);
    const request = parseEmbedRequest(await readBodyLimited(req, opts.maxBodyBytes), opts);
    const { model, vectors } = await embedWith(request.model, request.inputs);
    return jsonText(
      jsonWithRawField(
        { vectors: null, model: model.name, dim: model.dim, normalized: model.normalized },
        "vectors",
        float32JsonListBytes(vectors),
      ),
    );
  };

  const teiEmbed = async (req: Request): Promise<Response> => {
    authorize(req);
    const request = parseTeiRequest(await readBodyLimited(req, opts.maxBodyBytes), opts);
    const { vectors } = await embedWith(request.model, request.inputs);
    return jsonText(float32JsonListBytes(vectors));
  };

  const teiInfo = (): Response => {
    const s = loaded();
    return json({
      model_id: s.first.name,
      model_dtype: "float32",
      model_type: { embedding: { pooling: "mean" } },
      max_client_batch_size: opts.maxInputs,
      max_input_length: opts.maxTextChars,
      version: "infermesh",
    });
  };

  const openAiEmbed = async (req: Request): Promise<Response> => {
    authorize(req);
    const request = parseOpenAiRequest(await readBodyLimited(req, opts.maxBodyBytes), opts);
    const s = loaded();
    const wanted = s.byName.get(request.model);
    if (wanted && request.dimensions !== undefined && request.dimensions !== wanted.dim) {
      throw new HttpError(
        400,
        `model ${wanted.name} has ${wanted.dim} dimensions, not ${request.dimensions}`,
      );
    }
    const { model, vectors } = await embedWith(request.model, request.inputs, 404);
    const tokenize = (model as { tokenize?: (t: string) => number[] }).tokenize;
    const tokens = request.inputs.reduce(
      (n, t) => n + (tokenize ? tokenize(t).length : t.split(/\s+/).filter(Boolean).length),
      0,
    );
    const body = {
      object: "list",
      data: null,
      model: model.name,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    };
    const item = (v: Float32Array, index: number) =>
      request.encoding === "base64"
        ? Buffer.from(JSON.stringify({ object: "embedding", index, embedding: float32Base64(v) }))
        : jsonWithRawField({ object: "embedding", index, embedding: null }, "embedding", float32JsonBytes(v));
    const data = Buffer.concat([
      Buffer.from("["),
      ...vectors.flatMap((v, i) => (i > 0 ? [Buffer.from(","), item(v, i)] : [item(v, i)])),
      Buffer.from("]"),
    ]);
    return jsonText(jsonWithRawField(body, "data", data));
  };

  const openAiModels = (): Response => {
    const s = loaded();
    const created = Math.floor(metrics.startedMs / 1000);
    return json({
      object: "list",
      data: [...s.byName.keys()].map((id) => ({ id, object: "model", created, owned_by: "infermesh" })),
    });
  };

  const route = async (req: Request): Promise<Response> => {
    const path = new URL(req.url).pathname;
    const method = ROUTES[path];
    if (!method) {
      throw new HttpError(
        404,
        `no route ${path}; try GET /health, POST /embed, GET /metrics, POST /tei/embed, POST /v1/embeddings`,
      );
    }
    if (req.method !== method && !(method === "GET" && req.method === "HEAD")) {
      throw new HttpError(405, `${path} answers ${method} only`, {}, { allow: method });
    }
    switch (path) {
      case "/health":
        return health();
      case "/tei/health":
        return health().status === 200 ? new Response(null, { status: 200 }) : health();
      case "/metrics": {
        const dims = state.status === "ok" ? state.dimByModel : {};
        return json({ status: state.status, ...metrics.snapshot(dims) });
      }
      case "/tei/embed":
        return teiEmbed(req);
      case "/tei/info":
        return teiInfo();
      case "/v1/embeddings":
        return openAiEmbed(req);
      case "/v1/models":
        return openAiModels();
      default:
        return embed(req);
    }
  };

  return Bun.serve({
    hostname: opts.host,
    port: opts.port,
    reusePort: opts.reusePort ?? false,
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
