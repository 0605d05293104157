/** A backend app served on a free port whose only live upstream is Spark (for the Spark stream tests). */
import { createBackend } from "../../pipeline/backend/app.ts";
import type { Logger } from "../../pipeline/core/log.ts";

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** Serves a backend reading Spark at `sparkUiUrl`; returns its URL and how to stop it. */
export function serveSparkBackend(
  sparkUiUrl: string,
  sparkIntervalMs = 30,
): { url: string; stop: () => void } {
  const backend = createBackend(
    {
      knn: {
        query: () => Promise.reject(new Error("unused")),
        shards: () => Promise.reject(new Error("unused")),
      },
      dlqTail: async () => [],
      sources: {
        infermeshUrl: "http://127.0.0.1:1",
        embedWorkerUrl: "http://127.0.0.1:1",
        parseUrl: "http://127.0.0.1:1",
        indexerUrl: "http://127.0.0.1:1",
        sparkUiUrl,
        parquetDirs: {},
      },
    },
    { log: quiet, sparkIntervalMs, pollIntervalMs: 60_000, upstreamTimeoutMs: 1000 },
  );
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (req, srv) => backend.fetch(req, srv) });
  return {
    url: `http://127.0.0.1:${server.port}`,
    stop: () => {
      backend.close();
      server.stop(true);
    },
  };
}
