/** Backend apps for tests: upstreams that are all down, and one whose only live upstream is Spark. */
import { type BackendSources, createBackend } from "../../pipeline/backend/app.ts";
import type { Logger } from "../../pipeline/core/log.ts";
import { freePort } from "./wait.ts";

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** Backend sources that all point at a closed port, except those given in `over`. */
export function downSources(over: Partial<BackendSources> = {}): BackendSources {
  const down = `http://127.0.0.1:${freePort()}`;
  return {
    infermeshUrl: down,
    embedWorkerUrl: down,
    parseUrl: down,
    indexerUrl: down,
    sparkUiUrl: `${down}/api/v1`,
    parquetDirs: {},
    ...over,
  };
}

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
      sources: downSources({ sparkUiUrl }),
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
