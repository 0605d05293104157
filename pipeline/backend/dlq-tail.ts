/** The newest DLQ entries from the Redis DLQ stream (field `value` holds the JSON entry). */
import type Redis from "ioredis";

export async function dlqTail(redis: Redis, stream: string, limit: number): Promise<unknown[]> {
  const entries = await redis.xrevrange(stream, "+", "-", "COUNT", limit);
  return entries.map(([id, fields]) => {
    const raw = fields[fields.indexOf("value") + 1];
    try {
      return { stream_id: id, ...(JSON.parse(raw ?? "null") as object) };
    } catch {
      return { stream_id: id, value: raw ?? null, error: "entry is not JSON" };
    }
  });
}
