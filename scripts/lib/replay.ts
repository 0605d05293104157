/**
 * Fixture replay and recording against Kafka: the core of `scripts/replay.ts` and
 * `scripts/record.ts`, callable from tests and benchmarks.
 */
import { randomBytes } from "node:crypto";
import type { IHeaders, Kafka, Message } from "kafkajs";
import { createKafka } from "../../pipeline/io/kafka.ts";
import type { FixtureRecord } from "./fixture-format.ts";
import { ScriptError } from "./progress.ts";

export interface ReplayOptions {
  brokers: string[];
  topic: string;
  records: readonly FixtureRecord[];
  /** Records per second at most; undefined or 0 = as fast as possible (batched). */
  rate?: number;
  /** Times to produce the whole list (default 1). */
  repeat?: number;
  /** Records per produce request (default 500; smaller when a rate is set). */
  batchSize?: number;
  clientId?: string;
  /** Called after each produce request with the running count. */
  onProgress?: (sent: number, total: number) => void;
  /** Seconds to wait for the broker before giving up (default 10). */
  connectTimeoutSec?: number;
}

export interface ReplaySummary {
  records: number;
  /** Key + value + header (names and values) bytes produced. */
  bytes: number;
  /** Seconds from the producer's connection to the last acknowledgement. */
  seconds: number;
  recordsPerSec: number;
}

/** The Kafka message for a fixture record: exact key, value bytes and headers (null stays null). */
export function toMessage(r: FixtureRecord): Message {
  const m: Message = { key: r.key, value: r.value };
  if (r.headers && Object.keys(r.headers).length > 0) m.headers = { ...r.headers };
  return m;
}

function recordBytes(r: FixtureRecord): number {
  let n = (r.key === null ? 0 : Buffer.byteLength(r.key)) + (r.value?.length ?? 0);
  for (const [k, v] of Object.entries(r.headers ?? {})) n += Buffer.byteLength(k) + Buffer.byteLength(v);
  return n;
}

/** A kafkajs client that gives up quickly when the broker does not answer. */
function quickKafka(brokers: string[], clientId: string, timeoutSec: number): Kafka {
  return createKafka(brokers, clientId, {
    connectionTimeout: Math.min(3000, timeoutSec * 1000),
    retry: { retries: 3, initialRetryTime: 300, maxRetryTime: Math.max(1000, (timeoutSec * 1000) / 3) },
  });
}

/** Connects `client` or throws a ScriptError naming the brokers. */
async function connectOrExplain(client: { connect(): Promise<void> }, brokers: string[]): Promise<void> {
  try {
    await client.connect();
  } catch (err) {
    throw new ScriptError(
      `cannot reach Kafka at ${brokers.join(",")} (KAFKA_BOOTSTRAP_SERVERS): ${(err as Error).message}. ` +
        "Is it running? Try `npm run up -- --infra` or `npm run status`.",
    );
  }
}

/**
 * Throws a ScriptError unless `topic` exists (the project's broker does not auto-create topics);
 * returns each partition's end offset (the offset the next record will get).
 */
async function requireTopic(
  kafka: Kafka,
  brokers: string[],
  topic: string,
): Promise<{ partition: number; high: string }[]> {
  const admin = kafka.admin();
  await connectOrExplain(admin, brokers);
  try {
    const topics = await admin.listTopics();
    if (!topics.includes(topic)) {
      throw new ScriptError(
        `topic ${JSON.stringify(topic)} does not exist on ${brokers.join(",")}; ` +
          "`npm run up -- --infra` creates the project's topics, or pass --topic",
      );
    }
    return await admin.fetchTopicOffsets(topic);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Produces every record (`repeat` times) to `topic`, at most `rate` records/s, and resolves
 * with a summary once the broker has acknowledged all of them (acks = all).
 */
export async function replayFixture(opts: ReplayOptions): Promise<ReplaySummary> {
  const repeat = opts.repeat ?? 1;
  const rate = opts.rate ?? 0;
  if (!Number.isInteger(repeat) || repeat < 1)
    throw new ScriptError(`repeat must be an integer ≥ 1, got ${repeat}`, 2);
  if (!Number.isFinite(rate) || rate < 0) throw new ScriptError(`rate must be a number ≥ 0, got ${rate}`, 2);
  const total = opts.records.length * repeat;
  let started = performance.now();
  const summary = (records: number, bytes: number): ReplaySummary => {
    const seconds = (performance.now() - started) / 1000;
    return { records, bytes, seconds, recordsPerSec: seconds > 0 ? records / seconds : 0 };
  };
  if (total === 0) return summary(0, 0);

  const timeoutSec = opts.connectTimeoutSec ?? 10;
  const kafka = quickKafka(
    opts.brokers,
    opts.clientId ?? `replay-${randomBytes(3).toString("hex")}`,
    timeoutSec,
  );
  await requireTopic(kafka, opts.brokers, opts.topic);
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await connectOrExplain(producer, opts.brokers);
  started = performance.now(); // the schedule and the summary cover sending, not connecting

  // With a rate, record i is due at started + i / rate; each request carries what is due
  // (about a tenth of a second's worth), so the rate holds without one request per record.
  const batchSize = Math.max(1, opts.batchSize ?? (rate > 0 ? Math.min(500, Math.ceil(rate / 10)) : 500));
  const n = opts.records.length;
  const at = (i: number) => opts.records[i % n] as FixtureRecord;
  let sent = 0;
  let bytes = 0;
  try {
    while (sent < total) {
      let count = Math.min(batchSize, total - sent);
      if (rate > 0) {
        const elapsedSec = (performance.now() - started) / 1000;
        const due = Math.floor(elapsedSec * rate) + 1 - sent;
        if (due <= 0) {
          await Bun.sleep(Math.max(1, ((sent - elapsedSec * rate) / rate) * 1000));
          continue;
        }
        count = Math.min(count, due);
      }
      const batch: FixtureRecord[] = [];
      for (let i = sent; i < sent + count; i++) batch.push(at(i));
      await producer.send({ topic: opts.topic, acks: -1, messages: batch.map(toMessage) });
      sent += count;
      for (const r of batch) bytes += recordBytes(r);
      opts.onProgress?.(sent, total);
    }
  } finally {
    await producer.disconnect();
  }
  return summary(sent, bytes);
}

// ── recording ────────────────────────────────────────────────────────────────────────────────

export interface RecordOptions {
  brokers: string[];
  topic: string;
  /** Read the topic from its start (default: only records produced after the call started). */
  fromBeginning?: boolean;
  /** Stop after this many records (default: no limit). */
  max?: number;
  /** Stop after this many seconds without a new record, counted from joining (default 5). */
  idleSec?: number;
  /**
   * Consumer group; default a fresh unique one (`record-<random>`), deleted at the end. Offsets
   * are never committed.
   */
  groupId?: string;
  clientId?: string;
  /** Called for each record kept, in arrival order. */
  onRecord?: (record: FixtureRecord, count: number) => void;
  /** Called once the consumer has joined its group and idle time starts counting. */
  onReady?: () => void;
  connectTimeoutSec?: number;
  /** Seconds to wait for the consumer to join its group (default 60). */
  joinTimeoutSec?: number;
  /** Stops recording early (e.g. on Ctrl-C); what was received is kept. */
  signal?: AbortSignal;
}

export interface RecordSummary {
  records: number;
  seconds: number;
  /** Why recording stopped. */
  stoppedBy: "max" | "idle" | "signal";
  /** Header values that were not valid UTF-8 (kept with U+FFFD) or repeated names (first kept). */
  headerWarnings: number;
}

/** A consumed Kafka message as a fixture record (headers as UTF-8 text). */
export function fromMessage(
  key: Buffer | null,
  value: Buffer | null,
  headers: IHeaders | undefined,
): { record: FixtureRecord; warnings: number } {
  let warnings = 0;
  const record: FixtureRecord = { key: key === null ? null : key.toString("utf8"), value };
  const h: Record<string, string> = {};
  for (const [name, raw] of Object.entries(headers ?? {})) {
    if (raw === undefined) continue;
    let v = raw;
    if (Array.isArray(v)) {
      warnings++;
      v = v[0] as Buffer | string;
    }
    if (typeof v === "string") h[name] = v;
    else {
      const text = v.toString("utf8");
      if (!Buffer.from(text, "utf8").equals(v)) warnings++;
      h[name] = text;
    }
  }
  if (Object.keys(h).length > 0) record.headers = h;
  return { record, warnings };
}

async function deleteGroup(kafka: Kafka, groupId: string): Promise<void> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.deleteGroups([groupId]);
  } catch {
    // best effort: an empty group without offsets expires on its own
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/**
 * Consumes `topic` with a fresh consumer group (no commits) until `max` records or `idleSec`
 * seconds without a new one; returns the records in arrival order.
 */
export async function recordTopic(
  opts: RecordOptions,
): Promise<{ records: FixtureRecord[]; summary: RecordSummary }> {
  const idleSec = opts.idleSec ?? 5;
  const max = opts.max ?? Number.POSITIVE_INFINITY;
  const joinTimeoutSec = opts.joinTimeoutSec ?? 60;
  const started = performance.now();
  const id = randomBytes(4).toString("hex");
  const kafka = quickKafka(opts.brokers, opts.clientId ?? `record-${id}`, opts.connectTimeoutSec ?? 10);
  // "From now on" means from the end offsets at start, not from whenever the group join
  // completes: records produced while the consumer joins are recorded too.
  const ends = await requireTopic(kafka, opts.brokers, opts.topic);
  // Short fetch waits: disconnecting waits for the fetch in flight (kafkajs default 5 s).
  const groupId = opts.groupId ?? `record-${id}`;
  const consumer = kafka.consumer({
    groupId,
    allowAutoTopicCreation: false,
    maxWaitTimeInMs: 250,
  });
  await connectOrExplain(consumer, opts.brokers);

  const records: FixtureRecord[] = [];
  let warnings = 0;
  let joinedAt: number | undefined;
  let lastAt = 0;
  let stoppedBy: RecordSummary["stoppedBy"] = "idle";
  const removeListener = consumer.on(consumer.events.GROUP_JOIN, () => {
    if (joinedAt === undefined) {
      joinedAt = performance.now();
      lastAt = joinedAt;
      opts.onReady?.();
    }
  });
  try {
    if (max > 0) {
      const fromBeginning = opts.fromBeginning ?? false;
      await consumer.subscribe({ topic: opts.topic, fromBeginning });
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ message }) => {
          if (records.length >= max) return;
          const { record, warnings: w } = fromMessage(message.key, message.value, message.headers);
          warnings += w;
          records.push(record);
          lastAt = performance.now();
          opts.onRecord?.(record, records.length);
        },
      });
      if (!fromBeginning) {
        for (const { partition, high } of ends) consumer.seek({ topic: opts.topic, partition, offset: high });
      }
      while (true) {
        if (opts.signal?.aborted) {
          stoppedBy = "signal";
          break;
        }
        if (records.length >= max) {
          stoppedBy = "max";
          break;
        }
        if (joinedAt !== undefined && performance.now() - lastAt >= idleSec * 1000) break;
        if (joinedAt === undefined && performance.now() - started > joinTimeoutSec * 1000) {
          throw new ScriptError(
            `the consumer did not join a group on ${opts.brokers.join(",")} within ${joinTimeoutSec} s`,
          );
        }
        await Bun.sleep(50);
      }
    } else {
      stoppedBy = "max";
    }
  } finally {
    removeListener();
    await consumer.disconnect();
    // The fresh group has no offsets and no further use: remove it rather than leave it listed.
    if (opts.groupId === undefined) await deleteGroup(kafka, groupId);
  }
  const seconds = (performance.now() - started) / 1000;
  return { records, summary: { records: records.length, seconds, stoppedBy, headerWarnings: warnings } };
}
