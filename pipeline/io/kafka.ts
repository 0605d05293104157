/** Kafka client factory: one place for client options and kafkajs quirks. */
import { createRequire } from "node:module";
import { Kafka, type KafkaConfig, logLevel } from "kafkajs";

// kafkajs 2.2.4 calls `setTimeout(check, throttledUntil - Date.now())` with throttledUntil = -1
// when nothing is throttled (network/requestQueue scheduleCheckPendingRequests). The runtime
// clamps the negative delay to 1 ms but prints a TimeoutNegativeWarning for every client, and
// Bun prints it whatever listeners are installed. Same logic, delay clamped here instead.
const CHECK_PENDING_REQUESTS_INTERVAL = 10;
interface RequestQueueLike {
  throttledUntil: number;
  throttleCheckTimeoutId: ReturnType<typeof setTimeout> | null;
  pending: unknown[];
  checkPendingRequests(): void;
}
const RequestQueue = createRequire(import.meta.url)("kafkajs/src/network/requestQueue/index.js") as {
  prototype: RequestQueueLike & { scheduleCheckPendingRequests(): void };
};
RequestQueue.prototype.scheduleCheckPendingRequests = function (this: RequestQueueLike) {
  let scheduleAt = this.throttledUntil - Date.now();
  if (!this.throttleCheckTimeoutId) {
    if (this.pending.length > 0) scheduleAt = scheduleAt > 0 ? scheduleAt : CHECK_PENDING_REQUESTS_INTERVAL;
    this.throttleCheckTimeoutId = setTimeout(
      () => {
        this.throttleCheckTimeoutId = null;
        this.checkPendingRequests();
      },
      Math.max(1, scheduleAt),
    );
  }
};
process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= "1";

const { errorCodes } = createRequire(import.meta.url)("kafkajs/src/protocol/error.js") as {
  errorCodes: { type: string; message: string }[];
};
const typeByMessage = new Map(errorCodes.map((e) => [e.message, e.type]));

/**
 * The Kafka protocol error type (`UNKNOWN_MEMBER_ID`, `MESSAGE_TOO_LARGE` …) of an error kafkajs
 * threw, also when it is wrapped: kafkajs' non-retriable wrappers keep only the message.
 */
export function kafkaErrorType(err: unknown): string | undefined {
  for (
    let e = err as { type?: unknown; cause?: unknown; message?: unknown } | undefined, i = 0;
    e && i < 5;
    i++
  ) {
    if (typeof e.type === "string") return e.type;
    if (typeof e.message === "string" && typeByMessage.has(e.message)) return typeByMessage.get(e.message);
    e = e.cause as typeof e;
  }
  return undefined;
}

export function createKafka(
  brokers: string[],
  clientId: string,
  overrides: Partial<KafkaConfig> = {},
): Kafka {
  return new Kafka({ clientId, brokers, logLevel: logLevel.WARN, ...overrides });
}
