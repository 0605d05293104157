/**
 * The Spark parse job's rules (pipeline/spark/agent_rules.py) agree with the Bun parse rules
 * on the shared golden cases and on every record of the fixtures.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { boundDlqEntry, type DlqEntry } from "../../pipeline/contracts/dlq.ts";
import {
  DEFAULT_LABEL_FIELDS,
  type ExtractOptions,
  isBlank,
  parseAgentResult,
} from "../../pipeline/contracts/extract.ts";
import { parseRecords } from "../../pipeline/parse/stage.ts";
import { type FixtureRecord, readFixture, readGoldenCases } from "../../scripts/lib/fixture-format.ts";
import { repoRoot, run } from "../helpers/run.ts";

interface Case {
  record: FixtureRecord;
  fields?: string[];
  max_chars?: number;
  label_fields?: string[];
}

async function python(cases: Case[]): Promise<unknown[]> {
  const input = cases
    .map((c) =>
      JSON.stringify({
        key: c.record.key,
        value_b64: c.record.value === null ? null : c.record.value.toString("base64"),
        ...(c.fields ? { fields: c.fields } : {}),
        ...(c.max_chars ? { max_chars: c.max_chars } : {}),
        ...(c.label_fields ? { label_fields: c.label_fields } : {}),
      }),
    )
    .join("\n");
  const {
    code,
    stdout: out,
    stderr: err,
  } = await run(["python3", join(repoRoot, "pipeline", "spark", "agent_rules.py")], input);
  expect({ code, err }).toEqual({ code: 0, err: "" });
  return out
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
}

function bun(c: Case): unknown {
  const opts: ExtractOptions = {
    ...(c.fields ? { fields: c.fields } : {}),
    ...(c.max_chars ? { maxChars: c.max_chars } : {}),
    ...(c.label_fields ? { labelFields: c.label_fields } : {}),
  };
  const r = parseAgentResult(c.record.value, c.record.key === null ? null : Buffer.from(c.record.key), opts);
  return r.ok ? r : { ok: false, reason: r.reason, error: r.error, doc_id: r.doc_id };
}

test("golden parse cases: Python gives the same outcome as Bun", async () => {
  const cases = readGoldenCases(join(repoRoot, "fixtures", "golden", "parse-cases.jsonl"));
  const got = await python(cases);
  cases.forEach((c, i) => {
    expect({ name: c.name, out: got[i] }).toEqual({ name: c.name, out: bun(c) });
  });
});

test("every fixture record: Python gives the same outcome as Bun", async () => {
  const records = ["agent-results.jsonl", "malformed.jsonl", "paraphrase-stream.jsonl"].flatMap((f) =>
    readFixture(join(repoRoot, "fixtures", f)),
  );
  const cases = records.map((record) => ({ record }));
  const got = await python(cases);
  expect(got).toHaveLength(records.length);
  cases.forEach((c, i) => {
    expect({ i, out: got[i] }).toEqual({ i, out: bun(c) });
  });
});

test("edge cases where JavaScript and Python differ by default agree here", async () => {
  const raw = (value: string | Uint8Array | null, key: string | null = null): Case => ({
    record: { key, value: value === null ? null : Buffer.from(value as Uint8Array) },
  });
  const cases: Case[] = [
    raw('{"text": NaN}'), // not JSON in either: the raw string is the text
    raw('{"id": 1.0, "text": "a"}'),
    raw('{"id": -0, "text": "a"}'),
    raw('{"id": 9007199254740993, "text": "a"}'),
    raw('{"id": 1e3, "text": "a"}'),
    raw('{"id": true, "key": "k", "text": "a"}'),
    raw('\uFEFF{"text": "bom"}'),
    raw('{"text": "\\u0085"}'),
    raw('{"text": "\\u001c\\u001f"}'),
    raw('{"text": "\\u00a0\\u3000"}'),
    raw('{"text": "x\\ud83dy"}'),
    raw('{"text": "\\ud83d\\ude00 pair"}'),
    raw(new Uint8Array([0xe2, 0x82])), // truncated 3-byte sequence
    raw(new Uint8Array([0xc0, 0xaf, 0x41])), // overlong
    raw(new Uint8Array([0xed, 0xa0, 0x80, 0x41])), // an encoded surrogate
    raw(new Uint8Array([0xf4, 0x90, 0x80, 0x80])), // beyond U+10FFFF
    raw("plain", "\uFEFFkey-with-bom"),
    raw("plain", " \u00a0 "),
    raw('{"doc_id": "\\u2003spaced\\u2003", "text": "a"}'),
    raw('{"result.summary": "flat", "result": {"summary": "nested"}}'),
    raw('{"path": "a.ts", "event": ""}'),
    raw('{"path": 5, "event": "x"}'),
    raw("[]"),
    raw('"just a string"'),
    { record: { key: null, value: Buffer.from(`{"text": "${"é".repeat(10)}😀"}`) }, max_chars: 11 },
    { record: { key: null, value: Buffer.from('{"a": {"b": {"c": "deep"}}}') }, fields: ["a.b.c"] },
  ];
  const got = await python(cases);
  cases.forEach((c, i) => {
    expect({ i, out: got[i] }).toEqual({ i, out: bun(c) });
  });
});

test("blank characters: Python's set equals JavaScript's whitespace + Default_Ignorable_Code_Point", async () => {
  const script = [
    "import sys",
    `sys.path.insert(0, ${JSON.stringify(join(repoRoot, "pipeline", "spark"))})`,
    "import agent_rules",
    "print(','.join(str(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF and agent_rules.is_blank(chr(c))))",
  ].join("\n");
  const { code, stdout } = await run(["python3", "-c", script]);
  expect(code).toBe(0);
  const js: number[] = [];
  for (let c = 0; c < 0x110000; c++) {
    if (c >= 0xd800 && c <= 0xdfff) continue;
    if (isBlank(String.fromCodePoint(c))) js.push(c);
  }
  expect(stdout.trim().split(",").map(Number)).toEqual(js);
  expect(js.length).toBeGreaterThan(4000); // the E0000 block alone is 4096
});

test("DLQ envelopes, bounded: the Spark job's equal the Bun parse worker's (ts aside)", async () => {
  const garbage = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7919 + 13) % 256));
  const cases: { key: Buffer | null; value: Buffer | null; max: number }[] = [
    { key: Buffer.from("k-blank"), value: Buffer.from(" ".repeat(900_000)), max: 900_000 },
    { key: Buffer.from("k-blank"), value: Buffer.from(" ".repeat(900_000)), max: 65_536 },
    { key: Buffer.from("../x"), value: garbage, max: 65_536 }, // invalid id; not UTF-8, and too large
    { key: Buffer.from("x".repeat(3000)), value: null, max: 65_536 }, // a long key is cut
    { key: null, value: Buffer.from("\uFEFF \u200b "), max: 65_536 }, // the BOM is kept in the text
    { key: Buffer.from("bad\nid"), value: Buffer.from('{"text":"fine"}'), max: 65_536 },
  ];
  const script = [
    "import base64, json, sys",
    `sys.path.insert(0, ${JSON.stringify(join(repoRoot, "pipeline", "spark"))})`,
    "import spark_vectorize as s",
    "for line in sys.stdin:",
    "    c = json.loads(line)",
    "    b = lambda f: None if c[f] is None else base64.b64decode(c[f])",
    "    r = s.record_outcome(b('value'), b('key'), 'src', 1, 42, 1700000000000, s.agent_rules.DEFAULT_TEXT_FIELDS, 8192, c['max'], s.agent_rules.DEFAULT_LABEL_FIELDS)",
    "    print(json.dumps({'key': r[1], 'payload': r[5]}))",
  ].join("\n");
  const input = cases
    .map((c) =>
      JSON.stringify({
        key: c.key?.toString("base64") ?? null,
        value: c.value?.toString("base64") ?? null,
        max: c.max,
      }),
    )
    .join("\n");
  const { code, stdout, stderr } = await run(["python3", "-c", script], input);
  expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
  const got = stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { key: string | null; payload: string });
  const withoutTs = (json: string) => {
    const { ts: _ts, ...rest } = JSON.parse(json) as Record<string, unknown>;
    return rest;
  };
  cases.forEach((c, i) => {
    const record = {
      topic: "src",
      partition: 1,
      offset: "42",
      key: c.key,
      value: c.value,
      timestamp: 1700000000000,
      headers: {},
    };
    const [entry] = parseRecords([record], {}).dlq;
    const bounded = boundDlqEntry(entry as DlqEntry, c.max);
    const py = got[i] as { key: string | null; payload: string };
    expect({ i, entry: withoutTs(py.payload) }).toEqual({ i, entry: withoutTs(JSON.stringify(bounded)) });
    expect(Buffer.byteLength(py.payload)).toBeLessThanOrEqual(c.max);
    expect(py.key).toBe(bounded.doc_id ?? bounded.source.key);
  });
  const blank = JSON.parse((got[1] as { payload: string }).payload);
  expect(blank).toMatchObject({
    value: null,
    value_truncated: true,
    value_bytes: 900_000,
    doc_id: "k-blank",
  });
  expect(Buffer.from(blank.value_b64, "base64").toString()).toMatch(/^ +$/);
});

test("labels: the Spark job's embedding_input bytes equal the Bun parse worker's", async () => {
  const values = [
    {
      text: "a",
      status: "PASSED ",
      agent: "coder",
      reward: 0.75,
      tokens: 1200,
      latency_ms: 1.5e-7,
      step: 3.0,
    },
    // biome-ignore lint/correctness/noPrecisionLoss: an integer beyond 2^53 is the case under test
    { text: "b", status: "failed", reward: -0, ts: 1e21, episode: 12345678901234567890, task: { nested: 1 } },
    { text: "c", success: true, status: "error", reward: 123456789.125, kind: null, repo: "x".repeat(300) },
    {
      text: "d",
      reward: 5e-324,
      tokens: 1.7976931348623157e308,
      trajectory_id: "t\ud800x",
      episode_id: [1, 2],
    },
    { text: "e", meta: { agent: "nested" }, status: 7 },
    { text: "f" },
  ].map((v) => JSON.stringify(v).replace('"x"', '"x"'));
  // A raw JSON literal the JS side cannot build from an object: an exponent spelled otherwise.
  values.push('{"text":"g","reward":1.50E-5,"latency_ms":100.0,"tokens":-0.0}');
  const fields = [...DEFAULT_LABEL_FIELDS, "meta.agent"];
  const script = [
    "import base64, json, sys",
    `sys.path.insert(0, ${JSON.stringify(join(repoRoot, "pipeline", "spark"))})`,
    "import spark_vectorize as s",
    "fields = tuple(json.loads(sys.argv[1]))",
    "for line in sys.stdin:",
    "    v = base64.b64decode(line.strip())",
    "    r = s.record_outcome(v, None, 'src', 0, 1, 1700000000000, s.agent_rules.DEFAULT_TEXT_FIELDS, 8192, 65536, fields)",
    "    print(json.dumps({'payload': r[5], 'labels': r[7], 'success': r[8]}))",
  ].join("\n");
  const input = values.map((v) => Buffer.from(v).toString("base64")).join("\n");
  const { code, stdout, stderr } = await run(["python3", "-c", script, JSON.stringify(fields)], input);
  expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
  const got = stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { payload: string; labels: string; success: boolean | null });
  values.forEach((v, i) => {
    const record = {
      topic: "src",
      partition: 0,
      offset: "1",
      key: null,
      value: Buffer.from(v),
      timestamp: 1700000000000,
      headers: {},
    };
    const out = parseRecords([record], { labelFields: fields }).outputs[0]?.value;
    expect(got[i]?.payload).toBe(JSON.stringify(out));
    expect(got[i]?.labels).toBe(JSON.stringify(out?.labels ?? {}));
    expect(got[i]?.success).toBe(out?.success ?? null);
  });
  const first = parseRecords(
    [
      {
        topic: "src",
        partition: 0,
        offset: "1",
        key: null,
        value: Buffer.from(values[0] as string),
        timestamp: 1,
        headers: {},
      },
    ],
    { labelFields: fields },
  ).outputs[0]?.value;
  expect(first?.labels).toEqual({
    status: "PASSED ",
    agent: "coder",
    reward: 0.75,
    tokens: 1200,
    latency_ms: 1.5e-7,
    step: 3,
  });
  expect(first?.success).toBe(true);
});
