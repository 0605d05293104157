/**
 * The newest DLQ entries, newest first: from the Redis DLQ stream (field `value` holds the
 * JSON entry), or — with an HTTP RedDB as in the reference deployment — from its stream read
 * endpoint, whose path REDDB_DLQ_HTTP_PATH can override (placeholders {ns}, {stream}, {limit}).
 */
import type Redis from "ioredis";
import { HttpError } from "../core/http-edge.ts";
import { TransientError } from "../core/retry.ts";
import { requireConnected } from "../io/redis-store.ts";

function parseEntry(raw: unknown, extra: Record<string, unknown>): unknown {
  if (typeof raw !== "string")
    return { ...extra, ...(typeof raw === "object" && raw !== null ? raw : { value: raw }) };
  try {
    return { ...extra, ...(JSON.parse(raw) as object) };
  } catch {
    return { ...extra, value: raw, error: "entry is not JSON" };
  }
}

/** The newest entries of the Redis DLQ stream; a {@link TransientError} naming Redis when it cannot answer. */
export async function dlqTail(redis: Redis, stream: string, limit: number): Promise<unknown[]> {
  requireConnected(redis, "the DLQ tail");
  const entries = await redis.xrevrange(stream, "+", "-", "COUNT", limit).catch((err: Error) => {
    throw new TransientError(`Redis failed reading the DLQ tail: ${err.message}`, "redis");
  });
  return entries.map(([id, fields]) =>
    parseEntry(fields[fields.indexOf("value") + 1] ?? null, { stream_id: id }),
  );
}

export const DEFAULT_REDDB_DLQ_PATH = "/api/streams/{ns}/{stream}/read?start=0&count={limit}";

/**
 * Reads `GET {baseUrl}{path}` from an HTTP RedDB (`[{offset, value}]`, oldest first) and
 * returns the newest `limit`, newest first. Bearer `token` when set.
 */
export async function httpDlqTail(
  o: {
    baseUrl: string;
    path: string;
    namespace: string;
    stream: string;
    token: string;
    fetch?: typeof fetch;
  },
  limit: number,
): Promise<unknown[]> {
  const path = o.path
    .replaceAll("{ns}", encodeURIComponent(o.namespace))
    .replaceAll("{stream}", encodeURIComponent(o.stream))
    .replaceAll("{limit}", String(limit));
  const url = `${o.baseUrl}${path.startsWith("/") ? "" : "/"}${path}`;
  const res = await (o.fetch ?? fetch)(url, {
    headers: o.token ? { authorization: `Bearer ${o.token}` } : {},
    signal: AbortSignal.timeout(5000),
  }).catch((err: Error) => {
    throw new HttpError(502, `RedDB DLQ read failed: ${err.message}`);
  });
  if (!res.ok) throw new HttpError(502, `RedDB DLQ read answered HTTP ${res.status}`);
  const body = (await res.json()) as unknown;
  const items = Array.isArray(body) ? body : ((body as { items?: unknown[] })?.items ?? []);
  return items
    .slice(-limit)
    .reverse()
    .map((e) => {
      const o2 = e as { offset?: unknown; value?: unknown };
      return parseEntry(o2.value, { offset: o2.offset ?? null });
    });
}
