/** HTTP calls from the backend to the services it watches: bounded in time, JSON only. */

/** The `fetch` the sources use (injectable; the global one by default). */
export type FetchFn = (url: string, init?: RequestInit) => Promise<Response>;

/** A watched service did not answer usefully: refused, timed out, non-2xx or not JSON. */
export class UpstreamError extends Error {
  constructor(
    message: string,
    /** HTTP status when the service answered. */
    readonly status?: number,
  ) {
    super(message);
    this.name = "UpstreamError";
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === "TimeoutError") return "timed out";
    const code = (err as { code?: unknown }).code;
    return typeof code === "string" && code !== "" ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}

/** `GET url` within `timeoutMs`; the response, whatever its status, or an UpstreamError. */
export async function probe(fetchFn: FetchFn, url: string, timeoutMs: number): Promise<Response> {
  try {
    return await fetchFn(url, {
      signal: AbortSignal.timeout(timeoutMs),
      headers: { accept: "application/json" },
    });
  } catch (err) {
    throw new UpstreamError(`GET ${url}: ${describe(err)}`);
  }
}

/** `GET url` within `timeoutMs` and its JSON body; non-2xx or invalid JSON is an UpstreamError. */
export async function getJson(fetchFn: FetchFn, url: string, timeoutMs: number): Promise<unknown> {
  const res = await probe(fetchFn, url, timeoutMs);
  if (!res.ok) {
    await res.body?.cancel().catch(() => {});
    throw new UpstreamError(`GET ${url}: HTTP ${res.status}`, res.status);
  }
  try {
    return await res.json();
  } catch (err) {
    throw new UpstreamError(`GET ${url}: ${describe(err)}`, res.status);
  }
}

/** The message of an error, for snapshots and logs. */
export function errorMessage(err: unknown): string {
  return describe(err);
}
