/**
 * `replay --from-dlq` against the real broker and Redis, with real InferMesh and embed-worker
 * processes: records the embed worker dead-lettered because InferMesh refused them (texts over
 * its INFERMESH_MAX_TEXT_CHARS) are replayed once the fault is removed and end up embedded
 * once; `--dry-run` lists and sends nothing; the ledger stops a second replay, `--force` does
 * not; filters; an entry whose original was cut is skipped; a replay that fails again is a new
 * entry, counted, and stopped by `--max-replays`; the Redis stream knows the same ledger.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { DlqEntry } from "../../pipeline/contracts/dlq.ts";
import type { DlqReplayAnswer } from "../../pipeline/contracts/dlq-replay.ts";
import type { EmbeddedRecord } from "../../pipeline/contracts/records.ts";
import { eventually, freePort, scope, type TestScope } from "../helpers/infra.ts";
import { runScript } from "../helpers/run.ts";
import { type Collected, collect, startWorker, type WorkerHandle } from "../helpers/workers.ts";

setDefaultTimeout(120_000); // real Kafka, Redis and worker processes

const MODEL = "hash-384";
const LIMIT = 40; // InferMesh refuses longer texts with 400: the embed worker dead-letters them as `rejected`
let s: TestScope;
let topics: { input: string; output: string; dlq: string; ledger: string };
let env: Record<string, string>;
let infermesh: WorkerHandle;
let seen: { records: Collected[]; stop: () => Promise<void> };
const running: WorkerHandle[] = [];

const long = (id: string) => `${id}: ${"this text is longer than the strict InferMesh accepts ".repeat(2)}`;
const input = (doc_id: string, text: string) =>
  Buffer.from(JSON.stringify({ text, topic: "agent.results", kafka_ts: Date.now(), doc_id }));

const of = (topic: string) => seen.records.filter((r) => r.topic === topic);
const embeddedIds = () =>
  of(topics.output).map((r) => (JSON.parse(String(r.value)) as EmbeddedRecord).doc_id);
const dlqEntries = () => of(topics.dlq).map((r) => JSON.parse(String(r.value)) as DlqEntry);
const count = (ids: string[], id: string) => ids.filter((x) => x === id).length;

async function startInfermesh(extra: Record<string, string>, port?: number) {
  const w = await startWorker(
    "infermesh",
    { INFERMESH_MODELS: MODEL, ...extra },
    { portVar: "INFERMESH_PORT", ...(port ? { port } : {}) },
  );
  running.push(w);
  return w;
}

/** `replay --from-dlq ARGS --json` as an operator runs it; the parsed answer. */
async function replay(...args: string[]): Promise<DlqReplayAnswer> {
  const r = await runScript("replay", ["--from-dlq", ...args, "--json"], env);
  if (r.code !== 0) throw new Error(`replay exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as DlqReplayAnswer;
}

beforeAll(async () => {
  s = await scope();
  topics = {
    input: await s.topic("input"),
    output: await s.topic("output"),
    dlq: await s.topic("dlq"),
    ledger: `test.${s.id}.replayed`, // created by the first replay, compacted
  };
  env = {
    EMBED_INPUT_TOPIC: topics.input,
    SINK_INPUT_TOPIC: topics.input,
    EMBED_OUTPUT_TOPIC: topics.output,
    EMBED_DLQ_TOPIC: topics.dlq,
    DLQ_REPLAY_LEDGER_TOPIC: topics.ledger,
    EMBED_GROUP: `embed-${s.id}`,
    KAFKA_CLIENT_ID: `replay-${s.id}`,
    REDDB_NAMESPACE: s.prefix,
    REDDB_MODE: "both",
    EMBED_MODEL: MODEL,
    // Small enough that the big record's entry is cut (value_truncated).
    DLQ_MAX_ENTRY_BYTES: "65536",
    INFERMESH_BACKOFF_SEC: "0.1",
    INFERMESH_MAX_BACKOFF_SEC: "0.5",
    WORKER_BACKOFF_SEC: "0.1",
    WORKER_MAX_BACKOFF_SEC: "0.5",
    EMBED_MAX_WAIT_SEC: "0.1",
  };
  infermesh = await startInfermesh({ INFERMESH_MAX_TEXT_CHARS: String(LIMIT) });
  env.INFERMESH_URL = infermesh.url;
  running.push(await startWorker("embed-worker", env, { portVar: "EMBED_METRICS_PORT", port: freePort() }));
  seen = await collect(s.kafka(), [topics.input, topics.output, topics.dlq], `collect-${s.id}`);

  const producer = s.kafka().producer();
  await producer.connect();
  await producer.send({
    topic: topics.input,
    messages: [
      ...["r1", "r2", "r3", "r4"].map((id) => ({
        key: id,
        value: input(id, long(id)),
        headers: { trace: `trace-${id}` },
      })),
      { key: "big", value: input("big", "x".repeat(70_000)) },
      { key: "ok1", value: input("ok1", "short text one") },
      { key: "ok2", value: input("ok2", "short text two") },
    ],
  });
  await producer.disconnect();
  await eventually(
    "5 DLQ entries and 2 embeddings",
    () => dlqEntries().length >= 5 && of(topics.output).length >= 2,
  );
});

afterAll(async () => {
  await seen?.stop();
  await Promise.all(running.map((w) => w.stop("SIGKILL")));
  const admin = s.kafka().admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topics.ledger] }).catch(() => {});
  await admin.disconnect();
  await s.cleanup();
});

describe("replay --from-dlq", () => {
  test("the DLQ entries keep the original key, bytes and headers", () => {
    const r1 = dlqEntries().find((e) => e.doc_id === "r1");
    expect(r1).toMatchObject({
      stage: "embed",
      reason: "rejected",
      source: { topic: topics.input, key: "r1", headers: { trace: "trace-r1" } },
    });
    expect(dlqEntries().find((e) => e.doc_id === "big")).toMatchObject({ value_truncated: true });
  });

  test("--dry-run lists every entry (from, to, key, reason, doc_id, bytes) and sends and records nothing", async () => {
    const r = await runScript("replay", ["--from-dlq", "--dry-run"], env);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines).toHaveLength(6); // 5 entries and the summary
    const r1 = lines.find((l) => l.includes('doc_id="r1"')) ?? "";
    const original = of(topics.input).find((m) => m.key === "r1");
    expect(r1).toStartWith("would_send");
    expect(r1).toContain(`kafka:${topics.dlq}/`);
    expect(r1).toContain(`→ ${topics.input}/${original?.partition} key="r1" embed/rejected`);
    expect(r1).toContain(`bytes=${original?.value?.length}`);
    expect(lines.find((l) => l.includes('doc_id="big"'))).toMatch(/^skipped .* — value_truncated: /);
    expect(lines.at(-1)).toStartWith("4 would be sent · 1 skipped (value_truncated 1) · 0 already replayed");
    const admin = s.kafka().admin();
    await admin.connect();
    expect(await admin.listTopics()).not.toContain(topics.ledger);
    await admin.disconnect();
    expect(of(topics.input)).toHaveLength(7);
  });

  test("a replay that fails again is a new entry with its round counted; --max-replays stops the loop", async () => {
    // The fault is still there: r4 is replayed and dead-lettered again.
    const first = await replay("--doc-id", "r4");
    expect(first.summary).toMatchObject({ sent: 1, matched: 1 });
    const again = await eventually("r4 dead-lettered again", () =>
      dlqEntries().find((e) => e.doc_id === "r4" && e.source.headers?.["dlq-replay-count"] === "1"),
    );
    const src = dlqEntries().find((e) => e.doc_id === "r4")?.source;
    expect(again.source.headers).toMatchObject({
      trace: "trace-r4",
      "dlq-replay-original": `embed:${src?.topic}/${src?.partition}/${src?.offset}`,
    });
    const capped = await replay("--doc-id", "r4", "--dry-run", "--max-replays", "1");
    expect(capped.items.map((i) => i.status).sort()).toEqual(["already_replayed", "skipped"]);
    expect(capped.items.find((i) => i.status === "skipped")?.why).toStartWith(
      "replay_limit: replayed 1 times",
    );
  });

  test("after the fault is removed, the rejected records are replayed and embedded once; the ledger stops a second run", async () => {
    // Remove the fault: InferMesh again, on the same port, without the strict limit.
    await infermesh.stop();
    infermesh = await startInfermesh({}, infermesh.port);

    const one = await replay("--doc-id", "r1", "--reason", "rejected");
    expect(one.summary).toMatchObject({ sent: 1, matched: 1 });
    await eventually("r1 embedded", () => embeddedIds().includes("r1"));

    const rest = await replay("--stage", "embed", "--reason", "rejected,invalid_json");
    expect(rest.summary).toMatchObject({
      sent: 3, // r2, r3 and r4's second entry (round 2)
      already_replayed: 2, // r1, and r4's first entry
      skipped: { value_truncated: 1 },
      replays_of_replays: 1,
      dry_run: false,
    });
    const ids = await eventually("every rejected record embedded", () => {
      const got = embeddedIds();
      return ["r1", "r2", "r3", "r4"].every((id) => got.includes(id)) && got;
    });
    for (const id of ["ok1", "ok2", "r1", "r2", "r3", "r4"]) expect(count(ids, id)).toBe(1);
    expect(ids).not.toContain("big");

    // The replayed records: same key and bytes, the original headers, marked.
    const originals = of(topics.input).filter((m) => !m.headers["dlq-replay-of"]);
    for (const m of of(topics.input).filter((x) => x.headers["dlq-replay-of"])) {
      const o = originals.find((x) => x.key === m.key);
      expect(m.value?.equals(o?.value as Buffer)).toBe(true);
      expect(m.headers.trace).toBe(`trace-${m.key}`);
      expect(m.headers["dlq-replay-of"]).toStartWith(`kafka:${topics.dlq}/`);
      expect(Date.parse(m.headers["dlq-replayed-at"] ?? "")).toBeGreaterThan(0);
    }

    // Nothing twice by accident: the ledger records every replayed original, whatever the DLQ read.
    const second = await replay();
    expect(second.summary).toMatchObject({ sent: 0, already_replayed: 5, skipped: { value_truncated: 1 } });
    const viaRedis = await replay("--source", "redis", "--dry-run");
    expect(viaRedis.summary.source).toBe(`redis:${s.prefix}:embeddings_dlq`);
    expect(viaRedis.summary).toMatchObject({ would_send: 0, already_replayed: 5 });
    expect(viaRedis.items.every((i) => i.from.startsWith(`redis:${s.prefix}:embeddings_dlq/`))).toBe(true);

    // Redis holds each embedded doc once.
    const stream = await s.redis().xrange(`${s.prefix}:embeddings`, "-", "+");
    const docIds = stream.map(([, f]) => f[f.indexOf("doc_id") + 1]);
    for (const id of ["r1", "r2", "r3", "r4"]) expect(count(docIds as string[], id)).toBe(1);
  });

  test("--force replays a recorded entry again, on purpose", async () => {
    const before = count(embeddedIds(), "r2");
    const forced = await replay("--doc-id", "r2", "--force");
    expect(forced.summary).toMatchObject({ sent: 1, already_replayed: 0 });
    await eventually("r2 embedded again", () => count(embeddedIds(), "r2") === before + 1);
  });

  test("filters that match nothing send nothing, and say so", async () => {
    const r = await runScript("replay", ["--from-dlq", "--stage", "parse"], env);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(
      /^0 sent · 0 skipped · 0 already replayed — 0 of \d+ entries matched stage parse/,
    );
    const since = await replay("--since", new Date(Date.now() + 60_000).toISOString());
    expect(since.summary).toMatchObject({ matched: 0, sent: 0 });
  });
});

describe("the backend's POST /api/dlq/replay (the console's action)", () => {
  test("served with BACKEND_ALLOW_DLQ_REPLAY=1, the same replay and ledger; refused (403) without", async () => {
    const allowed = await startWorker(
      "backend",
      { ...env, BACKEND_ALLOW_DLQ_REPLAY: "1" },
      { portVar: "BACKEND_PORT" },
    );
    running.push(allowed);
    const post = (url: string, body: unknown) =>
      fetch(`${url}/api/dlq/replay`, { method: "POST", body: JSON.stringify(body) });
    const res = await post(allowed.url, { reason: ["rejected"], dry_run: true });
    expect(res.status).toBe(200);
    const a = (await res.json()) as DlqReplayAnswer;
    expect(a.summary).toMatchObject({
      dry_run: true,
      would_send: 0,
      already_replayed: 5,
      skipped: { value_truncated: 1 },
    });
    const bad = await post(allowed.url, { stage: ["nope"] });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toContain('unknown stage "nope"');

    const closed = await startWorker("backend", env, { portVar: "BACKEND_PORT" });
    running.push(closed);
    const refused = await post(closed.url, { dry_run: true });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: string }).error).toContain("BACKEND_ALLOW_DLQ_REPLAY=1");
  });
});

describe("operator errors", () => {
  test("a missing DLQ topic, an unreadable --since and Kafka down are explained", async () => {
    const missing = await runScript("replay", ["--from-dlq"], {
      ...env,
      EMBED_DLQ_TOPIC: `test.${s.id}.nope`,
    });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`the DLQ topic "test.${s.id}.nope" does not exist`);
    const since = await runScript("replay", ["--from-dlq", "--since", "last week"], env);
    expect(since.code).toBe(2);
    expect(since.stderr).toContain("use ISO 8601");
    const down = await runScript("replay", ["--from-dlq"], {
      ...env,
      KAFKA_BOOTSTRAP_SERVERS: `127.0.0.1:${freePort()}`,
    });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain("cannot reach Kafka at 127.0.0.1:");
    const mixed = await runScript("replay", ["fixtures/agent-results.jsonl", "--dry-run"], env);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toContain("--dry-run needs --from-dlq");
  });
});
