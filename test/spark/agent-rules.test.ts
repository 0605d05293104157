/**
 * The Spark parse job's rules (pipeline/spark/agent_rules.py) agree with the Bun parse rules
 * on the shared golden cases and on every record of the fixtures.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { type ExtractOptions, parseAgentResult } from "../../pipeline/contracts/extract.ts";
import { type FixtureRecord, readFixture, readGoldenCases } from "../../scripts/lib/fixture-format.ts";
import { repoRoot, run } from "../helpers/run.ts";

interface Case {
  record: FixtureRecord;
  fields?: string[];
  max_chars?: number;
}

async function python(cases: Case[]): Promise<unknown[]> {
  const input = cases
    .map((c) =>
      JSON.stringify({
        key: c.record.key,
        value_b64: c.record.value === null ? null : c.record.value.toString("base64"),
        ...(c.fields ? { fields: c.fields } : {}),
        ...(c.max_chars ? { max_chars: c.max_chars } : {}),
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
  };
  const r = parseAgentResult(c.record.value, c.record.key === null ? null : Buffer.from(c.record.key), opts);
  return r.ok ? r : { ok: false, reason: r.reason, error: r.error };
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
