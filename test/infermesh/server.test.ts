import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { loadConfig } from "../../pipeline/config.ts";
import type { InfermeshMetricsSnapshot } from "../../pipeline/infermesh/metrics.ts";
import { createInfermeshServer, type InfermeshServer } from "../../pipeline/infermesh/server.ts";
import type { Embedder } from "../../pipeline/models/embedder.ts";
import { createHashEmbedder } from "../../pipeline/models/hash-embedder.ts";
import { loadModels } from "../../pipeline/models/registry.ts";

setDefaultTimeout(120_000);

const API_KEY = "s3cret-token";
const limits = { maxInputs: 8, maxBodyBytes: 4096, maxTextChars: 200 };
let models: Embedder[];
let server: InfermeshServer;
let base: string;

beforeAll(async () => {
  models = await loadModels(["glove-100d-sif", "hash-64"], { cacheDir: loadConfig().local.cacheDir });
  server = createInfermeshServer(
    { host: "127.0.0.1", port: 0, apiKey: API_KEY, ...limits, log: () => {} },
    models,
  );
  base = `http://127.0.0.1:${server.port}`;
});
afterAll(() => server?.stop(true));

const auth = { authorization: `Bearer ${API_KEY}` };

function post(body: unknown, headers: Record<string, string> = auth): Promise<Response> {
  return fetch(`${base}/embed`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

async function expectError(res: Response, status: number, message: RegExp): Promise<Record<string, unknown>> {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toContain("application/json");
  const body = (await res.json()) as Record<string, unknown>;
  expect(body.error).toMatch(message);
  return body;
}

/** Polls `check` until it holds (no fixed sleeps). */
async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await Bun.sleep(10);
  }
}

describe("InferMesh server", () => {
  test("binds the configured host", () => {
    expect(server.hostname).toBe("127.0.0.1");
    expect(server.port).toBeGreaterThan(0);
  });

  test("GET /health lists the models and their dimensions, without a token", async () => {
    const res = await fetch(`${base}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      status: "ok",
      models: ["glove-100d-sif", "hash-64"],
      dim_by_model: { "glove-100d-sif": 100, "hash-64": 64 },
      normalized_by_model: { "glove-100d-sif": true, "hash-64": true },
    });
  });

  test("POST /embed returns one vector per input, equal (as float32) to the model's own", async () => {
    const inputs = ["The tests passed after fixing the import.", "", "déjà vu ✓"];
    const res = await post({ model: "glove-100d-sif", inputs });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      vectors: number[][];
      model: string;
      dim: number;
      normalized: boolean;
    };
    expect(body).toMatchObject({ model: "glove-100d-sif", dim: 100, normalized: true });
    expect(body.vectors).toHaveLength(3);
    const local = (await models[0]?.embed(inputs)) ?? [];
    body.vectors.forEach((v, i) => {
      expect(v).toHaveLength(100);
      expect(v.map(Math.fround)).toEqual(Array.from(local[i] ?? []));
    });
  });

  test("without a model the first served one is used; `input` takes a single string", async () => {
    const a = (await (await post({ inputs: ["deploy failed"] })).json()) as {
      model: string;
      vectors: number[][];
    };
    expect(a.model).toBe("glove-100d-sif");
    const b = (await (await post({ model: "hash-64", input: "deploy failed" })).json()) as {
      model: string;
      vectors: number[][];
    };
    expect(b.model).toBe("hash-64");
    expect(b.vectors[0]?.map(Math.fround)).toEqual(
      Array.from(createHashEmbedder(64).embed(["deploy failed"])[0] ?? []),
    );
    const empty = (await (await post({ model: "hash-64", inputs: [] })).json()) as { vectors: number[][] };
    expect(empty.vectors).toEqual([]);
  });

  test("401 without a token, with a wrong one, or with another scheme", async () => {
    for (const headers of [
      {} as Record<string, string>,
      { authorization: "Bearer wrong" },
      { authorization: `Basic ${API_KEY}` },
    ]) {
      const res = await post({ inputs: ["x"] }, headers);
      expect(res.headers.get("www-authenticate")).toBe("Bearer");
      const body = await expectError(res, 401, /bearer token/);
      expect(JSON.stringify(body)).not.toContain(API_KEY);
    }
    expect((await post({ inputs: ["x"] }, { authorization: `bearer ${API_KEY}` })).status).toBe(200);
  });

  test("400 for malformed JSON and wrong shapes, naming the offending index", async () => {
    await expectError(await post("{not json"), 400, /not valid UTF-8 JSON/);
    await expectError(await post("[1,2]"), 400, /must be a JSON object/);
    await expectError(await post({ model: "hash-64" }), 400, /"inputs" must be an array of strings/);
    await expectError(await post({ inputs: "one string" }), 400, /"inputs" must be an array of strings/);
    await expectError(await post({ model: 7, inputs: ["x"] }), 400, /"model" must be a string/);
    const body = await expectError(
      await post({ inputs: ["ok", "fine", null] }),
      400,
      /inputs\[2\] must be a string, got null/,
    );
    expect(body.index).toBe(2);
    expect((await expectError(await post({ inputs: [1] }), 400, /inputs\[0\] .* got number/)).index).toBe(0);
  });

  test("400 for an unknown model, listing the served models", async () => {
    const body = await expectError(
      await post({ model: "sentence-transformers/all-MiniLM-L6-v2", inputs: ["x"] }),
      400,
      /unknown model "sentence-transformers\/all-MiniLM-L6-v2"/,
    );
    expect(body.models).toEqual(["glove-100d-sif", "hash-64"]);
  });

  test("413 for more inputs than allowed", async () => {
    const body = await expectError(
      await post({ inputs: Array(9).fill("x") }),
      413,
      /9 inputs exceed the limit of 8/,
    );
    expect(body.max_inputs).toBe(8);
    expect((await post({ inputs: Array(8).fill("x") })).status).toBe(200);
  });

  test("413 for a body over the limit, by Content-Length or by actual size when streamed", async () => {
    const big = JSON.stringify({ inputs: Array(8).fill("y".repeat(600)) });
    expect(big.length).toBeGreaterThan(4096);
    const body = await expectError(
      await post(big),
      413,
      /request body of \d+ bytes exceeds the limit of 4096/,
    );
    expect(body.max_body_bytes).toBe(4096);

    const chunks = [big.slice(0, 2000), big.slice(2000)];
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift();
        if (next === undefined) controller.close();
        else controller.enqueue(new TextEncoder().encode(next));
      },
    });
    const res = await fetch(`${base}/embed`, {
      method: "POST",
      headers: auth,
      body: stream,
      duplex: "half",
    } as RequestInit);
    await expectError(res, 413, /request body of more than 4096 bytes/);
  });

  test("400 for a text longer than the limit, naming its index", async () => {
    const body = await expectError(
      await post({ inputs: ["short", "y".repeat(200), "z".repeat(201)] }),
      400,
      /inputs\[2\] has 201 characters, more than 200/,
    );
    expect(body).toMatchObject({ index: 2, max_text_chars: 200 });
  });

  test("404 for unknown paths and 405 for wrong methods, as JSON", async () => {
    await expectError(
      await fetch(`${base}/v2/embeddings`, { method: "POST" }),
      404,
      /no route \/v2\/embeddings/,
    );
    const res = await fetch(`${base}/embed`);
    expect(res.headers.get("allow")).toBe("POST");
    await expectError(res, 405, /\/embed answers POST only/);
  });

  test("GET /metrics counts requests, errors by status and embedded inputs", async () => {
    const before = (await (await fetch(`${base}/metrics`)).json()) as InfermeshMetricsSnapshot;
    await post({ model: "hash-64", inputs: ["a", "b", "c"] });
    await post({ inputs: ["x"] }, {});
    await post("{");
    await post({ inputs: Array(9).fill("x") });
    const after = (await (await fetch(`${base}/metrics`)).json()) as InfermeshMetricsSnapshot & {
      status: string;
    };
    expect(after.status).toBe("ok");
    expect(after.requests - before.requests).toBe(5);
    expect(after.embed_requests - before.embed_requests).toBe(1);
    expect(after.inputs_embedded - before.inputs_embedded).toBe(3);
    expect((after.inputs_by_model["hash-64"] ?? 0) - (before.inputs_by_model["hash-64"] ?? 0)).toBe(3);
    const delta = (s: string) => (after.errors[s] ?? 0) - (before.errors[s] ?? 0);
    expect([delta("400"), delta("401"), delta("413")]).toEqual([1, 1, 1]);
    expect(after.last_batch_size).toBe(3);
    expect(after.last_batch_ms).toBeGreaterThanOrEqual(0);
    expect(after.sentences_per_sec).toBeGreaterThan(0);
    expect(after.started_ts).toBeLessThanOrEqual(Date.now() / 1000);
    expect(after.started_ts).toBeGreaterThan(Date.now() / 1000 - 3600);
    expect(after.models).toEqual(["glove-100d-sif", "hash-64"]);
    expect(after.dim_by_model).toEqual({ "glove-100d-sif": 100, "hash-64": 64 });
  });
});

describe("InferMesh server while models load", () => {
  test("answers 503 loading until the models arrive, then 200", async () => {
    let resolve: (m: Embedder[]) => void = () => {};
    const pending = new Promise<Embedder[]>((r) => {
      resolve = r;
    });
    const s = createInfermeshServer({ host: "127.0.0.1", port: 0, apiKey: "", ...limits }, pending);
    try {
      const url = `http://127.0.0.1:${s.port}`;
      const health = await fetch(`${url}/health`);
      expect(health.status).toBe(503);
      expect(await health.json()).toEqual({ status: "loading" });
      const embed = await fetch(`${url}/embed`, { method: "POST", body: JSON.stringify({ inputs: ["x"] }) });
      await expectError(embed, 503, /still loading/);
      resolve([createHashEmbedder(16)]);
      await waitFor(async () => (await fetch(`${url}/health`)).status === 200);
      const ok = await fetch(`${url}/embed`, { method: "POST", body: JSON.stringify({ inputs: ["x"] }) });
      expect(((await ok.json()) as { dim: number }).dim).toBe(16);
    } finally {
      await s.stop(true);
    }
  });

  test("reports a failed load as 503 error", async () => {
    const logged: string[] = [];
    const s = createInfermeshServer(
      { host: "127.0.0.1", port: 0, apiKey: "", ...limits, log: (m) => logged.push(m) },
      Promise.reject(new Error("cache unreadable")),
    );
    try {
      const url = `http://127.0.0.1:${s.port}/health`;
      await waitFor(async () => ((await (await fetch(url)).json()) as { status: string }).status === "error");
      const res = await fetch(url);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ status: "error", error: "cache unreadable" });
      expect(logged).toEqual(["infermesh: loading models failed: cache unreadable"]);
    } finally {
      await s.stop(true);
    }
  });
});
