/**
 * A stand-in for the backend in end-to-end console tests: the backend's HTTP contract
 * (bearer token, SSE with `retry:`, `id:`, `: ping`) answered from the recorded fixtures.
 */

import { STREAM_PATHS, STREAMS, type StreamName } from "../../tui/state/types.ts";
import { fixture, streamFixture } from "./helpers.tsx";

export interface FakeBackend {
  url: string;
  requests: { path: string; auth: string | null }[];
  stop(): void;
}

/**
 * @param streams events to serve instead of a stream's recording (raw `data:` strings)
 */
export function startFakeBackend(
  token: string,
  intervalMs = 200,
  streams: Partial<Record<StreamName, string[]>> = {},
): FakeBackend {
  const requests: FakeBackend["requests"] = [];
  const timers = new Set<ReturnType<typeof setInterval>>();
  const enc = new TextEncoder();
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: 0,
    fetch(req) {
      const url = new URL(req.url);
      requests.push({ path: url.pathname, auth: req.headers.get("authorization") });
      if (req.headers.get("authorization") !== `Bearer ${token}`) {
        return Response.json({ error: "missing or invalid bearer token" }, { status: 401 });
      }
      const stream = STREAMS.find((s) => STREAM_PATHS[s] === url.pathname);
      if (stream) {
        const events = streams[stream] ?? streamFixture(stream);
        let i = 0;
        let timer: ReturnType<typeof setInterval> | undefined;
        const body = new ReadableStream({
          start(c) {
            c.enqueue(enc.encode("retry: 1000\n\n: ping\n\n"));
            const send = () => {
              const e = events[Math.min(i, events.length - 1)];
              i += 1;
              try {
                c.enqueue(enc.encode(`id: ${i}\ndata: ${e}\n\n`));
              } catch {
                clearInterval(timer);
              }
            };
            send();
            timer = setInterval(send, intervalMs);
            timers.add(timer);
          },
          cancel() {
            clearInterval(timer);
          },
        });
        return new Response(body, { headers: { "content-type": "text/event-stream" } });
      }
      switch (url.pathname) {
        case "/health":
          return Response.json(fixture("health.json"));
        case "/api/knn/shards":
          return Response.json(fixture("shards.json"));
        case "/api/embed-worker/dlq":
          return Response.json(fixture("dlq.json"));
        case "/api/knn/query":
          return Response.json(fixture("knn-query.json"));
        default:
          return Response.json({ error: "no such endpoint" }, { status: 404 });
      }
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    requests,
    stop() {
      for (const t of timers) clearInterval(t);
      server.stop(true);
    },
  };
}
