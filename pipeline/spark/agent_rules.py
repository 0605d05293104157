"""The parse rules of pipeline/contracts/extract.ts, in Python, for the Spark parse job.

Text: a null value is DLQ `null_value`. The bytes are decoded as UTF-8 (a leading BOM
dropped, invalid bytes replaced by U+FFFD, as the WHATWG decoder does) and parsed as JSON
when possible (NaN/Infinity are not JSON). For an object, the first configured field
(dotted paths allowed) whose value is a string; failing that, a string `path` gives
`File {path} was {event|modified}`; anything else is the whole decoded string. Lone
surrogates become U+FFFD. Blank text (JavaScript's whitespace set) is DLQ `empty_text`.
Longer texts are cut to `max_chars` UTF-16 code units, never inside a surrogate pair.

doc_id: the first of doc_id, id, document_id, key that is a non-blank string (trimmed, lone
surrogates replaced by U+FFFD) or a safe integer (decimal); else the Kafka key (UTF-8, trimmed,
non-blank); else sha256 of the emitted text's UTF-8 bytes, lowercase hex.

Run as `python agent_rules.py < cases.jsonl`: each line `{"key", "value_b64", "fields"?,
"max_chars"?}` gets one line of outcome JSON — the agreement tests compare it with Bun's.
"""

import base64
import hashlib
import json
import re
import sys

DEFAULT_TEXT_FIELDS = ("text", "message", "content", "prompt", "body")
DOC_ID_FIELDS = ("doc_id", "id", "document_id", "key")
MAX_SAFE_INTEGER = 2**53 - 1

# String.prototype.trim's set: WhiteSpace and LineTerminator of ECMAScript.
_JS_WS = "\t\n\x0b\x0c\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def js_trim(s):
    return s.strip(_JS_WS)


def decode_utf8(b):
    return b.decode("utf-8-sig", errors="replace")


def _reject_constant(name):
    raise ValueError(f"{name} is not JSON")


def try_json(s):
    try:
        return json.loads(s, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return None


def get_path(obj, path):
    if path in obj:
        return obj[path]
    cur = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def extract_text(decoded, parsed, fields):
    if not isinstance(parsed, dict):
        return decoded
    for f in fields:
        v = get_path(parsed, f)
        if isinstance(v, str):
            return v
    if isinstance(parsed.get("path"), str):
        event = parsed.get("event") if isinstance(parsed.get("event"), str) else "modified"
        return f"File {parsed['path']} was {event}"
    return decoded


def truncate(text, max_units):
    units = 0
    for i, ch in enumerate(text):
        width = 2 if ord(ch) > 0xFFFF else 1
        if units + width > max_units:
            return text[:i], True
        units += width
    return text, False


def _safe_integer(v):
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return str(v) if abs(v) <= MAX_SAFE_INTEGER else None
    if isinstance(v, float) and v.is_integer() and abs(v) <= MAX_SAFE_INTEGER:
        return str(int(v))
    return None


def derive_doc_id(parsed, key, text):
    if isinstance(parsed, dict):
        for f in DOC_ID_FIELDS:
            v = parsed.get(f)
            if isinstance(v, str) and js_trim(v) != "":
                return _LONE_SURROGATE.sub("\ufffd", js_trim(v))
            as_int = _safe_integer(v)
            if as_int is not None:
                return as_int
    if key:
        k = js_trim(decode_utf8(key))
        if k != "":
            return k
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def parse_agent_result(value, key, fields=DEFAULT_TEXT_FIELDS, max_chars=8192):
    """One record's outcome: {ok, text, doc_id, truncated} or {ok: False, reason, error}."""
    if value is None:
        return {"ok": False, "reason": "null_value", "error": "record value is null (tombstone)"}
    decoded = decode_utf8(value)
    parsed = try_json(decoded)
    raw = _LONE_SURROGATE.sub("\ufffd", extract_text(decoded, parsed, fields))
    if js_trim(raw) == "":
        return {"ok": False, "reason": "empty_text", "error": "extracted text is empty or blank"}
    text, truncated = truncate(raw, max_chars)
    return {"ok": True, "text": text, "doc_id": derive_doc_id(parsed, key, text), "truncated": truncated}


def _main():
    for line in sys.stdin:
        if not line.strip():
            continue
        case = json.loads(line)
        value = None if case.get("value_b64") is None else base64.b64decode(case["value_b64"])
        key = None if case.get("key") is None else case["key"].encode("utf-8")
        out = parse_agent_result(
            value, key, tuple(case.get("fields") or DEFAULT_TEXT_FIELDS), case.get("max_chars") or 8192
        )
        sys.stdout.write(json.dumps(out, ensure_ascii=True) + "\n")


if __name__ == "__main__":
    _main()
