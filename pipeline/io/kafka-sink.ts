/** Kafka as a sink: keyed, acknowledged by all in-sync replicas, faults reported as transient. */
import type { Message, Producer } from "kafkajs";
import { TransientError } from "../core/retry.ts";
import type { Output, Sink } from "../core/runner.ts";

/** Sends messages and waits for the acknowledgement; every broker fault is retryable. */
export async function sendAll(producer: Producer, topic: string, messages: Message[]): Promise<void> {
  try {
    await producer.send({ topic, messages, acks: -1 });
  } catch (err) {
    throw new TransientError(`produce to ${topic} failed: ${(err as Error).message}`, "kafka", {
      cause: err,
    });
  }
}

export function kafkaSink<T>(
  producer: Producer,
  topic: string,
  toMessage: (o: Output<T>) => Message,
): Sink<T> {
  return {
    name: `kafka:${topic}`,
    async write(outputs) {
      await sendAll(producer, topic, outputs.map(toMessage));
      return undefined;
    },
    async close() {},
  };
}
