/**
 * Redis as a sink and a reader: the client, the embedded-record sink and the DLQ stream, on
 * the keys of `pipeline/contracts/redis-layout.ts`. Writes are pipelined per batch.
 */
import Redis from "ioredis";
import type { DlqEntry } from "../contracts/dlq.ts";
import type { EmbeddedOutput } from "../contracts/records.ts";
import { APPEND_ONCE_SCRIPT, appendOnceKeys, redisKeys } from "../contracts/redis-layout.ts";
import { TransientError } from "../core/retry.ts";
import type { Output, Sink } from "../core/source.ts";

export interface RedisLayout {
  namespace: string;
  stream: string;
  dlqStream: string;
  mode: "stream" | "kv" | "both";
  streamMaxLen: number;
  dedupTtlSec: number;
}

type RedisWithAppend = Redis & {
  appendOnce(
    seen: string,
    stream: string,
    fp: string,
    ttl: number,
    maxlen: number,
    docId: string,
    value: string | Buffer,
  ): Promise<number>;
};

/**
 * Refuses at once, as a {@link TransientError} naming Redis, when `client` is not connected:
 * a reader that answers from Redis must not wait out reconnect attempts or present the
 * empty answers of failed commands as fact.
 */
export function requireConnected(client: Redis, what: string): void {
  if (client.status !== "ready") {
    throw new TransientError(`Redis is unavailable for ${what} (connection ${client.status})`, "redis");
  }
}

/** The replies of a pipeline, or a {@link TransientError} naming Redis when any command failed. */
export function pipelineReplies(res: [Error | null, unknown][] | null, what: string): unknown[] {
  if (!res) throw new TransientError(`Redis gave no reply for ${what}`, "redis");
  const failed = res.find(([err]) => err);
  if (failed?.[0]) throw new TransientError(`Redis failed ${what}: ${failed[0].message}`, "redis");
  return res.map(([, v]) => v);
}

export function createRedis(url: string): RedisWithAppend {
  const r = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  }) as RedisWithAppend;
  r.on("error", () => {}); // surfaced per command as TransientError
  r.defineCommand("appendOnce", { numberOfKeys: 2, lua: APPEND_ONCE_SCRIPT });
  return r;
}

async function exec(what: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    const results = (await fn()) as [Error | null, unknown][] | null;
    const failed = results?.find(([err]) => err);
    if (failed?.[0]) throw failed[0];
  } catch (err) {
    throw new TransientError(`redis ${what} failed: ${(err as Error).message}`, "redis", { cause: err });
  }
}

/**
 * Embedded records into the stream and/or KV, idempotent by doc_id; each value is `encode`'s JSON
 * (the same bytes as the Kafka record).
 */
export function redisEmbeddingSink(
  redis: RedisWithAppend,
  layout: RedisLayout,
  fingerprint: (r: EmbeddedOutput) => string,
  encode: (r: EmbeddedOutput) => string | Buffer,
): Sink<EmbeddedOutput> {
  return {
    name: `redis:${layout.mode}`,
    async write(outputs: Output<EmbeddedOutput>[]) {
      await exec("write", () => {
        const p = redis.pipeline();
        for (const { value } of outputs) {
          const json = encode(value);
          if (layout.mode !== "stream") p.set(redisKeys.embedding(layout, value.doc_id), json);
          if (layout.mode !== "kv") {
            (p as unknown as RedisWithAppend).appendOnce(
              ...appendOnceKeys(layout, layout.stream, value.doc_id),
              fingerprint(value),
              layout.dedupTtlSec,
              layout.streamMaxLen,
              value.doc_id,
              json,
            );
          }
        }
        return p.exec();
      });
      return undefined;
    },
    async close() {},
  };
}

/** DLQ entries into the Redis DLQ stream. */
export async function appendDlq(redis: Redis, layout: RedisLayout, entries: DlqEntry[]): Promise<void> {
  const key = redisKeys.stream(layout, layout.dlqStream);
  await exec("dlq append", () => {
    const p = redis.pipeline();
    for (const e of entries) {
      p.xadd(
        key,
        "MAXLEN",
        "~",
        String(layout.streamMaxLen),
        "*",
        "stage",
        e.stage,
        "reason",
        e.reason,
        "doc_id",
        e.doc_id ?? "",
        "value",
        JSON.stringify(e),
      );
    }
    return p.exec();
  });
}
