/**
 * Text and doc_id rules of the parse stage (pure, no I/O).
 *
 * Text: a null value has no text (DLQ `null_value`). Otherwise the value is decoded — as
 * UTF-16LE or UTF-16BE when it starts with that byte-order mark, else as UTF-8 (a UTF-8 BOM
 * dropped); invalid bytes become U+FFFD, never an error — and parsed as JSON when possible;
 * lone surrogates from JSON escapes also become U+FFFD, so every sink stores the same text.
 * For a JSON object the text is the first configured field (dotted paths allowed) whose
 * value is a string; failing that, an object with a string `path` becomes
 * `File {path} was {event|modified}`; anything else (an object without those fields,
 * arrays, literals, non-JSON) is the whole decoded string. Blank text (only whitespace and
 * invisible default-ignorable characters such as U+200B) → DLQ `empty_text`.
 * Text longer than the maximum (UTF-16 code units) is truncated, never inside a surrogate
 * pair, and marked `truncated`.
 *
 * doc_id: the first of `doc_id`, `id`, `document_id`, `key` that is a non-blank string
 * (trimmed, lone surrogates → U+FFFD) or an integer (decimal string; −0 is not one, so it
 * cannot collide with 0); else the Kafka record key (UTF-8, trimmed, non-blank); else
 * lowercase hex sha256 of the UTF-8 bytes of the emitted text. An id found in a field or the
 * key (an explicit id) must be at most 512 UTF-8 bytes, hold no control character (U+0000–
 * U+001F, U+007F–U+009F, U+2028, U+2029) and no `..` path segment (between `/` or `\`);
 * otherwise the record goes to the DLQ as `invalid_doc_id`. A record dead-lettered for its
 * text carries its explicit id when it has a valid one.
 *
 * Labels (a record's outcome fields, for RL): for each configured label field (dotted paths
 * allowed; the label's name is the path as configured), in that order, of a JSON object:
 * a string is kept (lone surrogates → U+FFFD, cut to {@link LABEL_MAX_CHARS} UTF-16 code
 * units like the text, without a mark), a boolean or null is kept, a number is kept when it
 * is finite and not an integer beyond ±(2^53 − 1) (which JSON readers cannot carry exactly;
 * −0 becomes 0); objects, arrays and missing fields are left out. `success` is derived:
 * the `success` label when it is a boolean, else `true` when `status` (trimmed, lowercase) is
 * one of {@link SUCCESS_STATUSES}, `false` when one of {@link FAILURE_STATUSES}, else null.
 * An outcome carries `labels` only when there is at least one, `success` only when not null.
 */
import { createHash } from "node:crypto";

export const DEFAULT_TEXT_FIELDS = ["text", "message", "content", "prompt", "body"] as const;
export const DOC_ID_FIELDS = ["doc_id", "id", "document_id", "key"] as const;

export type ParseReason = "null_value" | "empty_text" | "invalid_doc_id";

/** Longest explicit doc_id, in UTF-8 bytes. */
export const MAX_DOC_ID_BYTES = 512;

/** Outcome fields copied into `labels` by default (PARSE_LABEL_FIELDS). */
export const DEFAULT_LABEL_FIELDS = [
  "status",
  "success",
  "agent",
  "task",
  "kind",
  "repo",
  "ts",
  "reward",
  "latency_ms",
  "tokens",
  "episode",
  "episode_id",
  "trajectory",
  "trajectory_id",
  "step",
] as const;

/** Longest string label, UTF-16 code units. */
export const LABEL_MAX_CHARS = 256;
export const SUCCESS_STATUSES = [
  "success",
  "succeeded",
  "ok",
  "pass",
  "passed",
  "done",
  "completed",
  "resolved",
];
export const FAILURE_STATUSES = [
  "failure",
  "failed",
  "fail",
  "error",
  "errored",
  "timeout",
  "crashed",
  "cancelled",
  "rejected",
];

export type LabelValue = string | number | boolean | null;
export type Labels = Record<string, LabelValue>;

export type ParseOutcome =
  | { ok: true; text: string; doc_id: string; truncated: boolean; labels?: Labels; success?: boolean }
  | { ok: false; reason: ParseReason; error: string; doc_id: string | null };

export interface ExtractOptions {
  fields?: readonly string[];
  maxChars?: number;
  /** Label fields (default {@link DEFAULT_LABEL_FIELDS}). */
  labelFields?: readonly string[];
}

const decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: false });
const utf16le = new TextDecoder("utf-16le", { fatal: false, ignoreBOM: false });
const utf16be = new TextDecoder("utf-16be", { fatal: false, ignoreBOM: false });

export function decodeUtf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** A value's text: UTF-16 when it starts with a UTF-16 byte-order mark (dropped), else UTF-8. */
export function decodeValue(bytes: Uint8Array): string {
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) return utf16le.decode(bytes);
  if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff) return utf16be.decode(bytes);
  return decoder.decode(bytes);
}

// Whitespace (String.prototype.trim's set) and default-ignorable code points (zero-width
// spaces and joiners, format controls, variation selectors …): a text of only these is blank.
const BLANK = /^[\s\p{Default_Ignorable_Code_Point}]*$/u;

/** Whether a text has nothing visible to embed. */
export function isBlank(text: string): boolean {
  return BLANK.test(text);
}

// Cc is exactly U+0000–U+001F and U+007F–U+009F.
const CONTROL = /[\p{Cc}\u2028\u2029]/u;

/** Why an explicit doc_id is refused, or null when it is fine (rules above). */
export function docIdProblem(id: string): string | null {
  const bytes = Buffer.byteLength(id, "utf8");
  if (bytes > MAX_DOC_ID_BYTES) return `doc_id has ${bytes} UTF-8 bytes, more than ${MAX_DOC_ID_BYTES}`;
  if (CONTROL.test(id)) return "doc_id holds a control character (newline, tab, NUL …)";
  if (id.split(/[/\\]/).includes("..")) return 'doc_id holds a ".." path segment';
  return null;
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

/** The explicit doc_id of a record (a field, else the Kafka key), unchecked; null when it has none. */
export function explicitDocId(parsed: unknown, key: Uint8Array | null): string | null {
  if (isPlainObject(parsed)) {
    for (const f of DOC_ID_FIELDS) {
      const v = parsed[f];
      // Lone surrogates become U+FFFD, as in the text: the key (UTF-8) and the value must agree.
      if (typeof v === "string" && v.trim() !== "") return v.trim().toWellFormed();
      if (typeof v === "number" && Number.isSafeInteger(v) && !Object.is(v, -0)) return String(v);
    }
  }
  if (key && key.length > 0) {
    const k = decodeUtf8(key).trim();
    if (k !== "") return k;
  }
  return null;
}

/** doc_id by the rules above (explicit, else the hash of the text), without the validity check. */
export function deriveDocId(parsed: unknown, key: Uint8Array | null, text: string): string {
  return explicitDocId(parsed, key) ?? sha256Hex(text);
}

/** An explicit id when it is valid, for a DLQ entry (an operator finds the record by it). */
function validIdOrNull(id: string | null): string | null {
  return id !== null && docIdProblem(id) === null ? id : null;
}

/** The labels of a parsed value by the rules above ({} for anything but a JSON object). */
export function extractLabels(parsed: unknown, fields: readonly string[]): Labels {
  const labels: Labels = {};
  if (!isPlainObject(parsed)) return labels;
  for (const f of fields) {
    const v = getPath(parsed, f);
    if (typeof v === "string") labels[f] = truncate(v.toWellFormed(), LABEL_MAX_CHARS).text;
    else if (typeof v === "boolean" || v === null) labels[f] = v;
    else if (
      typeof v === "number" &&
      Number.isFinite(v) &&
      !(Number.isInteger(v) && !Number.isSafeInteger(v))
    )
      labels[f] = v === 0 ? 0 : v;
  }
  return labels;
}

/** `success` of a record's labels by the rule above. */
export function successOf(labels: Labels): boolean | null {
  if (typeof labels.success === "boolean") return labels.success;
  const status = typeof labels.status === "string" ? labels.status.trim().toLowerCase() : "";
  if (SUCCESS_STATUSES.includes(status)) return true;
  if (FAILURE_STATUSES.includes(status)) return false;
  return null;
}

/** Applies the parse rules to one Kafka record's value and key. */
export function parseAgentResult(
  value: Uint8Array | null,
  key: Uint8Array | null,
  { fields = DEFAULT_TEXT_FIELDS, maxChars = 8192, labelFields = DEFAULT_LABEL_FIELDS }: ExtractOptions = {},
): ParseOutcome {
  if (value === null) {
    const doc_id = validIdOrNull(explicitDocId(undefined, key));
    return { ok: false, reason: "null_value", error: "record value is null (tombstone)", doc_id };
  }
  const decoded = decodeValue(value);
  const parsed = tryJson(decoded);
  // JSON escapes can carry lone surrogates, which no sink can encode as UTF-8: replace them too.
  const raw = extractText(decoded, parsed, fields).toWellFormed();
  const explicit = explicitDocId(parsed, key);
  if (isBlank(raw)) {
    const error = "extracted text is empty or blank";
    return { ok: false, reason: "empty_text", error, doc_id: validIdOrNull(explicit) };
  }
  const problem = explicit === null ? null : docIdProblem(explicit);
  if (problem !== null) return { ok: false, reason: "invalid_doc_id", error: problem, doc_id: null };
  const { text, truncated } = truncate(raw, maxChars);
  const labels = extractLabels(parsed, labelFields);
  const success = successOf(labels);
  return {
    ok: true,
    text,
    doc_id: explicit ?? sha256Hex(text),
    truncated,
    ...(Object.keys(labels).length > 0 ? { labels } : {}),
    ...(success !== null ? { success } : {}),
  };
}
