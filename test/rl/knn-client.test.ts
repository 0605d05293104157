/** The kNN HTTP client: the request it sends and every way a request can fail. */
import { afterAll, describe, expect, test } from "bun:test";
import { KnnClient, KnnClientError } from "../../pipeline/rl/index.ts";
import { closedUrl } from "../helpers/rl-fake-backend.ts";

const servers: { stop(force?: boolean): void }[] = [];
afterAll(() => {
  for (const s of servers) s.stop(true);
});

function serve(fetch: (req: Request) => Response | Promise<Response>): string {
  const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch });
  servers.push(s);
  return `http://127.0.0.1:${s.port}`;
}

describe("KnnClient", () => {
  test("POSTs the query as JSON (typed arrays as arrays) with the bearer token", async () => {
    let seen: { body: unknown; auth: string | null; type: string | null } | undefined;
    const url = serve(async (req) => {
      seen = {
        body: await req.json(),
        auth: req.headers.get("authorization"),
        type: req.headers.get("content-type"),
      };
      return Response.json({
        neighbors: [
          {
            doc_id: "a",
            score: 0.5,
            model: "m",
            topic: "t",
            text: "x",
            labels: { agent: "c" },
            success: true,
          },
        ],
        count_scored: 3,
        took_ms: 1.5,
        model: "m",
      });
    });
    const c = new KnnClient({ baseUrl: `${url}/`, token: "tok" });
    const res = await c.query({ vector: new Float32Array([0.5, 0.25]), k: 2, filter: { success: true } });
    expect(seen).toEqual({
      body: { vector: [0.5, 0.25], k: 2, filter: { success: true } },
      auth: "Bearer tok",
      type: "application/json",
    });
    expect(res).toEqual({
      neighbors: [
        { doc_id: "a", score: 0.5, model: "m", topic: "t", text: "x", labels: { agent: "c" }, success: true },
      ],
      count_scored: 3,
      took_ms: 1.5,
      model: "m",
    });
  });

  test("an older backend's neighbours get empty labels and a null success", async () => {
    const url = serve(() => Response.json({ neighbors: [{ doc_id: "a", score: 0.1 }], count_scored: 1 }));
    const [n] = (await new KnnClient({ baseUrl: url }).query({ doc_id: "z" })).neighbors;
    expect(n).toMatchObject({ labels: {}, success: null, topic: null });
  });

  test("a refusal carries the status and the backend's message; 503 is retryable, 400 not", async () => {
    const url = serve((req) =>
      new URL(req.url).pathname === "/api/knn/query"
        ? Response.json({ error: '"filter": unknown value' }, { status: 400 })
        : Response.json({ error: "Redis is unavailable" }, { status: 503 }),
    );
    const c = new KnnClient({ baseUrl: url });
    const bad = (await c
      .query({ text: "x", filter: { success: "maybe" } })
      .catch((e: unknown) => e)) as KnnClientError;
    expect(bad).toBeInstanceOf(KnnClientError);
    expect(bad).toMatchObject({ kind: "http", status: 400, retryable: false });
    expect(bad.message).toContain('"filter": unknown value');
    const busy = (await c.shards().catch((e: unknown) => e)) as KnnClientError;
    expect(busy).toMatchObject({ kind: "http", status: 503, retryable: true });
  });

  test("unreachable, timed out and not-JSON answers are errors of their own kind", async () => {
    const down = (await new KnnClient({ baseUrl: closedUrl() })
      .query({ text: "x" })
      .catch((e: unknown) => e)) as KnnClientError;
    expect(down).toMatchObject({ kind: "unreachable", status: null });
    const slow = serve(() => new Promise<Response>(() => {}));
    const t0 = performance.now();
    const late = (await new KnnClient({ baseUrl: slow, timeoutMs: 150 })
      .query({ text: "x" })
      .catch((e: unknown) => e)) as KnnClientError;
    expect(late).toMatchObject({ kind: "timeout" });
    expect(performance.now() - t0).toBeLessThan(1000);
    const html = serve(() => new Response("<html>", { status: 200 }));
    expect(
      await new KnnClient({ baseUrl: html }).query({ text: "x" }).catch((e: KnnClientError) => e.kind),
    ).toBe("invalid_response");
    expect(() => new KnnClient({ baseUrl: "localhost:8080" })).toThrow(/http:\/\//);
  });
});
