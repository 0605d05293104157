#!/usr/bin/env bun
/**
 * `bun scripts/record-tui.ts`: records the console's test fixtures from a running backend
 * (BACKEND_URL, BACKEND_TOKEN) into fixtures/tui. The set stays complete, so every state the
 * tests need keeps a file: a stream's `<stream>.stream.jsonl` is replaced only when every
 * captured event shows its component live (a worker reachable and not paused, InferMesh
 * healthy, Spark running); other events go to their state file (`<stream>.unreachable.json`,
 * `<worker>.paused.json`, `spark.no-application.json`). Likewise an empty index goes to
 * `shards.empty.json`, an empty DLQ tail to `dlq.empty.json`, and a kNN query without
 * neighbours replaces nothing. Everything not replaced is reported.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { decodeDlq, decodeKnn, decodeShards, isRecord } from "../tui/sources/decode.ts";
import { createHttpTransport, errorText } from "../tui/sources/transport.ts";
import { STREAM_PATHS, STREAMS, type StreamName } from "../tui/state/types.ts";

const HELP = `Usage: bun scripts/record-tui.ts [--out DIR] [--events N] [--timeout SEC] [--query TEXT]

Records the console's fixtures from the backend at BACKEND_URL (default http://127.0.0.1:8080,
bearer token from BACKEND_TOKEN) into DIR (default fixtures/tui):
  <stream>.stream.jsonl     N events (default 5) of each stream, when all show it live
  health.json  shards.json (or shards.empty.json)  dlq.json (or dlq.empty.json)
  knn-query.json  knn-query.doc.json  knn-query.404.json
  <stream>.unreachable.json  <worker>.paused.json  spark.no-application.json
                            when such an event was seen
Files that were not recorded are left as they are; the summary says which and why.
Streams send an event every ~3 s (Spark ~5 s): N=5 takes about 25 s. --timeout (default 60)
bounds the wait per stream; --query is the kNN text (default "retry after a timeout").`;

function parseArgs(argv: string[]) {
  const o = { out: "fixtures/tui", events: 5, timeoutSec: 60, query: "retry after a timeout" };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value`);
      return x;
    };
    if (a === "-h" || a === "--help") return "help" as const;
    else if (a === "--out") o.out = v();
    else if (a === "--events") o.events = Number(v());
    else if (a === "--timeout") o.timeoutSec = Number(v());
    else if (a === "--query") o.query = v();
    else throw new Error(`unknown argument: ${a}`);
  }
  if (!Number.isInteger(o.events) || o.events < 1) throw new Error("--events must be a positive integer");
  if (!(o.timeoutSec > 0)) throw new Error("--timeout must be positive");
  return o;
}

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

/** Collects up to `n` events of one stream within `timeoutMs`. */
function capture(
  transport: ReturnType<typeof createHttpTransport>,
  stream: StreamName,
  n: number,
  timeoutMs: number,
): Promise<{ events: string[]; error?: string }> {
  return new Promise((done) => {
    const events: string[] = [];
    let close = () => {};
    const finish = (error?: string) => {
      clearTimeout(timer);
      close();
      done({ events, error });
    };
    const timer = setTimeout(
      () => finish(events.length < n ? `timed out after ${events.length} events` : undefined),
      timeoutMs,
    );
    close = transport.openStream(STREAM_PATHS[stream], {
      onOpen: () => {},
      onMessage: (data) => {
        events.push(data);
        process.stdout.write(`  ${stream}: ${events.length}/${n}\n`);
        if (events.length >= n) finish();
      },
      onError: (message) => finish(message),
    });
  });
}

async function main(): Promise<number> {
  let o: ReturnType<typeof parseArgs>;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`record-tui: ${errorText(err)}\n`);
    return 2;
  }
  if (o === "help") {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const baseUrl = process.env.BACKEND_URL?.trim() || "http://127.0.0.1:8080";
  const transport = createHttpTransport({ baseUrl, token: process.env.BACKEND_TOKEN, timeoutMs: 15_000 });
  const out = resolve(o.out);
  await mkdir(out, { recursive: true });
  const written: string[] = [];
  const problems: string[] = [];
  const write = async (name: string, body: string) => {
    await writeFile(join(out, name), body);
    written.push(name);
  };

  process.stdout.write(`recording from ${baseUrl} into ${out}\n`);
  try {
    const health = await transport.request("/health");
    if (health.status !== 200) problems.push(`health.json: HTTP ${health.status}`);
    else await write("health.json", json(health.body));

    const shards = await transport.request("/api/knn/shards");
    if (shards.status !== 200) problems.push(`shards.json: HTTP ${shards.status}, kept`);
    else if ((decodeShards(shards.body).total_ids ?? 0) > 0) await write("shards.json", json(shards.body));
    else {
      await write("shards.empty.json", json(shards.body));
      problems.push("shards.json kept: the index is empty (written as shards.empty.json)");
    }

    const dlq = await transport.request("/api/embed-worker/dlq?limit=20");
    if (dlq.status !== 200) problems.push(`dlq.json: HTTP ${dlq.status}, kept`);
    else if (decodeDlq(dlq.body).items.length > 0) await write("dlq.json", json(dlq.body));
    else {
      await write("dlq.empty.json", json(dlq.body));
      problems.push("dlq.json kept: the DLQ is empty (written as dlq.empty.json)");
    }

    const q = await transport.request("/api/knn/query", { method: "POST", body: { text: o.query, k: 5 } });
    const first = q.status === 200 ? decodeKnn(q.body).neighbors[0] : undefined;
    if (first) {
      await write("knn-query.json", json(q.body));
      const d = await transport.request("/api/knn/query", {
        method: "POST",
        body: { doc_id: first.doc_id, k: 5 },
      });
      if (d.status === 200 && decodeKnn(d.body).neighbors.length > 0)
        await write("knn-query.doc.json", json(d.body));
      else problems.push(`knn-query.doc.json kept: HTTP ${d.status} or no neighbours`);
    } else {
      problems.push(
        `knn-query.json and knn-query.doc.json kept: HTTP ${q.status} or no neighbours (index empty?)`,
      );
    }
    const missing = await transport.request("/api/knn/query", {
      method: "POST",
      body: { doc_id: `no-such-doc-${Date.now()}`, k: 5 },
    });
    if (missing.status === 404) await write("knn-query.404.json", json(missing.body));
    else problems.push(`knn-query.404.json kept: HTTP ${missing.status}, expected 404`);
  } catch (err) {
    process.stderr.write(`record-tui: the backend at ${baseUrl} did not answer: ${errorText(err)}\n`);
    return 1;
  }

  const results = await Promise.all(
    STREAMS.map(async (s) => [s, await capture(transport, s, o.events, o.timeoutSec * 1000)] as const),
  );
  for (const [stream, r] of results) {
    if (r.error) problems.push(`${stream}: ${r.error}`);
    const states = new Set<string>();
    for (const e of r.events) {
      const v: unknown = JSON.parse(e);
      const state = stateOf(stream, v);
      if (state !== "live") {
        states.add(state);
        await write(`${stream}.${state}.json`, json(v));
      }
    }
    if (r.events.length > 0 && states.size === 0)
      await write(`${stream}.stream.jsonl`, r.events.map((e) => `${e}\n`).join(""));
    else if (r.events.length > 0)
      problems.push(`${stream}.stream.jsonl kept: the stream showed ${[...states].join(", ")}`);
  }
  process.stdout.write(`wrote ${[...new Set(written)].join(", ") || "nothing"}\n`);
  for (const p of problems) process.stdout.write(`not recorded: ${p}\n`);
  return 0;
}

/** "live", or the name of the state file an event belongs to. */
function stateOf(
  stream: StreamName,
  v: unknown,
): "live" | "unreachable" | "unhealthy" | "paused" | "no-application" {
  if (!isRecord(v)) return "unreachable";
  if (stream === "infermesh") {
    const status = isRecord(v.infermesh) ? v.infermesh.status : undefined;
    return status === "healthy" ? "live" : status === "unhealthy" ? "unhealthy" : "unreachable";
  }
  if (stream === "spark")
    return v.status === "running" ? "live" : v.status === "no_application" ? "no-application" : "unreachable";
  if (stream === "vectorizer") return "live";
  if (!isRecord(v.metrics)) return "unreachable";
  return v.metrics.paused === true ? "paused" : "live";
}

process.exit(await main());
