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
