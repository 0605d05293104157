/** The other protocols InferMesh answers: Hugging Face TEI under /tei and OpenAI under /v1. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createInfermeshServer, type InfermeshServer } from "../../pipeline/infermesh/server.ts";
import { InfermeshClient } from "../../pipeline/io/infermesh-client.ts";
import { createHashEmbedder } from "../../pipeline/models/hash-embedder.ts";

const KEY = "k3y";
const auth = { authorization: `Bearer ${KEY}`, "content-type": "application/json" };
const hash32 = createHashEmbedder(32);
const hash16 = createHashEmbedder(16);
let server: InfermeshServer;
let base: string;

beforeAll(() => {
  server = createInfermeshServer(
    {
      host: "127.0.0.1",
      port: 0,
      apiKey: KEY,
      maxInputs: 8,
      maxBodyBytes: 4096,
      maxTextChars: 200,
      log: () => {},
    },
    [hash32, hash16],
  );
  base = `http://127.0.0.1:${server.port}`;
});
afterAll(() => server?.stop(true));

const post = (path: string, body: unknown, headers: Record<string, string> = auth) =>
  fetch(`${base}${path}`, { method: "POST", headers, body: JSON.stringify(body) });

const f32 = (v: Float32Array) => Array.from(v);

describe("Hugging Face TEI under /tei", () => {
  test("POST /tei/embed {inputs: string[]} answers a bare number[][] from the default model", async () => {
    const res = await post("/tei/embed", { inputs: ["deploy failed", "tests pass"] });
    expect(res.status).toBe(200);
    const body = (await res.json()) as number[][];
    expect(body.map((v) => v.map(Math.fround))).toEqual(
      hash32.embed(["deploy failed", "tests pass"]).map(f32),
    );
  });

  test("a single string gives a list of one; normalize/truncate false are refused", async () => {
    const one = (await (
      await post("/tei/embed", { inputs: "deploy failed", normalize: true })
    ).json()) as number[][];
    expect(one).toHaveLength(1);
    expect(one[0]?.map(Math.fround)).toEqual(f32(hash32.embed(["deploy failed"])[0] as Float32Array));
    expect((await post("/tei/embed", { inputs: "x", normalize: false })).status).toBe(400);
    expect((await post("/tei/embed", { inputs: "x", truncate: false })).status).toBe(400);
    expect((await post("/tei/embed", { inputs: 3 })).status).toBe(400);
  });

  test("needs the bearer token; /tei/info and /tei/health do not", async () => {
    expect((await post("/tei/embed", { inputs: ["x"] }, {})).status).toBe(401);
    const info = (await (await fetch(`${base}/tei/info`)).json()) as Record<string, unknown>;
    expect(info).toMatchObject({ model_id: "hash-32", max_client_batch_size: 8 });
    expect((await fetch(`${base}/tei/health`)).status).toBe(200);
  });

  test("the embed worker's client works against /tei as its base URL", async () => {
    const client = new InfermeshClient({
      url: `${base}/tei`,
      model: "hash-16",
      apiKey: KEY,
      timeoutSec: 5,
      policy: { retries: 0, baseSec: 0, maxSec: 0 },
    });
    const vectors = await client.embed(["a b c"]);
    // TEI's shape carries no model: the worker's {model} is honoured by this server.
    expect(Array.from(vectors[0] as Float32Array)).toEqual(f32(hash16.embed(["a b c"])[0] as Float32Array));
  });
});

describe("OpenAI under /v1", () => {
  interface OpenAiAnswer {
    object: string;
    data: { object: string; index: number; embedding: number[] | string }[];
    model: string;
    usage: { prompt_tokens: number; total_tokens: number };
  }

  test("POST /v1/embeddings answers {object: list, data: [{embedding, index}], model, usage}", async () => {
    const res = await post("/v1/embeddings", { model: "hash-16", input: ["one two", "three"] });
    expect(res.status).toBe(200);
    const body = (await res.json()) as OpenAiAnswer;
    expect(body.object).toBe("list");
    expect(body.model).toBe("hash-16");
    expect(body.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 });
    expect(body.data.map((d) => [d.object, d.index])).toEqual([
      ["embedding", 0],
      ["embedding", 1],
    ]);
    expect((body.data[1] as { embedding: number[] }).embedding.map(Math.fround)).toEqual(
      f32(hash16.embed(["three"])[0] as Float32Array),
    );
  });

  test("encoding_format base64 is little-endian float32, exactly the model's values", async () => {
    const body = (await (
      await post("/v1/embeddings", { model: "hash-32", input: "deploy failed", encoding_format: "base64" })
    ).json()) as OpenAiAnswer;
    const bytes = Buffer.from((body.data[0] as { embedding: string }).embedding, "base64");
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const values = Array.from({ length: bytes.byteLength / 4 }, (_, i) => view.getFloat32(i * 4, true));
    expect(values).toEqual(f32(hash32.embed(["deploy failed"])[0] as Float32Array));
  });

  test("refuses what it cannot do: unknown model 404, token ids, other dimensions, no model", async () => {
    const unknown = await post("/v1/embeddings", { model: "text-embedding-3-small", input: "x" });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { models: string[] }).models).toEqual(["hash-32", "hash-16"]);
    expect((await post("/v1/embeddings", { model: "hash-16", input: [[1, 2, 3]] })).status).toBe(400);
    expect((await post("/v1/embeddings", { model: "hash-16", input: "x", dimensions: 8 })).status).toBe(400);
    expect((await post("/v1/embeddings", { model: "hash-16", input: "x", dimensions: 16 })).status).toBe(200);
    expect((await post("/v1/embeddings", { input: "x" })).status).toBe(400);
    expect((await post("/v1/embeddings", { model: "hash-16", input: "x" }, {})).status).toBe(401);
  });

  test("GET /v1/models lists the served models", async () => {
    const body = (await (await fetch(`${base}/v1/models`)).json()) as {
      data: { id: string; object: string }[];
    };
    expect(body.data.map((m) => [m.id, m.object])).toEqual([
      ["hash-32", "model"],
      ["hash-16", "model"],
    ]);
  });

  test("our own /embed keeps its {vectors} answer", async () => {
    const body = (await (await post("/embed", { inputs: ["x"] })).json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(["dim", "model", "normalized", "vectors"]);
  });
});
