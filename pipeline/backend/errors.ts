/** The backend's one error type and its JSON rendering: every error answer is `{error: string}`. */

/** An error that becomes a JSON response `{error: message}` with `status` (and `headers`). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "HttpError";
  }
}

/** A JSON response; `body` is serialised as-is. */
export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers },
  });
}

/** The response for an {@link HttpError}. */
export function errorResponse(err: HttpError): Response {
  return json({ error: err.message }, err.status, err.headers);
}
