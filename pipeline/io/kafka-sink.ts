/**
 * Kafka as a sink: keyed, acknowledged by all in-sync replicas. Broker and network faults
 * are transient (retried); a record the broker refuses as such (too large, invalid) is a
 * {@link PermanentSinkError}, and the sink hands just that record back as rejected, so that
 * it reaches the DLQ instead of stalling its partition.
 */
import type { Message } from "kafkajs";
import { TransientError } from "../core/retry.ts";
import type { Output, Sink } from "../core/source.ts";
import { kafkaErrorType } from "./kafka.ts";
import type { KafkaSender } from "./kafka-transactions.ts";

/** The broker refused a record for what it is; sending it again cannot succeed. */
export class PermanentSinkError extends Error {
  override name = "PermanentSinkError";
}

/** Kafka protocol errors about the records themselves (not the broker's state). */
const RECORD_ERRORS = new Set([
  "MESSAGE_TOO_LARGE",
  "RECORD_LIST_TOO_LARGE",
  "INVALID_RECORD",
  "CORRUPT_MESSAGE",
]);

function recordErrorType(err: unknown): string | undefined {
  const type = kafkaErrorType(err);
  return type && RECORD_ERRORS.has(type) ? type : undefined;
}

/** Produce requests are split so that none carries more than this many bytes of records. */
export const SEND_MAX_BYTES = 512 * 1024;

const sizeOf = (m: Message) =>
  64 +
  (m.key ? Buffer.byteLength(m.key as string | Buffer) : 0) +
  (m.value ? Buffer.byteLength(m.value as string | Buffer) : 0) +
  Object.entries(m.headers ?? {}).reduce((n, [k, v]) => n + k.length + String(v ?? "").length, 0);

/** Consecutive groups of at most `maxBytes` of messages each (a larger message goes alone). */
export function chunkBySize<X>(items: X[], messageOf: (x: X) => Message, maxBytes = SEND_MAX_BYTES): X[][] {
  const chunks: X[][] = [];
  let cur: X[] = [];
  let bytes = 0;
  for (const m of items) {
    const n = sizeOf(messageOf(m));
    if (cur.length > 0 && bytes + n > maxBytes) {
      chunks.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(m);
    bytes += n;
  }
  if (cur.length > 0) chunks.push(cur);
  return chunks;
}

/**
 * Sends messages (in requests of at most {@link SEND_MAX_BYTES}) and waits for the
 * acknowledgements. A refused record is a {@link PermanentSinkError}; any other fault is
 * a {@link TransientError}.
 */
export async function sendAll(producer: KafkaSender, topic: string, messages: Message[]): Promise<void> {
  for (const chunk of chunkBySize(messages, (m) => m)) await sendOnce(producer, topic, chunk);
}

async function sendOnce(producer: KafkaSender, topic: string, messages: Message[]): Promise<void> {
  try {
    await producer.send({ topic, messages, acks: -1 });
  } catch (err) {
    const type = recordErrorType(err);
    if (type) throw new PermanentSinkError(`${topic} refused a record: ${type}`, { cause: err });
    throw new TransientError(`produce to ${topic} failed: ${(err as Error).message}`, "kafka", {
      cause: err,
    });
  }
}

/**
 * Sends each item's message; a request the broker refuses for its records is sent again one
 * message at a time, and the items whose message is still refused are returned (with why).
 */
export async function sendRejecting<X>(
  producer: KafkaSender,
  topic: string,
  items: X[],
  messageOf: (x: X) => Message,
): Promise<{ item: X; error: PermanentSinkError }[]> {
  const rejected: { item: X; error: PermanentSinkError }[] = [];
  for (const chunk of chunkBySize(items, messageOf)) {
    try {
      await sendOnce(producer, topic, chunk.map(messageOf));
    } catch (err) {
      if (!(err instanceof PermanentSinkError)) throw err;
      for (const item of chunk) {
        await sendOnce(producer, topic, [messageOf(item)]).catch((one: unknown) => {
          if (!(one instanceof PermanentSinkError)) throw one;
          rejected.push({ item, error: one });
        });
      }
    }
  }
  return rejected;
}

/** A topic as a sink; inside the worker's transaction when `producer` is its sender. */
export function kafkaSink<T>(
  producer: KafkaSender,
  topic: string,
  toMessage: (o: Output<T>) => Message,
): Sink<T> {
  return {
    name: `kafka:${topic}`,
    transactional: producer.transactional === true,
    async write(outputs) {
      const refused = await sendRejecting(producer, topic, outputs, toMessage);
      if (refused.length === 0) return undefined;
      return { rejected: refused.map(({ item, error }) => ({ item, error: error.message })) };
    },
    async close() {},
  };
}
