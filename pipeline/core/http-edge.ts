/**
 * The edge of the project's HTTP servers (InferMesh, backend): one error type rendered as
 * JSON `{error, ...details}`, bearer-token checks in constant time, and request bodies read
 * within a byte limit.
 */
import { createHash, timingSafeEqual } from "node:crypto";

/** An error that becomes a JSON response `{error: message, ...details}` with `status` and `headers`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "HttpError";
  }
}

/** A JSON response; `body` is serialised as-is. */
export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return jsonText(JSON.stringify(body), status, headers);
}

/** A JSON response from text already encoded (e.g. vectors at float32 precision). */
export function jsonText(
  text: string | Uint8Array,
  status = 200,
  headers: Record<string, string> = {},
): Response {
  return new Response(text, {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers },
  });
}

/** The response for an {@link HttpError}. */
export function errorResponse(err: HttpError): Response {
  return json({ error: err.message, ...err.details }, err.status, err.headers);
}

const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();

/**
 * True when `authorization` is `Bearer <token>` (scheme case-insensitive). Both values are
 * hashed first, so the comparison takes the same time whatever their lengths and contents.
 */
export function bearerMatches(authorization: string | null, token: string): boolean {
  const m = /^bearer[ \t]+(\S.*?)[ \t]*$/i.exec(authorization ?? "");
  const same = timingSafeEqual(digest(m?.[1] ?? ""), digest(token));
  return same && m !== null;
}

/**
 * The request body, refused with 413 as soon as it is known to exceed `maxBytes`: from
 * Content-Length when present, else (or if it lies) while reading.
 */
export async function readBodyLimited(req: Request, maxBytes: number): Promise<Uint8Array> {
  const tooLarge = (size: string) =>
    new HttpError(413, `request body of ${size} bytes exceeds the limit of ${maxBytes}`, {
      max_body_bytes: maxBytes,
    });
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) throw tooLarge(declared);
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge(`more than ${maxBytes}`);
    }
    chunks.push(value);
  }
  const body = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    body.set(c, at);
    at += c.byteLength;
  }
  return body;
}

/** The body parsed as a JSON object (400 when it is not valid UTF-8 JSON, or not an object). */
export function parseJsonObject(body: Uint8Array, shape = "a JSON object"): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch (err) {
    throw new HttpError(400, `request body is not valid UTF-8 JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new HttpError(400, `request body must be ${shape}`);
  }
  return parsed as Record<string, unknown>;
}
