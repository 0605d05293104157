/**
 * Defects found by trying the product, each against the real broker and Redis:
 * - a record too large for the DLQ must not stall parse (bounded DLQ entries);
 * - lag is the group's backlog on every partition, not what the worker last fetched;
 * - /health says "stuck" while a fault holds the pipeline and "rebalancing" until the group
 *   hands over partitions;
 * - a worker restarted after SIGKILL gets its partitions back quickly (printed; goal ≤ 10 s).
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { createHash } from "node:crypto";
import { ConfigResourceTypes } from "kafkajs";
import { type DlqEntry, entryBytes } from "../../pipeline/contracts/dlq.ts";
import { eventually, freePort, scope, type TestScope } from "../helpers/infra.ts";
import { collect, startWorker, type WorkerHandle } from "../helpers/workers.ts";

setDefaultTimeout(180_000);

let s: TestScope;
const running: WorkerHandle[] = [];

beforeAll(async () => {
  s = await scope();
});
afterAll(async () => {
  await Promise.all(running.map((w) => w.stop("SIGKILL")));
  await s.cleanup();
});

async function start(name: string, env: Record<string, string>, portVar: string, healthy = true) {
  const w = await startWorker(name, env, { portVar, healthy });
  running.push(w);
  return w;
}

async function health(w: WorkerHandle) {
  const res = await fetch(`${w.url}/health`);
  return {
    status: res.status,
    body: (await res.json()) as { checks: Record<string, { ok: boolean; detail?: string }> },
  };
}

async function produce(
  topic: string,
  messages: { key?: string; value: string | Buffer | null; partition?: number }[],
) {
  const producer = s.kafka().producer();
  await producer.connect();
  for (const m of messages) await producer.send({ topic, messages: [m], acks: -1 });
  await producer.disconnect();
}

describe("a record too large for the DLQ", () => {
  test("0.5, 0.9 and 2 MB blank values and one just under the broker's limit: each dead-lettered, bounded; no partition stalls", async () => {
    const src = await s.topic("big.src");
    const input = await s.topic("big.input");
    const dlq = await s.topic("big.dlq"); // the broker's default max.message.bytes (1048588)
    // The source topic takes records up to 3 MB, as a producer's own topic may.
    const admin = s.kafka().admin();
    await admin.connect();
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: src,
          configEntries: [{ name: "max.message.bytes", value: "3000000" }],
        },
      ],
    });
    await admin.disconnect();

    const sizes = { half: 500_000, ninety: 900_000, two: 2_000_000, edge: 1_048_000 };
    await produce(
      src,
      Object.entries(sizes).map(([k, n], i) => ({ key: `big-${k}`, value: " ".repeat(n), partition: i % 3 })),
    );
    await produce(
      src,
      [0, 1, 2].map((p) => ({
        value: JSON.stringify({ doc_id: `after-${p}`, text: `normal ${p}` }),
        partition: p,
      })),
    );

    const ns = `${s.prefix}:big`;
    const parse = await start(
      "parse",
      {
        SPARK_KAFKA_TOPICS: src,
        SINK_INPUT_TOPIC: input,
        EMBED_DLQ_TOPIC: dlq,
        PARSE_GROUP: `parse-big-${s.id}`,
        REDDB_NAMESPACE: ns,
        VEC_OUTPUT_DIR: "",
      },
      "PARSE_METRICS_PORT",
    );
    const out = await collect(s.kafka(), [input, dlq], `collect-big-${s.id}`);
    await eventually("3 normal records and 4 DLQ entries", () => out.records.length >= 7, 60_000);
    await out.stop();
    const normal = out.records.filter((r) => r.topic === input).map((r) => r.key);
    expect(normal.sort()).toEqual(["after-0", "after-1", "after-2"]);

    const entries = out.records.filter((r) => r.topic === dlq);
    expect(entries).toHaveLength(4);
    const limit = Number((await parse.metrics()).dlq_max_entry_bytes);
    expect(limit).toBeLessThanOrEqual(1_048_588 - 4096); // lowered to what the DLQ topic takes
    for (const r of entries) {
      const e = JSON.parse(String(r.value)) as DlqEntry;
      const n = sizes[(e.doc_id as string).slice(4) as keyof typeof sizes];
      expect(Buffer.byteLength(r.value as Buffer)).toBeLessThanOrEqual(limit);
      expect(e).toMatchObject({ stage: "parse", reason: "empty_text", doc_id: r.key });
      if (n + 1000 < limit) {
        expect(e.value_truncated).toBeUndefined(); // fits: the original once, as text
        expect(e).toMatchObject({ value: " ".repeat(n), value_b64: null });
      } else {
        expect(e).toMatchObject({ value_truncated: true, value_bytes: n, value: null });
        expect(e.value_sha256).toBe(createHash("sha256").update(" ".repeat(n)).digest("hex"));
        expect(entryBytes(e)?.toString()).toMatch(/^ +$/);
      }
    }
    const redisDlq = await s.redis().xrange(`${ns}:embeddings_dlq`, "-", "+");
    expect(redisDlq).toHaveLength(4);
    await eventually("committed, nothing waiting", async () => (await parse.metrics()).lag === 0, 30_000);
    const m = await parse.metrics();
    expect(m).toMatchObject({ paused: false, records_in: 7, records_out: 3, dlq_records: 4 });
    expect((await health(parse)).status).toBe(200);
  });
});

describe("lag and health while records wait", () => {
  test("InferMesh down: lag counts every waiting record of every partition; /health says stuck", async () => {
    const input = await s.topic("lag.input");
    const output = await s.topic("lag.output");
    const embed = await start(
      "embed-worker",
      {
        EMBED_INPUT_TOPIC: input,
        EMBED_OUTPUT_TOPIC: output,
        EMBED_DLQ_TOPIC: "",
        EMBED_GROUP: `embed-lag-${s.id}`,
        REDDB_NAMESPACE: `${s.prefix}:lag`,
        INFERMESH_URL: `http://127.0.0.1:${freePort()}`, // nothing listens
        EMBED_MODEL: "hash-8",
        KAFKA_LAG_POLL_SEC: "0.5",
      },
      "EMBED_METRICS_PORT",
      false,
    );
    await eventually("joined", async () => Number((await embed.metrics()).assigned_partitions) === 3);
    const n = 600;
    await produce(
      input,
      Array.from({ length: 3 }, (_, p) => p).flatMap((p) =>
        Array.from({ length: n / 3 }, (_, i) => ({
          value: JSON.stringify({
            text: `waiting ${p}-${i}`,
            doc_id: `w-${p}-${i}`,
            topic: "t",
            kafka_ts: 1,
          }),
          partition: p,
        })),
      ),
    );
    const m = await eventually(
      "lag = every record produced",
      async () => {
        const m = await embed.metrics();
        return m.lag === n && m.paused === true && m;
      },
      30_000,
    );
    expect(Object.values(m.lag_by_partition as Record<string, number>)).toEqual([n / 3, n / 3, n / 3]);
    const h = await health(embed);
    expect(h.status).toBe(503);
    expect(h.body.checks.consuming).toMatchObject({ ok: false });
    expect(h.body.checks.consuming?.detail).toMatch(/^stuck since .*InferMesh unreachable/);
  });
});

describe("restart after SIGKILL", () => {
  test("a parse worker killed and restarted at once resumes within 10 s; /health says rebalancing until then", async () => {
    const src = await s.topic("restart.src");
    const input = await s.topic("restart.input");
    const env = {
      SPARK_KAFKA_TOPICS: src,
      SINK_INPUT_TOPIC: input,
      EMBED_DLQ_TOPIC: "",
      PARSE_GROUP: `parse-restart-${s.id}`,
      REDDB_NAMESPACE: `${s.prefix}:restart`,
      VEC_OUTPUT_DIR: "",
    };
    const port = freePort();
    const first = await startWorker("parse", env, { portVar: "PARSE_METRICS_PORT", port });
    running.push(first);
    await produce(src, [{ value: JSON.stringify({ doc_id: "before", text: "before the kill" }) }]);
    const out = await collect(s.kafka(), [input], `collect-restart-${s.id}`);
    await eventually("before", () => out.records.some((r) => r.key === "before"));
    await first.stop("SIGKILL");

    const restartedAt = Date.now();
    const again = await startWorker("parse", env, { portVar: "PARSE_METRICS_PORT", port, healthy: false });
    running.push(again);
    await produce(
      src,
      [0, 1, 2].map((p) => ({
        value: JSON.stringify({ doc_id: `after-${p}`, text: "after the kill" }),
        partition: p,
      })),
    );
    const early = await health(again);
    await eventually(
      "the records produced after the kill",
      () => ["after-0", "after-1", "after-2"].every((k) => out.records.some((r) => r.key === k)),
      60_000,
    );
    const resumeSec = (Date.now() - restartedAt) / 1000;
    console.log(`restart after SIGKILL: work resumed ${resumeSec.toFixed(1)} s after the restart`);
    await out.stop();
    if (early.status === 503) expect(early.body.checks.consuming?.detail).toMatch(/^rebalancing/);
    expect((await health(again)).status).toBe(200); // the figure is printed, not asserted (goal ≤ 10 s)
  });
});
