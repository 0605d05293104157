/**
 * `replay` and `record` against the real broker: records go out and come back byte-identical,
 * with keys and headers; rate limiting, "from now on" recording, and the operator-facing errors.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type FixtureRecord, readFixture, serializeFixture } from "../../scripts/lib/fixture-format.ts";
import { recordTopic, replayFixture, toMessage } from "../../scripts/lib/replay.ts";
import { freePort, scope, type TestScope } from "../helpers/infra.ts";
import { repoRoot, runScript } from "../helpers/run.ts";

setDefaultTimeout(120_000); // real Kafka

let s: TestScope;
const dir = mkdtempSync(join(tmpdir(), "replay-test-"));
beforeAll(async () => {
  s = await scope();
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await s.cleanup();
});

/** Byte-exact identity of a record (notes are not part of it). */
const identity = (r: FixtureRecord) =>
  JSON.stringify([
    r.key,
    r.value === null ? null : r.value.toString("base64"),
    Object.entries(r.headers ?? {}).sort(([a], [b]) => a.localeCompare(b)),
  ]);
const multiset = (rs: readonly FixtureRecord[]) => rs.map(identity).sort();

const edgeRecords: FixtureRecord[] = [
  {
    key: "k-json",
    value: Buffer.from('{"doc_id":"e1","text":"héllo ✅ 😀"}'),
    headers: { agent: "coder", trace: "t1" },
  },
  { key: null, value: Buffer.from("plain text, no key") },
  { key: "k-tomb", value: null, note: "tombstone" },
  { key: null, value: null },
  { key: "k-empty", value: Buffer.alloc(0) },
  { key: "", value: Buffer.from("empty-string key") },
  { key: "k-bin", value: Buffer.from([0xff, 0xfe, 0x00, 0x80, 0x41]) },
  { key: "k-bom", value: Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]) },
  { key: "k-long", value: Buffer.from("x".repeat(50_000)), headers: { big: "y".repeat(300) } },
  { key: "k-hdr-empty", value: Buffer.from("header with empty value"), headers: { empty: "" } },
];

describe("round trip through the real broker", () => {
  test("replay.ts then record.ts: every record back byte-identical with key and headers", async () => {
    const topic = await s.topic("scripts");
    const file = join(dir, "edge.jsonl");
    writeFileSync(file, serializeFixture(edgeRecords));

    const sent = await runScript("replay", [file, "--topic", topic]);
    expect(sent.stderr).toContain(`${edgeRecords.length}/${edgeRecords.length}`);
    expect(sent.code).toBe(0);
    expect(sent.stdout).toMatch(
      new RegExp(`^${edgeRecords.length} records, \\d+ bytes in [\\d.]+ s \\(\\d+ records/s\\) → `),
    );

    const out = join(dir, "recorded.jsonl");
    const got = await runScript("record", [
      topic,
      "--from-beginning",
      "--out",
      out,
      "--max",
      String(edgeRecords.length),
    ]);
    expect(got.stdout).toContain(`wrote ${edgeRecords.length} records to ${out}`);
    expect(got.code).toBe(0);
    expect(multiset(readFixture(out))).toEqual(multiset(edgeRecords));
  });

  test("replayFixture / recordTopic: both fixture files, twice, byte-identical", async () => {
    const topic = await s.topic("library");
    const records = [
      ...readFixture(join(repoRoot, "fixtures", "agent-results.jsonl")),
      ...readFixture(join(repoRoot, "fixtures", "malformed.jsonl")),
    ];
    const progress: number[] = [];
    const summary = await replayFixture({
      brokers: s.cfg.kafka.brokers,
      topic,
      records,
      repeat: 2,
      batchSize: 100,
      onProgress: (sent, total) => {
        expect(total).toBe(records.length * 2);
        progress.push(sent);
      },
    });
    expect(summary.records).toBe(records.length * 2);
    const bytes = records.reduce(
      (n, r) =>
        n +
        Buffer.byteLength(r.key ?? "") +
        (r.value?.length ?? 0) +
        Object.entries(r.headers ?? {}).reduce(
          (m, [k, v]) => m + Buffer.byteLength(k) + Buffer.byteLength(v),
          0,
        ),
      0,
    );
    expect(summary.bytes).toBe(bytes * 2);
    expect(progress.at(-1)).toBe(records.length * 2);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));

    const { records: back, summary: rec } = await recordTopic({
      brokers: s.cfg.kafka.brokers,
      topic,
      fromBeginning: true,
      max: records.length * 2,
      groupId: `record-${s.id}-library`,
    });
    expect(rec.stoppedBy).toBe("max");
    expect(multiset(back)).toEqual(multiset([...records, ...records]));
  });

  test("--rate holds the producer to N records/s", async () => {
    const topic = await s.topic("rate", 1);
    const records = Array.from({ length: 30 }, (_, i) => ({
      key: `r${i}`,
      value: Buffer.from(`record ${i}`),
    }));
    const progress: number[] = [];
    const summary = await replayFixture({
      brokers: s.cfg.kafka.brokers,
      topic,
      records,
      rate: 20,
      onProgress: (sent) => progress.push(sent),
    });
    // Record i is due at i/20 s: the 30th no earlier than 1.45 s after the start.
    expect(summary.seconds).toBeGreaterThanOrEqual(1.4);
    expect(summary.recordsPerSec).toBeLessThanOrEqual(21.5);
    expect(progress.length).toBeGreaterThan(5); // sent in small steps, not one burst
    // One partition keeps order: the fixture order is the topic order.
    const { records: back } = await recordTopic({
      brokers: s.cfg.kafka.brokers,
      topic,
      fromBeginning: true,
      max: 30,
      groupId: `record-${s.id}-rate`,
    });
    expect(back.map((r) => r.key)).toEqual(records.map((r) => r.key));
  });

  test("without --from-beginning only records produced after the start are recorded", async () => {
    const topic = await s.topic("tail", 1);
    const producer = s.kafka().producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ key: "old", value: "before" }] });
    let ready!: () => void;
    const joined = new Promise<void>((resolve) => {
      ready = resolve;
    });
    const recording = recordTopic({
      brokers: s.cfg.kafka.brokers,
      topic,
      max: 2,
      idleSec: 60,
      groupId: `record-${s.id}-tail`,
      onReady: () => ready(),
    });
    await joined;
    await producer.send({
      topic,
      messages: [
        toMessage({ key: "new1", value: Buffer.from("after 1") }),
        toMessage({ key: "new2", value: null }),
      ],
    });
    await producer.disconnect();
    const { records, summary } = await recording;
    expect(summary.stoppedBy).toBe("max");
    expect(records.map((r) => [r.key, r.value?.toString() ?? null])).toEqual([
      ["new1", "after 1"],
      ["new2", null],
    ]);
  });

  test("record.ts stops after --idle-sec without new records", async () => {
    const topic = await s.topic("idle");
    const out = join(dir, "idle.jsonl");
    const started = Date.now();
    const r = await runScript("record", [topic, "--out", out, "--idle-sec", "1"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`wrote 0 records to ${out} (stopped: 1 s idle)`);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(readFixture(out)).toEqual([]);
  });
});

describe("operator-facing behaviour", () => {
  for (const name of ["replay", "record"]) {
    test(`${name} --help exits 0 with usage; an unknown flag exits 2`, async () => {
      const help = await runScript(name, ["--help"]);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain(`Usage: bun scripts/${name}.ts`);
      const bad = await runScript(name, ["--nope"]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain("unknown option: --nope");
    });
  }

  test("replay: missing FILE, a missing file, a malformed file, bad flags", async () => {
    const none = await runScript("replay", []);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("FILE is missing");

    const missing = await runScript("replay", [join(dir, "nope.jsonl")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("nope.jsonl: no such file");

    const file = join(dir, "bad.jsonl");
    writeFileSync(file, '{"key":null,"value":"ok"}\n{"key":null,"value":42}\n');
    const bad = await runScript("replay", [file]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`${file}:2: "value" must be a string or null`);

    const rate = await runScript("replay", [file, "--rate", "fast"]);
    expect(rate.code).toBe(2);
    expect(rate.stderr).toContain("--rate expects a number");
    const repeat = await runScript("replay", [file, "--repeat", "0"]);
    expect(repeat.code).toBe(2);
  });

  test("a topic that does not exist is named", async () => {
    const file = join(dir, "one.jsonl");
    writeFileSync(file, '{"key":null,"value":"x"}\n');
    const topic = `test.${s.id}.missing`;
    const r = await runScript("replay", [file, "--topic", topic]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`topic "${topic}" does not exist`);
    const rec = await runScript("record", [topic, "--out", join(dir, "missing-topic.jsonl")]);
    expect(rec.code).toBe(1);
    expect(rec.stderr).toContain(`topic "${topic}" does not exist`);
  });

  test("Kafka down: a clear error naming the address, not a hang", async () => {
    const file = join(dir, "down.jsonl");
    writeFileSync(file, '{"key":null,"value":"x"}\n');
    const env = { KAFKA_BOOTSTRAP_SERVERS: `127.0.0.1:${freePort()}` };
    for (const [name, args] of [
      ["replay", [file, "--topic", "whatever"]],
      ["record", ["whatever", "--out", join(dir, "down-out.jsonl")]],
    ] as const) {
      const started = Date.now();
      const r = await runScript(name, [...args], env);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`cannot reach Kafka at ${env.KAFKA_BOOTSTRAP_SERVERS}`);
      expect(Date.now() - started).toBeLessThan(60_000);
    }
  });
});
