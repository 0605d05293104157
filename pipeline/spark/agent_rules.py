"""The parse rules of pipeline/contracts/extract.ts, in Python, for the Spark parse job.

Text: a null value is DLQ `null_value`. The bytes are decoded as UTF-16LE/BE when they start
with that byte-order mark, else as UTF-8 (a leading BOM dropped; invalid bytes replaced by
U+FFFD, as the WHATWG decoder does) and parsed as JSON
when possible (NaN/Infinity are not JSON). For an object, the first configured field
(dotted paths allowed) whose value is a string; failing that, a string `path` gives
`File {path} was {event|modified}`; anything else is the whole decoded string. Lone
surrogates become U+FFFD. Blank text (JavaScript's whitespace set and the default-ignorable
code points, such as U+200B) is DLQ `empty_text`.
Longer texts are cut to `max_chars` UTF-16 code units, never inside a surrogate pair.

doc_id: the first of doc_id, id, document_id, key that is a non-blank string (trimmed, lone
surrogates replaced by U+FFFD) or a safe integer (decimal; -0 is not one); else the Kafka key
(UTF-8, trimmed, non-blank); else sha256 of the emitted text's UTF-8 bytes, lowercase hex. An
explicit id (a field or the key) longer than 512 UTF-8 bytes, with a control character or a
`..` path segment is DLQ `invalid_doc_id`; a record dead-lettered for its text carries its
explicit id when it is valid.

Run as `python agent_rules.py < cases.jsonl`: each line `{"key", "value_b64", "fields"?,
"max_chars"?}` gets one line of outcome JSON — the agreement tests compare it with Bun's.
"""

import base64
import hashlib
import json
import math
import re
import sys
from decimal import Decimal

DEFAULT_TEXT_FIELDS = ("text", "message", "content", "prompt", "body")
DOC_ID_FIELDS = ("doc_id", "id", "document_id", "key")
MAX_SAFE_INTEGER = 2**53 - 1

# String.prototype.trim's set: WhiteSpace and LineTerminator of ECMAScript.
_JS_WS = "\t\n\x0b\x0c\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties), as JavaScript's \p{...}.
_DEFAULT_IGNORABLE = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff"
)
_BLANK = re.compile("[" + re.escape(_JS_WS) + _DEFAULT_IGNORABLE + "]*")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_PATH_SEP = re.compile(r"[/\\]")
MAX_DOC_ID_BYTES = 512
DEFAULT_LABEL_FIELDS = (
    "status", "success", "agent", "task", "kind", "repo", "ts", "reward", "latency_ms",
    "tokens", "episode", "episode_id", "trajectory", "trajectory_id", "step",
)
LABEL_MAX_CHARS = 256
SUCCESS_STATUSES = ("success", "succeeded", "ok", "pass", "passed", "done", "completed", "resolved")
FAILURE_STATUSES = ("failure", "failed", "fail", "error", "errored", "timeout", "crashed", "cancelled", "rejected")
_MISSING = object()


def js_trim(s):
    return s.strip(_JS_WS)


def decode_utf8(b):
    return b.decode("utf-8-sig", errors="replace")


def decode_value(b):
    if b[:2] == b"\xff\xfe":
        return b[2:].decode("utf-16-le", errors="replace")
    if b[:2] == b"\xfe\xff":
        return b[2:].decode("utf-16-be", errors="replace")
    return decode_utf8(b)


def is_blank(text):
    return _BLANK.fullmatch(text) is not None


def doc_id_problem(doc_id):
    n = len(doc_id.encode("utf-8"))
    if n > MAX_DOC_ID_BYTES:
        return f"doc_id has {n} UTF-8 bytes, more than {MAX_DOC_ID_BYTES}"
    if _CONTROL.search(doc_id):
        return "doc_id holds a control character (newline, tab, NUL …)"
    if ".." in _PATH_SEP.split(doc_id):
        return 'doc_id holds a ".." path segment'
    return None


def _parse_int(s):
    # JSON's -0 is an integer 0 in Python but -0 in JavaScript: keep the sign to skip it alike.
    return -0.0 if s == "-0" else int(s)


def _reject_constant(name):
    raise ValueError(f"{name} is not JSON")


def try_json(s):
    try:
        return json.loads(s, parse_constant=_reject_constant, parse_int=_parse_int)
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


def _get_path_or_missing(obj, path):
    # getPath of extract.ts, telling a missing field (undefined there) from a JSON null.
    if path in obj:
        return obj[path]
    cur = obj
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return _MISSING
        cur = cur[part]
    return cur


def _label_number(v):
    # A JSON number as JavaScript holds it: None when JS would not keep it (not finite, or an
    # integer beyond 2**53 - 1); integral values as int (JS prints 3.0 as 3), -0 as 0.
    if isinstance(v, int):
        return v if abs(v) <= MAX_SAFE_INTEGER else None
    if not math.isfinite(v):
        return None
    if v.is_integer():
        return int(v) if abs(v) <= MAX_SAFE_INTEGER else None
    return v


def extract_labels(parsed, fields):
    """extractLabels of pipeline/contracts/extract.ts."""
    labels = {}
    if not isinstance(parsed, dict):
        return labels
    for f in fields:
        v = _get_path_or_missing(parsed, f)
        if isinstance(v, str):
            labels[f] = truncate(_LONE_SURROGATE.sub("\ufffd", v), LABEL_MAX_CHARS)[0]
        elif isinstance(v, bool) or v is None:
            labels[f] = v
        elif isinstance(v, (int, float)):
            n = _label_number(v)
            if n is not None:
                labels[f] = n
    return labels


def success_of(labels):
    """successOf of pipeline/contracts/extract.ts."""
    if isinstance(labels.get("success"), bool):
        return labels["success"]
    status = js_trim(labels["status"]).lower() if isinstance(labels.get("status"), str) else ""
    if status in SUCCESS_STATUSES:
        return True
    if status in FAILURE_STATUSES:
        return False
    return None


def js_number(v):
    """Number.prototype.toString (what JSON.stringify writes) of a finite float or int."""
    if isinstance(v, int) or v.is_integer():
        return str(int(v))
    sign, digits, exp = Decimal(repr(v)).as_tuple()
    s = "".join(map(str, digits)).rstrip("0") or "0"
    k, n = len(s), exp + len(digits)
    if k <= n <= 21:
        out = s + "0" * (n - k)
    elif 0 < n <= 21:
        out = s[:n] + "." + s[n:]
    elif -6 < n <= 0:
        out = "0." + "0" * (-n) + s
    else:
        e = n - 1
        out = (s if k == 1 else s[0] + "." + s[1:]) + "e" + ("+" if e > 0 else "-") + str(abs(e))
    return ("-" if sign else "") + out


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
        if v == 0 and math.copysign(1.0, v) < 0:
            return None
        return str(int(v))
    return None


def explicit_doc_id(parsed, key):
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
    return None


def _valid_or_none(doc_id):
    return doc_id if doc_id is not None and doc_id_problem(doc_id) is None else None


def parse_agent_result(value, key, fields=DEFAULT_TEXT_FIELDS, max_chars=8192, label_fields=DEFAULT_LABEL_FIELDS):
    """One record's outcome: {ok, text, doc_id, truncated[, labels][, success]} or {ok: False, reason, error}."""
    if value is None:
        doc_id = _valid_or_none(explicit_doc_id(None, key))
        return {"ok": False, "reason": "null_value", "error": "record value is null (tombstone)", "doc_id": doc_id}
    decoded = decode_value(value)
    parsed = try_json(decoded)
    raw = _LONE_SURROGATE.sub("\ufffd", extract_text(decoded, parsed, fields))
    explicit = explicit_doc_id(parsed, key)
    if is_blank(raw):
        error = "extracted text is empty or blank"
        return {"ok": False, "reason": "empty_text", "error": error, "doc_id": _valid_or_none(explicit)}
    problem = None if explicit is None else doc_id_problem(explicit)
    if problem is not None:
        return {"ok": False, "reason": "invalid_doc_id", "error": problem, "doc_id": None}
    text, truncated = truncate(raw, max_chars)
    doc_id = explicit if explicit is not None else hashlib.sha256(text.encode("utf-8")).hexdigest()
    out = {"ok": True, "text": text, "doc_id": doc_id, "truncated": truncated}
    labels = extract_labels(parsed, label_fields)
    success = success_of(labels)
    if labels:
        out["labels"] = labels
    if success is not None:
        out["success"] = success
    return out


def _main():
    for line in sys.stdin:
        if not line.strip():
            continue
        case = json.loads(line)
        value = None if case.get("value_b64") is None else base64.b64decode(case["value_b64"])
        key = None if case.get("key") is None else case["key"].encode("utf-8")
        out = parse_agent_result(
            value,
            key,
            tuple(case.get("fields") or DEFAULT_TEXT_FIELDS),
            case.get("max_chars") or 8192,
            tuple(case.get("label_fields") or DEFAULT_LABEL_FIELDS),
        )
        sys.stdout.write(json.dumps(out, ensure_ascii=True) + "\n")


if __name__ == "__main__":
    _main()
