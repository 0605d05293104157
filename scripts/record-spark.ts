#!/usr/bin/env bun
/**
 * Records a running Spark driver's monitoring answers (the ones pipeline/backend/spark.ts
 * reads) into fixtures/spark, so that the backend and console tests use real shapes.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadConfig } from "../pipeline/config.ts";
import { runScript } from "./lib/cli.ts";
import { info, ScriptError } from "./lib/progress.ts";

/** Newest jobs and stages kept: a streaming driver lists one per micro-batch, up to a thousand. */
const KEEP = 20;
/** Spark properties kept from `environment` (the rest names this machine's paths and users). */
const PROPERTIES = ["spark.app.name", "spark.master", "spark.ui.port", "spark.sql.streaming.metricsEnabled"];

type Json = Record<string, unknown>;

async function get(url: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    return { status: res.status, body: text };
  }
}

const newest = (items: unknown, id: string) =>
  (Array.isArray(items) ? (items as Json[]) : [])
    .sort((a, b) => Number(b[id]) - Number(a[id]))
    .slice(0, KEEP);

await runScript(
  {
    usage: "bun scripts/record-spark.ts [--out DIR]",
    description:
      "Records the Spark REST answers the backend reads, from the driver at SPARK_VECTOR_UI_URL\n" +
      "(default http://127.0.0.1:4041/api/v1), into DIR (default fixtures/spark): applications,\n" +
      `executors, the ${KEEP} newest jobs and stages, the environment's spark.master and app name,\n` +
      "streaming/statistics (404 for Structured Streaming, kept as such) and the driver's\n" +
      "/metrics/json. Run it against `npm run up -- --spark` while records flow\n" +
      "(`npm run replay -- fixtures/agent-results.jsonl --rate 150 --repeat 12`).",
    options: [["--out DIR", "where to write (default fixtures/spark)"]],
    string: ["out"],
  },
  async (args) => {
    const api = loadConfig().backend.sparkUiUrl;
    const ui = api.replace(/\/api\/v1$/, "");
    const out = resolve(String(args.out ?? join(import.meta.dir, "..", "fixtures", "spark")));
    let apps: { status: number; body: unknown };
    try {
      apps = await get(`${api}/applications`);
    } catch (err) {
      throw new ScriptError(
        `no Spark driver answers at ${api} (${(err as Error).message}); start one with up --spark`,
      );
    }
    const running = (Array.isArray(apps.body) ? (apps.body as Json[]) : []).find(
      (a) => Array.isArray(a.attempts) && (a.attempts as Json[]).some((t) => t.completed === false),
    );
    if (!running) throw new ScriptError(`the driver at ${api} lists no running application`);
    const base = `${api}/applications/${encodeURIComponent(String(running.id))}`;
    const [executors, jobs, stages, environment, statistics, metrics] = await Promise.all([
      get(`${base}/executors`),
      get(`${base}/jobs`),
      get(`${base}/stages`),
      get(`${base}/environment`),
      get(`${base}/streaming/statistics`),
      get(`${ui}/metrics/json/`),
    ]);
    const env = environment.body as Json;
    const files: Record<string, unknown> = {
      "applications.json": apps.body,
      "executors.json": executors.body,
      "jobs.json": newest(jobs.body, "jobId"),
      "stages.json": newest(stages.body, "stageId"),
      "environment.json": {
        sparkProperties: (Array.isArray(env.sparkProperties)
          ? (env.sparkProperties as string[][])
          : []
        ).filter((p) => PROPERTIES.includes(String(p[0]))),
      },
      "streaming-statistics.json": { status: statistics.status, body: statistics.body },
      "metrics.json": metrics.body,
    };
    mkdirSync(out, { recursive: true });
    for (const [name, body] of Object.entries(files)) {
      writeFileSync(join(out, name), `${JSON.stringify(body, null, 2)}\n`);
      info(`wrote ${join(out, name)}`);
    }
    return 0;
  },
);
