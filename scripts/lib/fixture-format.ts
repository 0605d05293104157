/**
 * The fixture format: JSONL, one Kafka record per line.
 *
 * ```json
 * {"key": "k1", "value": "{\"doc_id\":\"a\",\"text\":\"hi\"}", "headers": {"agent": "coder"}, "note": "…"}
 * {"key": null, "value": null}                       ← a tombstone (null value)
 * {"key": null, "value_b64": "/w=="}                 ← bytes that are not valid UTF-8
 * ```
 *
 * - `key`: the record key as UTF-8 text, or null (required).
 * - `value`: the record value as its UTF-8 text (a JSON document serialised as a string, or plain
 *   text); null is a tombstone.
 * - `value_b64`: the value's bytes in standard base64, used instead of `value` when they are not
 *   valid UTF-8. When present, `value` is absent or null and `value_b64` is the value.
 * - `headers`: optional, header name → UTF-8 text.
 * - `note`: optional, for people; not part of the record.
 *
 * Blank lines are ignored; any other line that does not follow the format is an error naming the
 * file and line. The golden parse cases (`fixtures/golden/parse-cases.jsonl`) use the same record
 * fields plus `name`, `fields`, `max_chars` and `expect`; {@link readGoldenCases} reads them.
 */
import { readFileSync } from "node:fs";

/** One Kafka record of a fixture, with the value as exact bytes. */
export interface FixtureRecord {
  key: string | null;
  /** Exact value bytes; null is a tombstone. */
  value: Buffer | null;
  headers?: Record<string, string>;
  note?: string;
}

/** One line of a fixture file as JSON. */
export interface FixtureLine {
  key: string | null;
  value?: string | null;
  value_b64?: string;
  headers?: Record<string, string>;
  note?: string;
}

/** A malformed (or unreadable) fixture file, with where; `line` is 0 for the file as a whole. */
export class FixtureError extends Error {
  constructor(
    readonly source: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(line > 0 ? `${source}:${line}: ${reason}` : `${source}: ${reason}`);
    this.name = "FixtureError";
  }
}

const RECORD_FIELDS = new Set(["key", "value", "value_b64", "headers", "note"]);
const utf8Strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** True when `bytes` are valid UTF-8 (so that the text form round-trips exactly). */
export function isValidUtf8(bytes: Uint8Array): boolean {
  try {
    utf8Strict.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** Strict standard base64 (with padding); anything else is rejected rather than silently mangled. */
function decodeBase64(s: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) return undefined;
  const bytes = Buffer.from(s, "base64");
  return bytes.toString("base64") === s ? bytes : undefined;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Reads the record fields (`key`, `value`/`value_b64`, `headers`, `note`) of a parsed line.
 * `fail` raises the caller's error with a reason. Extra fields are the caller's business.
 */
export function recordFromObject(
  obj: Record<string, unknown>,
  fail: (reason: string) => never,
): FixtureRecord {
  if (!("key" in obj)) fail('missing "key" (use null for a record without a key)');
  const { key, value, value_b64: b64, headers, note } = obj;
  if (key !== null && typeof key !== "string") fail(`"key" must be a string or null, got ${typeof key}`);

  let bytes: Buffer | null;
  if (b64 !== undefined) {
    if (typeof b64 !== "string") fail(`"value_b64" must be a string, got ${typeof b64}`);
    if (value !== undefined && value !== null) fail('"value" and "value_b64" are both set; use one');
    const decoded = decodeBase64(b64);
    if (!decoded) fail('"value_b64" is not valid standard base64');
    bytes = decoded;
  } else {
    if (!("value" in obj)) fail('missing "value" (use null for a tombstone, or "value_b64" for raw bytes)');
    if (value !== null && typeof value !== "string")
      fail(`"value" must be a string or null, got ${typeof value}`);
    if (typeof value === "string" && !value.isWellFormed()) {
      fail('"value" has a lone surrogate, which is not UTF-8; use "value_b64" for such bytes');
    }
    bytes = value === null ? null : Buffer.from(value, "utf8");
  }

  const record: FixtureRecord = { key, value: bytes };
  if (headers !== undefined) {
    if (!isPlainObject(headers)) fail('"headers" must be an object of strings');
    for (const [k, v] of Object.entries(headers)) {
      if (typeof v !== "string") fail(`header ${JSON.stringify(k)} must be a string, got ${typeof v}`);
    }
    record.headers = headers as Record<string, string>;
  }
  if (note !== undefined) {
    if (typeof note !== "string") fail(`"note" must be a string, got ${typeof note}`);
    record.note = note;
  }
  return record;
}

/** One JSONL line as an object with only `allowed` fields; `fail` reports what is wrong. */
function objectLine(
  line: string,
  allowed: Set<string>,
  fail: (reason: string) => never,
  listAllowed = false,
): Record<string, unknown> {
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch (err) {
    fail(`not valid JSON (${(err as Error).message})`);
  }
  if (!isPlainObject(obj)) fail("expected a JSON object per line");
  const o = obj as Record<string, unknown>;
  const extra = Object.keys(o).filter((k) => !allowed.has(k));
  if (extra.length > 0) {
    fail(
      `unknown field ${JSON.stringify(extra[0])}${listAllowed ? ` (allowed: ${[...allowed].join(", ")})` : ""}`,
    );
  }
  return o;
}

/** Parses one line (already known not to be blank). */
export function parseFixtureLine(line: string, source = "<fixture>", lineNo = 1): FixtureRecord {
  const fail = (reason: string): never => {
    throw new FixtureError(source, lineNo, reason);
  };
  const o = objectLine(line, RECORD_FIELDS, fail, true);
  return recordFromObject(o, fail);
}

/** Splits JSONL text into [lineNo, line] pairs, skipping blank lines; tolerates CRLF. */
function lines(text: string): [number, string][] {
  const out: [number, string][] = [];
  const all = text.split("\n");
  for (let i = 0; i < all.length; i++) {
    const line = (all[i] ?? "").replace(/\r$/, "");
    if (line.trim() !== "") out.push([i + 1, line]);
  }
  return out;
}

/** Parses a whole fixture file's text. */
export function parseFixture(text: string, source = "<fixture>"): FixtureRecord[] {
  return lines(text).map(([n, line]) => parseFixtureLine(line, source, n));
}

/** A fixture file's text; a missing or non-UTF-8 file is a {@link FixtureError}. */
function readText(path: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new FixtureError(path, 0, e.code === "ENOENT" ? "no such file" : e.message);
  }
  if (!isValidUtf8(bytes)) throw new FixtureError(path, 0, "the file is not valid UTF-8");
  return bytes.toString("utf8");
}

/** Reads a fixture file; a missing file or malformed line throws a {@link FixtureError}. */
export function readFixture(path: string): FixtureRecord[] {
  return parseFixture(readText(path), path);
}

/** The JSON form of a record: `value` when the bytes are valid UTF-8, else `value_b64`. */
export function toFixtureLine(record: FixtureRecord): FixtureLine {
  const line: FixtureLine = { key: record.key };
  if (record.value === null) line.value = null;
  else if (isValidUtf8(record.value)) line.value = record.value.toString("utf8");
  else line.value_b64 = record.value.toString("base64");
  if (record.headers && Object.keys(record.headers).length > 0) line.headers = record.headers;
  if (record.note !== undefined) line.note = record.note;
  return line;
}

/** One fixture line (JSON, no trailing newline). */
export function writeFixtureLine(record: FixtureRecord): string {
  return JSON.stringify(toFixtureLine(record));
}

/** A whole fixture file's text: one line per record, newline-terminated. */
export function serializeFixture(records: Iterable<FixtureRecord>): string {
  let out = "";
  for (const r of records) out += `${writeFixtureLine(r)}\n`;
  return out;
}

// ── golden parse cases ───────────────────────────────────────────────────────────────────────

export type GoldenExpect =
  | {
      outcome: "ok";
      text: string;
      doc_id: string;
      truncated: boolean;
      /** When given, the labels expected ({} for none) and `success` (null for unknown). */
      labels?: Record<string, string | number | boolean | null>;
      success?: boolean | null;
    }
  | { outcome: "dlq"; reason: GoldenDlqReason; doc_id?: string | null };

export type GoldenDlqReason = "null_value" | "empty_text" | "invalid_doc_id";
const DLQ_REASONS: readonly string[] = ["null_value", "empty_text", "invalid_doc_id"];

/** One golden parse case: a record, optional non-default settings, and the expected outcome. */
export interface GoldenCase {
  name: string;
  record: FixtureRecord;
  /** Text fields in order, when not the default (`text, message, content, prompt, body`). */
  fields?: string[];
  /** Maximum text length in UTF-16 code units, when not the default (8192). */
  max_chars?: number;
  /** Label fields in order, when not the default (PARSE_LABEL_FIELDS' default). */
  label_fields?: string[];
  expect: GoldenExpect;
  note?: string;
}

const GOLDEN_FIELDS = new Set([...RECORD_FIELDS, "name", "fields", "max_chars", "label_fields", "expect"]);
const EXPECT_FIELDS = new Set(["outcome", "reason", "text", "doc_id", "truncated", "labels", "success"]);

/** Reads and validates `fixtures/golden/parse-cases.jsonl` (format in fixtures/README.md). */
export function readGoldenCases(path: string): GoldenCase[] {
  const text = readText(path);
  const names = new Set<string>();
  return lines(text).map(([n, line]) => {
    const fail = (reason: string): never => {
      throw new FixtureError(path, n, reason);
    };
    const o = objectLine(line, GOLDEN_FIELDS, fail);
    if (typeof o.name !== "string" || o.name === "") fail('"name" must be a non-empty string');
    const name = o.name as string;
    if (names.has(name)) fail(`duplicate case name ${JSON.stringify(name)}`);
    names.add(name);
    const record = recordFromObject(o, fail);
    const c: GoldenCase = { name, record, expect: parseExpect(o.expect, fail) };
    if (record.note !== undefined) c.note = record.note;
    if (o.fields !== undefined) {
      const f = o.fields;
      if (!Array.isArray(f) || f.length === 0 || !f.every((x) => typeof x === "string" && x !== "")) {
        fail('"fields" must be a non-empty array of non-empty strings');
      }
      c.fields = f as string[];
    }
    if (o.label_fields !== undefined) {
      const f = o.label_fields;
      if (!Array.isArray(f) || !f.every((x) => typeof x === "string" && x !== "")) {
        fail('"label_fields" must be an array of non-empty strings');
      }
      c.label_fields = f as string[];
    }
    if (o.max_chars !== undefined) {
      const m = o.max_chars;
      if (typeof m !== "number" || !Number.isInteger(m) || m < 1) fail('"max_chars" must be an integer ≥ 1');
      c.max_chars = m as number;
    }
    return c;
  });
}

function parseExpect(e: unknown, fail: (reason: string) => never): GoldenExpect {
  if (!isPlainObject(e)) fail('"expect" must be an object');
  const o = e as Record<string, unknown>;
  const extra = Object.keys(o).filter((k) => !EXPECT_FIELDS.has(k));
  if (extra.length > 0) fail(`unknown field in "expect": ${JSON.stringify(extra[0])}`);
  if (o.outcome === "dlq") {
    if (!DLQ_REASONS.includes(o.reason as string)) {
      fail(`a dlq case needs "reason": one of ${DLQ_REASONS.join(", ")}`);
    }
    for (const k of ["text", "truncated", "labels", "success"]) if (k in o) fail(`a dlq case has no "${k}"`);
    const out: GoldenExpect = { outcome: "dlq", reason: o.reason as GoldenDlqReason };
    if ("doc_id" in o) {
      if (o.doc_id !== null && (typeof o.doc_id !== "string" || o.doc_id === ""))
        fail('a dlq case\'s "doc_id" is a non-empty string or null');
      out.doc_id = o.doc_id as string | null;
    }
    return out;
  }
  if (o.outcome === "ok") {
    if (typeof o.text !== "string") fail('an ok case needs "text" (string)');
    if (typeof o.doc_id !== "string" || o.doc_id === "") fail('an ok case needs "doc_id" (non-empty string)');
    if (typeof o.truncated !== "boolean") fail('an ok case needs "truncated" (boolean)');
    if ("reason" in o) fail('an ok case has no "reason"');
    if ("labels" in o && !isPlainObject(o.labels)) fail('"expect.labels" must be an object');
    if ("success" in o && o.success !== null && typeof o.success !== "boolean")
      fail('"expect.success" must be a boolean or null');
    return {
      outcome: "ok",
      text: o.text as string,
      doc_id: o.doc_id as string,
      truncated: o.truncated as boolean,
      ...("labels" in o ? { labels: o.labels as Record<string, string | number | boolean | null> } : {}),
      ...("success" in o ? { success: o.success as boolean | null } : {}),
    };
  }
  return fail('"expect.outcome" must be "ok" or "dlq"');
}
