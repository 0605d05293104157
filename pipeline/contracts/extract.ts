/**
 * Text and doc_id rules of the parse stage (pure, no I/O).
 *
 * Text: a null value has no text (DLQ `null_value`). Otherwise the value is decoded as
 * UTF-8 (invalid bytes become U+FFFD, never an error) and parsed as JSON when possible;
 * lone surrogates from JSON escapes also become U+FFFD, so every sink stores the same text.
 * For a JSON object the text is the first configured field (dotted paths allowed) whose
 * value is a string; failing that, an object with a string `path` becomes
 * `File {path} was {event|modified}`; anything else (an object without those fields,
 * arrays, literals, non-JSON) is the whole decoded string. Blank text → DLQ `empty_text`.
 * Text longer than the maximum (UTF-16 code units) is truncated, never inside a surrogate
 * pair, and marked `truncated`.
 *
 * doc_id: the first of `doc_id`, `id`, `document_id`, `key` that is a non-blank string
 * (trimmed, lone surrogates → U+FFFD) or an integer (decimal string); else the Kafka record key (UTF-8, trimmed,
 * non-blank); else lowercase hex sha256 of the UTF-8 bytes of the emitted text.
 */
import { createHash } from "node:crypto";

export const DEFAULT_TEXT_FIELDS = ["text", "message", "content", "prompt", "body"] as const;
export const DOC_ID_FIELDS = ["doc_id", "id", "document_id", "key"] as const;

export type ParseReason = "null_value" | "empty_text";

export type ParseOutcome =
  | { ok: true; text: string; doc_id: string; truncated: boolean }
  | { ok: false; reason: ParseReason; error: string };

export interface ExtractOptions {
  fields?: readonly string[];
  maxChars?: number;
}

const decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: false });

export function decodeUtf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Value at a dotted path (`result.summary`), or undefined. */
export function getPath(obj: Record<string, unknown>, path: string): unknown {
  if (path in obj) return obj[path];
  let cur: unknown = obj;
  for (const part of path.split(".")) {
    if (!isPlainObject(cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}

function tryJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

/** The text of a decoded value by the rules above (before blank check and truncation). */
export function extractText(decoded: string, parsed: unknown, fields: readonly string[]): string {
  if (!isPlainObject(parsed)) return decoded;
  for (const f of fields) {
    const v = getPath(parsed, f);
    if (typeof v === "string") return v;
  }
  if (typeof parsed.path === "string") {
    const event = typeof parsed.event === "string" ? parsed.event : "modified";
    return `File ${parsed.path} was ${event}`;
  }
  return decoded;
}

/** Truncates to `max` UTF-16 code units without splitting a surrogate pair. */
export function truncate(text: string, max: number): { text: string; truncated: boolean } {
  if (text.length <= max) return { text, truncated: false };
  let end = max;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return { text: text.slice(0, end), truncated: true };
}

export function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** doc_id by the rules above. */
export function deriveDocId(parsed: unknown, key: Uint8Array | null, text: string): string {
  if (isPlainObject(parsed)) {
    for (const f of DOC_ID_FIELDS) {
      const v = parsed[f];
      // Lone surrogates become U+FFFD, as in the text: the key (UTF-8) and the value must agree.
      if (typeof v === "string" && v.trim() !== "") return v.trim().toWellFormed();
      if (typeof v === "number" && Number.isSafeInteger(v)) return String(v);
    }
  }
  if (key && key.length > 0) {
    const k = decodeUtf8(key).trim();
    if (k !== "") return k;
  }
  return sha256Hex(text);
}

/** Applies the parse rules to one Kafka record's value and key. */
export function parseAgentResult(
  value: Uint8Array | null,
  key: Uint8Array | null,
  { fields = DEFAULT_TEXT_FIELDS, maxChars = 8192 }: ExtractOptions = {},
): ParseOutcome {
  if (value === null) return { ok: false, reason: "null_value", error: "record value is null (tombstone)" };
  const decoded = decodeUtf8(value);
  const parsed = tryJson(decoded);
  // JSON escapes can carry lone surrogates, which no sink can encode as UTF-8: replace them too.
  const raw = extractText(decoded, parsed, fields).toWellFormed();
  if (raw.trim() === "")
    return { ok: false, reason: "empty_text", error: "extracted text is empty or blank" };
  const { text, truncated } = truncate(raw, maxChars);
  return { ok: true, text, doc_id: deriveDocId(parsed, key, text), truncated };
}
