import { expect, test } from "bun:test";
import { DEFAULT_REDDB_DLQ_PATH, httpDlqTail } from "../../pipeline/backend/dlq-tail.ts";

test("an HTTP RedDB's DLQ stream is read through REDDB_DLQ_HTTP_PATH, newest first, with the token", async () => {
  const seen: { url: string; auth: string | null }[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      seen.push({
        url: new URL(req.url).pathname + new URL(req.url).search,
        auth: req.headers.get("authorization"),
      });
      return Response.json(
        [1, 2, 3].map((i) => ({
          offset: i,
          value: JSON.stringify({ reason: "empty_text", doc_id: `d${i}` }),
        })),
      );
    },
  });
  const base = {
    baseUrl: `http://127.0.0.1:${server.port}`,
    namespace: "dspy",
    stream: "embeddings_dlq",
    token: "t0k",
  };
  try {
    const items = await httpDlqTail({ ...base, path: DEFAULT_REDDB_DLQ_PATH }, 2);
    expect(items).toEqual([
      { offset: 3, reason: "empty_text", doc_id: "d3" },
      { offset: 2, reason: "empty_text", doc_id: "d2" },
    ]);
    await httpDlqTail({ ...base, path: "/custom/{ns}/{stream}?n={limit}" }, 7);
    expect(seen).toEqual([
      { url: "/api/streams/dspy/embeddings_dlq/read?start=0&count=2", auth: "Bearer t0k" },
      { url: "/custom/dspy/embeddings_dlq?n=7", auth: "Bearer t0k" },
    ]);
  } finally {
    server.stop(true);
  }
});

test("an unreachable RedDB is a 502, not an empty tail", async () => {
  const err = await httpDlqTail(
    { baseUrl: "http://127.0.0.1:1", path: DEFAULT_REDDB_DLQ_PATH, namespace: "n", stream: "s", token: "" },
    5,
  ).catch((e) => e);
  expect(err.status).toBe(502);
});
