#!/usr/bin/env bun
/**
 * Telemetry: is the embedding backend under load? Reads the backend's streams (or the workers'
 * `/metrics` directly) and prints the level, the reasons, the recommendation and every source —
 * a source that does not answer is shown down, with why.
 */
import { adaptSettings, TelemetryClient, type TelemetryOptions } from "../index.ts";
import {
  BACKEND_OPTION,
  backendToken,
  backendUrl,
  fmt,
  intOption,
  numOption,
  parseCli,
  runExample,
} from "./cli.ts";

const { values } = parseCli({
  usage:
    "bun pipeline/rl/examples/telemetry.ts [--backend URL] [--embed URL --parse URL --indexer URL] [--watch S]",
  description:
    "Prints the load level (ok, busy, overloaded, outage, unknown), what led to it, and what an agent should\n" +
    "do (batch and timeout factors, applied to --batch and --timeout-ms). Without worker URLs everything is\n" +
    "read through the backend; with them, those workers' /metrics are read directly (up: embed-worker\n" +
    "http://127.0.0.1:9101, parse :9102, indexer :9103).",
  options: {
    backend: BACKEND_OPTION,
    embed: { type: "string", help: "the embed worker's /metrics base URL" },
    parse: { type: "string", help: "the parse worker's /metrics base URL" },
    indexer: { type: "string", help: "the indexer's /metrics base URL" },
    "no-backend": { type: "boolean", help: "read only the workers given" },
    watch: { type: "string", help: "read again every S seconds until Ctrl-C" },
    batch: { type: "string", help: "the agent's embedding batch size", default: "64" },
    "timeout-ms": { type: "string", help: "the agent's timeout", default: "10000" },
  },
});

await runExample(async () => {
  const workers: TelemetryOptions["workers"] = {};
  if (values.embed) workers["embed-worker"] = values.embed as string;
  if (values.parse) workers.parse = values.parse as string;
  if (values.indexer) workers.indexer = values.indexer as string;
  const client = new TelemetryClient({
    workers,
    ...(values["no-backend"]
      ? {}
      : { backendUrl: (values.backend as string | undefined) ?? backendUrl(), token: backendToken() }),
  });
  const settings = {
    batchSize: intOption(values, "batch", 64),
    timeoutMs: intOption(values, "timeout-ms", 10_000),
  };
  const once = async () => {
    const r = await client.read();
    const a = adaptSettings(settings, r.recommendation);
    console.log(
      `${new Date(r.timestamp * 1000).toISOString()}  load: ${r.level} → ${r.recommendation.action}: ${r.recommendation.message}`,
    );
    console.log(
      `  batch ${settings.batchSize} → ${a.batchSize}, timeout ${settings.timeoutMs} → ${a.timeoutMs} ms${r.recommendation.retryAfterMs ? `, retry after ${r.recommendation.retryAfterMs} ms` : ""}`,
    );
    for (const reason of r.reasons) console.log(`  - ${reason}`);
    for (const s of r.sources) {
      const f = s.figures;
      const figures =
        s.status === "down"
          ? `down: ${s.error}`
          : `rtt ${fmt(f.rtt_ms, 1)} ms, lag ${f.lag ?? "-"}, paused ${f.paused ?? "-"}, outage ${f.outage_since ?? "-"}, out/s ${fmt(f.records_out_per_sec, 1)}`;
      console.log(`  ${s.name.padEnd(12)} ${figures}`);
    }
  };
  await once();
  if (values.watch !== undefined) {
    const every = numOption(values, "watch", 3) * 1000;
    let stop = false;
    process.once("SIGINT", () => {
      stop = true;
    });
    while (!stop) {
      await Bun.sleep(every);
      if (!stop) await once();
    }
  }
});
