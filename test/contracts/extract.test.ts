import { expect, test } from "bun:test";
import { deriveDocId, parseAgentResult, sha256Hex, truncate } from "../../pipeline/contracts/extract.ts";

const b = (s: string) => Buffer.from(s);

test("first string field wins, in the configured order; dotted paths reach nested fields", () => {
  expect(
    parseAgentResult(b(JSON.stringify({ message: 5, content: "from content", body: "b" })), null),
  ).toMatchObject({
    ok: true,
    text: "from content",
  });
  const nested = b(JSON.stringify({ result: { summary: "nested" } }));
  expect(parseAgentResult(nested, null)).toMatchObject({
    text: JSON.stringify({ result: { summary: "nested" } }),
  });
  expect(parseAgentResult(nested, null, { fields: ["result.summary"] })).toMatchObject({ text: "nested" });
});

test("file events, raw JSON and non-JSON", () => {
  expect(parseAgentResult(b('{"path":"src/a.ts","event":"created"}'), null)).toMatchObject({
    text: "File src/a.ts was created",
  });
  expect(parseAgentResult(b('{"path":"src/a.ts"}'), null)).toMatchObject({
    text: "File src/a.ts was modified",
  });
  expect(parseAgentResult(b("[1,2]"), null)).toMatchObject({ text: "[1,2]" });
  expect(parseAgentResult(b('"hello"'), null)).toMatchObject({ text: '"hello"' });
  expect(parseAgentResult(b("{broken"), null)).toMatchObject({ text: "{broken" });
});

test("invalid UTF-8 is replaced, never a crash", () => {
  const r = parseAgentResult(Buffer.from([0x61, 0xff, 0x62]), null);
  expect(r).toMatchObject({ ok: true, text: "a\uFFFDb" });
});

test("null and blank values are DLQ outcomes with reasons", () => {
  expect(parseAgentResult(null, null)).toMatchObject({ ok: false, reason: "null_value" });
  expect(parseAgentResult(b(""), null)).toMatchObject({ ok: false, reason: "empty_text" });
  expect(parseAgentResult(b('{"text":"  \\n "}'), null)).toMatchObject({ ok: false, reason: "empty_text" });
});

test("doc_id: fields in order (strings trimmed, integers), then the key, then sha256 of the text", () => {
  expect(deriveDocId({ doc_id: "  a  ", id: "b" }, null, "t")).toBe("a");
  expect(deriveDocId({ doc_id: " ", id: 0 }, null, "t")).toBe("0");
  expect(deriveDocId({ id: 1.5, document_id: -3 }, null, "t")).toBe("-3");
  expect(deriveDocId({ id: true, key: "k" }, null, "t")).toBe("k");
  expect(deriveDocId({}, b(" rec-key "), "t")).toBe("rec-key");
  expect(deriveDocId({}, b("  "), "t")).toBe(sha256Hex("t"));
  expect(sha256Hex("t")).toBe("e3b98a4da31a127d4bde6e43033f66ba274cab0eb7eb1c70ec41402bf6273dd8");
});

test("truncation counts UTF-16 units and never splits a surrogate pair", () => {
  expect(truncate("abcdef", 4)).toEqual({ text: "abcd", truncated: true });
  expect(truncate("abcd", 4)).toEqual({ text: "abcd", truncated: false });
  expect(truncate("ab😀cd", 3)).toEqual({ text: "ab", truncated: true });
  expect(truncate("ab😀cd", 4)).toEqual({ text: "ab😀", truncated: true });
  const r = parseAgentResult(b("x".repeat(10)), null, { maxChars: 4 });
  expect(r).toEqual({ ok: true, text: "xxxx", truncated: true, doc_id: sha256Hex("xxxx") });
});
