import { expect, test } from "bun:test";
import { TransientError } from "../../pipeline/core/retry.ts";
import { InfermeshClient, InvalidResponseError, RejectedError } from "../../pipeline/io/infermesh-client.ts";

function client(
  respond: (
    body: { model: string; inputs: string[] },
    headers: Headers,
    signal: AbortSignal,
  ) => Response | Promise<Response>,
  retries = 0,
) {
  let calls = 0;
  const c = new InfermeshClient({
    url: "http://infermesh.test",
    model: "m",
    apiKey: "secret",
    timeoutSec: 0.2,
    policy: { baseSec: 0, maxSec: 0, retries },
    fetch: (async (_url: string, init: RequestInit) => {
      calls++;
      return respond(JSON.parse(String(init.body)), new Headers(init.headers), init.signal as AbortSignal);
    }) as unknown as typeof fetch,
  });
  return { c, calls: () => calls };
}

test.each([
  ["InferMesh {vectors}", (n: number) => ({ vectors: Array.from({ length: n }, () => [1, 2]) })],
  ["{embeddings}", (n: number) => ({ embeddings: Array.from({ length: n }, () => [1, 2]) })],
  ["TEI bare number[][]", (n: number) => Array.from({ length: n }, () => [1, 2])],
  [
    "OpenAI {data:[{embedding}]}",
    (n: number) => ({ data: Array.from({ length: n }, () => ({ embedding: [1, 2] })) }),
  ],
])("understands %s", async (_name, shape) => {
  const { c } = client((body) => Response.json(shape(body.inputs.length)));
  const vs = await c.embed(["a", "b"]);
  expect(vs.map((v) => Array.from(v))).toEqual([
    [1, 2],
    [1, 2],
  ]);
});

test("sends the model, the inputs and the bearer token", async () => {
  let seen: unknown;
  const { c } = client((body, headers) => {
    seen = { body, auth: headers.get("authorization") };
    return Response.json({ vectors: [[1]] });
  });
  await c.embed(["x"]);
  expect(seen).toEqual({ body: { model: "m", inputs: ["x"] }, auth: "Bearer secret" });
});

test("5xx and 429 are transient and retried; 4xx is a rejection and not retried", async () => {
  const flaky = client(() => new Response("overloaded", { status: 503 }), 2);
  await expect(flaky.c.embed(["a"])).rejects.toBeInstanceOf(TransientError);
  expect(flaky.calls()).toBe(3);
  const limited = client(() => new Response("slow down", { status: 429 }));
  await expect(limited.c.embed(["a"])).rejects.toBeInstanceOf(TransientError);
  const rejected = client(() => Response.json({ error: "text too long" }, { status: 400 }), 2);
  const err = await rejected.c.embed(["a"]).catch((e) => e);
  expect(err).toBeInstanceOf(RejectedError);
  expect(err.status).toBe(400);
  expect(rejected.calls()).toBe(1);
});

test("a timeout or refused connection is transient", async () => {
  // A service that never answers: only the client's timeout ends the request.
  const slow = client(
    (_b, _h, signal) =>
      new Promise<Response>((_, reject) => signal.addEventListener("abort", () => reject(signal.reason))),
  );
  const e1 = await slow.c.embed(["a"]).catch((e) => e);
  expect(e1).toBeInstanceOf(TransientError);
  expect(e1.kind).toBe("timeout");
  const refused = new InfermeshClient({
    url: "http://127.0.0.1:1",
    model: "m",
    timeoutSec: 2,
    policy: { baseSec: 0, maxSec: 0, retries: 0 },
  });
  const e2 = await refused.embed(["a"]).catch((e) => e);
  expect(e2).toBeInstanceOf(TransientError);
  expect(e2.kind).toBe("connect");
});

test.each([
  ["fewer vectors than inputs", { vectors: [[1]] }, /expected 2 vectors, got 1/],
  ["mixed dimensions", { vectors: [[1, 2], [1]] }, /dimension 1, vector 0 has 2/],
  ["non-finite numbers", { vectors: [[1], [null]] }, /not a finite number/],
  ["no vectors at all", { result: 1 }, /no vectors/],
])("rejects a response with %s", async (_name, body, message) => {
  const { c } = client(() => Response.json(body));
  const err = await c.embed(["a", "b"]).catch((e) => e);
  expect(err).toBeInstanceOf(InvalidResponseError);
  expect(err.message).toMatch(message);
});

test("several URLs: round-robin, a retry goes to the next server, health is any server's", async () => {
  const seen: string[] = [];
  const c = new InfermeshClient({
    url: "http://a.test",
    urls: ["http://a.test", "http://b.test"],
    model: "m",
    timeoutSec: 1,
    policy: { baseSec: 0, maxSec: 0, retries: 1 },
    fetch: (async (url: string, init?: RequestInit) => {
      seen.push(url);
      if (url === "http://b.test/health") return new Response("ok");
      if (url.startsWith("http://a.test")) return new Response("down", { status: 503 });
      const n = (JSON.parse(String(init?.body)) as { inputs: string[] }).inputs.length;
      return Response.json({ vectors: Array.from({ length: n }, () => [1]) });
    }) as unknown as typeof fetch,
  });
  expect(await c.embed(["x"])).toHaveLength(1);
  expect(seen).toEqual(["http://a.test/embed", "http://b.test/embed"]);
  expect(await c.health()).toBe(true);
});

test("concurrency splits a batch into requests in flight at once, answers kept in order", async () => {
  let inFlight = 0;
  let most = 0;
  const sizes: number[] = [];
  const c = new InfermeshClient({
    url: "http://infermesh.test",
    model: "m",
    timeoutSec: 1,
    concurrency: 3,
    minSplit: 4,
    policy: { baseSec: 0, maxSec: 0, retries: 0 },
    fetch: (async (_url: string, init?: RequestInit) => {
      const { inputs } = JSON.parse(String(init?.body)) as { inputs: string[] };
      sizes.push(inputs.length);
      inFlight++;
      most = Math.max(most, inFlight);
      await Bun.sleep(5);
      inFlight--;
      return Response.json({ vectors: inputs.map((t) => [Number(t)]) });
    }) as unknown as typeof fetch,
  });
  const inputs = Array.from({ length: 13 }, (_, i) => String(i));
  const vectors = await c.embed(inputs);
  expect(vectors.map((v) => v[0])).toEqual(inputs.map(Number));
  expect(sizes.sort()).toEqual([4, 4, 5]);
  expect(most).toBe(3);
  sizes.length = 0;
  await c.embed(["1", "2", "3", "4", "5", "6", "7"]); // under 2 × minSplit: one request
  expect(sizes).toEqual([7]);
});
