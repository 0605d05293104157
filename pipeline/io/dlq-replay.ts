/**
 * DLQ replay: reads DLQ entries (the Kafka DLQ topic, read_committed, or the Redis DLQ stream),
 * takes those the filter selects, and re-produces each original record — its key, exact value
 * bytes and headers — to `source.topic`, partition `source.partition`, marked with the replay
 * headers of `pipeline/contracts/dlq-replay.ts`. Used by `npm run replay -- --from-dlq` and by
 * the backend's `POST /api/dlq/replay`.
 *
 * **Ledger.** Every replayed original is recorded in a compacted Kafka topic
 * (`DLQ_REPLAY_LEDGER_TOPIC`, one partition, key = `stage:topic/partition/offset`, value = when,
 * from where, to where, which round), in the *same Kafka transaction* as the replayed records:
 * either both are committed or neither, so a crash never leaves a record replayed but not
 * recorded (or the reverse). Kafka is the one store a replay always has (it produces there),
 * so the ledger works whether the DLQ is the Kafka topic, the Redis stream or both, and it
 * survives restarts like any topic. A later run reads the ledger (read_committed) and reports
 * recorded originals as `already_replayed` unless forced. The transactional id is fixed per
 * client id, so two replays running at once fence each other instead of both sending.
 *
 * A dry run reads the same way, creates nothing and writes nothing.
 */
import { randomBytes } from "node:crypto";
import type Redis from "ioredis";
import { type Admin, type Kafka, logLevel, type Message, type Producer, type TopicMessages } from "kafkajs";
import type { DlqEntry } from "../contracts/dlq.ts";
import {
  DEFAULT_MAX_REPLAYS,
  type DlqReplayAnswer,
  type DlqReplayRequest,
  describeFilter,
  type EntryLocation,
  matches,
  type NotReplayable,
  originalId,
  parseSince,
  type ReplayFilter,
  type ReplayItem,
  type ReplayMessage,
  type ReplaySummary,
  replayCount,
  replayMessage,
  STAGES,
} from "../contracts/dlq-replay.ts";
import { createKafka, kafkaErrorType } from "./kafka.ts";

/** Why a replay could not run: the operator's fix differs for each. */
export class DlqReplayError extends Error {
  constructor(
    message: string,
    /**
     * `invalid`: the request; `unavailable`: Kafka or Redis does not answer; `missing`: a topic
     * is absent; `conflict`: another replay runs.
     */
    readonly kind: "invalid" | "unavailable" | "missing" | "conflict",
  ) {
    super(message);
    this.name = "DlqReplayError";
  }
}

export type ReplaySource =
  | { kind: "kafka"; topic: string }
  | { kind: "redis"; client: Redis; stream: string };

export interface DlqReplayOptions {
  brokers: string[];
  /** Prefix of the client ids; the transactional id is `<clientId>-dlq-replay`. */
  clientId: string;
  source: ReplaySource;
  ledgerTopic: string;
  /** Replication factor of the ledger topic when it is created. */
  replicationFactor: number;
  filter: ReplayFilter;
  /** Matched entries to take at most, oldest first (default: all). */
  limit?: number;
  dryRun?: boolean;
  /** Replay originals the ledger already records. */
  force?: boolean;
  /** Rounds after which a chain is skipped (`replay_limit`); default DEFAULT_MAX_REPLAYS. */
  maxReplays?: number;
  /** Records per transaction (default 200). */
  batchSize?: number;
  now?: () => Date;
  onProgress?: (phase: "read" | "sent", n: number, total?: number) => void;
  /** Seconds to wait for Kafka before giving up (default 10). */
  connectTimeoutSec?: number;
}

/** One ledger record, keyed by `original` in the ledger topic (which the value repeats). */
export interface LedgerRecord {
  original: string;
  replayed_at: string;
  from: EntryLocation;
  to: string;
  replay_count: number;
}

interface ReadEntry {
  location: EntryLocation;
  entry: DlqEntry | null;
}

/** Where the DLQ and the ledger of a deployment are (from its configuration). */
export interface ReplayDeployment {
  brokers: string[];
  clientId: string;
  /** The Kafka DLQ topic ("" = none). */
  dlqTopic: string;
  /** The Redis DLQ stream (its full key), when Redis is configured. */
  redis?: { client: Redis; stream: string };
  ledgerTopic: string;
  replicationFactor: number;
}

/**
 * The options of a replay request (the backend's body, or the CLI's flags in the same shape),
 * checked: the source is the one asked for, else the Kafka DLQ topic when there is one, else the
 * Redis stream. Throws a {@link DlqReplayError} `invalid` naming what is wrong.
 */
export function replayOptions(req: DlqReplayRequest, d: ReplayDeployment, nowMs: number): DlqReplayOptions {
  const bad = (m: string) => new DlqReplayError(m, "invalid");
  const strings = (name: string, v: unknown): string[] | undefined => {
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || !v.every((x) => typeof x === "string" && x.trim() !== ""))
      throw bad(`"${name}" must be a list of non-empty strings`);
    return v as string[];
  };
  const stages = strings("stage", req.stage);
  const wrong = stages?.find((x) => !STAGES.includes(x as (typeof STAGES)[number]));
  if (wrong !== undefined) throw bad(`unknown stage ${JSON.stringify(wrong)}: expected ${STAGES.join("|")}`);
  let sinceMs: number | undefined;
  if (req.since !== undefined) {
    if (typeof req.since !== "string") throw bad('"since" must be a string');
    try {
      sinceMs = parseSince(req.since, nowMs);
    } catch (err) {
      throw bad((err as Error).message);
    }
  }
  const count = (name: string, v: unknown, min: number) => {
    if (v === undefined) return undefined;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min)
      throw bad(`"${name}" must be an integer ≥ ${min}`);
    return v;
  };
  const kind = req.source ?? (d.dlqTopic ? "kafka" : d.redis ? "redis" : undefined);
  let source: ReplaySource;
  if (kind === "kafka") {
    if (!d.dlqTopic) throw bad("no Kafka DLQ topic is configured (EMBED_DLQ_TOPIC); use the Redis source");
    source = { kind, topic: d.dlqTopic };
  } else if (kind === "redis") {
    if (!d.redis) throw bad("no Redis DLQ stream is configured (REDDB_URL=redis://…); use the Kafka source");
    source = { kind, client: d.redis.client, stream: d.redis.stream };
  } else if (kind === undefined) {
    throw bad("no DLQ is configured: set EMBED_DLQ_TOPIC or REDDB_URL");
  } else {
    throw bad(`unknown source ${JSON.stringify(kind)}: expected kafka|redis`);
  }
  return {
    brokers: d.brokers,
    clientId: d.clientId,
    source,
    ledgerTopic: d.ledgerTopic,
    replicationFactor: d.replicationFactor,
    filter: {
      stages: stages as ReplayFilter["stages"],
      reasons: strings("reason", req.reason),
      sinceMs,
      docIds: strings("doc_id", req.doc_id),
      originals: strings("original", req.original),
    },
    limit: count("limit", req.limit, 1),
    dryRun: req.dry_run === true,
    force: req.force === true,
    maxReplays: count("max_replays", req.max_replays, 1) ?? DEFAULT_MAX_REPLAYS,
  };
}

function quickKafka(brokers: string[], clientId: string, timeoutSec: number): Kafka {
  // Quiet: every failure reaches the caller as a DlqReplayError naming the brokers.
  return createKafka(brokers, clientId, {
    logLevel: logLevel.NOTHING,
    connectionTimeout: Math.min(3000, timeoutSec * 1000),
    retry: { retries: 3, initialRetryTime: 300, maxRetryTime: Math.max(1000, (timeoutSec * 1000) / 3) },
  });
}

async function connect(client: { connect(): Promise<void> }, brokers: string[]): Promise<void> {
  try {
    await client.connect();
  } catch (err) {
    throw new DlqReplayError(
      `cannot reach Kafka at ${brokers.join(",")} (KAFKA_BOOTSTRAP_SERVERS): ${(err as Error).message}`,
      "unavailable",
    );
  }
}

/** A DLQ envelope, or null when the bytes are not one. */
export function parseEntry(raw: string | Buffer | null): DlqEntry | null {
  if (raw === null) return null;
  try {
    const e = JSON.parse(String(raw)) as DlqEntry;
    const ok =
      typeof e === "object" &&
      e !== null &&
      typeof e.stage === "string" &&
      typeof e.source === "object" &&
      e.source !== null;
    return ok ? e : null;
  } catch {
    return null;
  }
}

/** Start offsets: the partition's start, or the first offset at or after `fromMs`. */
async function startOffsets(admin: Admin, topic: string, fromMs?: number): Promise<Map<number, bigint>> {
  const ends = await admin.fetchTopicOffsets(topic);
  const out = new Map<number, bigint>();
  if (fromMs === undefined) {
    for (const p of ends) out.set(p.partition, BigInt(p.low));
    return out;
  }
  const at = await admin.fetchTopicOffsetsByTimestamp(topic, fromMs);
  for (const p of ends) {
    const o = at.find((x) => x.partition === p.partition)?.offset;
    // -1: no record at or after the time, so nothing to read there.
    out.set(p.partition, o === undefined || BigInt(o) < 0n ? BigInt(p.high) : BigInt(o));
  }
  return out;
}

/**
 * Reads each topic from its start offsets to the end offsets it had when the call began,
 * read_committed (aborted transactions and control records are not delivered), with a fresh
 * consumer group that commits nothing and is deleted afterwards.
 */
async function readToEnd(
  kafka: Kafka,
  admin: Admin,
  brokers: string[],
  topics: { topic: string; fromMs?: number }[],
  onMessage: (topic: string, partition: number, offset: string, value: Buffer | null) => void,
  stallSec = 15,
): Promise<void> {
  const pending = new Map<string, { from: bigint; end: bigint }>();
  for (const t of topics) {
    const starts = await startOffsets(admin, t.topic, t.fromMs);
    for (const p of await admin.fetchTopicOffsets(t.topic)) {
      const from = starts.get(p.partition) ?? BigInt(p.low);
      if (from < BigInt(p.high)) pending.set(`${t.topic}/${p.partition}`, { from, end: BigInt(p.high) });
    }
  }
  if (pending.size === 0) return;
  const groupId = `dlq-replay-read-${randomBytes(4).toString("hex")}`;
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 250 });
  await connect(consumer, brokers);
  let last = performance.now();
  const reached = (topic: string, partition: number, offset: string) => {
    last = performance.now();
    const k = `${topic}/${partition}`;
    const p = pending.get(k);
    if (p && BigInt(offset) + 1n >= p.end) pending.delete(k);
  };
  // A batch of only control records or aborted records is not delivered but still ends here.
  const off = consumer.on(consumer.events.END_BATCH_PROCESS, (e) =>
    reached(e.payload.topic, e.payload.partition, e.payload.lastOffset),
  );
  try {
    await consumer.subscribe({ topics: topics.map((t) => t.topic), fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        const p = pending.get(`${topic}/${partition}`);
        if (p && BigInt(message.offset) < p.end) onMessage(topic, partition, message.offset, message.value);
        reached(topic, partition, message.offset);
      },
    });
    for (const [k, p] of pending) {
      const i = k.lastIndexOf("/");
      consumer.seek({ topic: k.slice(0, i), partition: Number(k.slice(i + 1)), offset: String(p.from) });
    }
    while (pending.size > 0) {
      if (performance.now() - last > stallSec * 1000) {
        throw new DlqReplayError(
          `reading stopped before the end of ${[...pending.keys()].join(", ")} for ${stallSec} s ` +
            "(an open transaction holds them back, or the broker stopped answering)",
          "unavailable",
        );
      }
      await Bun.sleep(25);
    }
  } finally {
    off();
    await consumer.disconnect().catch(() => {});
    await admin.deleteGroups([groupId]).catch(() => {});
  }
}

/** Every entry of the Redis DLQ stream from `fromMs` (ids are epoch ms), oldest first. */
async function readRedis(client: Redis, stream: string, fromMs?: number): Promise<ReadEntry[]> {
  const out: ReadEntry[] = [];
  let start = fromMs === undefined ? "-" : `${Math.floor(fromMs)}-0`;
  try {
    if (client.status === "wait") await client.connect();
    for (;;) {
      const page = await client.xrange(stream, start, "+", "COUNT", 1000);
      for (const [id, fields] of page) {
        const i = fields.indexOf("value");
        out.push({
          location: `redis:${stream}/${id}`,
          entry: parseEntry(i >= 0 ? (fields[i + 1] ?? null) : null),
        });
      }
      if (page.length < 1000) return out;
      start = `(${page[page.length - 1]?.[0]}`;
    }
  } catch (err) {
    throw new DlqReplayError(
      `Redis failed reading the DLQ stream ${stream}: ${(err as Error).message}`,
      "unavailable",
    );
  }
}

const emptySummary = (o: DlqReplayOptions, source: string): ReplaySummary => ({
  source,
  filter: describeFilter(o.filter),
  dry_run: o.dryRun ?? false,
  read: 0,
  matched: 0,
  sent: 0,
  would_send: 0,
  already_replayed: 0,
  duplicates: 0,
  skipped: {},
  replays_of_replays: 0,
  beyond_limit: 0,
  unreadable: 0,
  seconds: 0,
});

/** Order of entries: when they were dead-lettered, then where they were read (stable). */
const byTime = (a: ReadEntry, b: ReadEntry) =>
  (a.entry?.ts ?? 0) - (b.entry?.ts ?? 0) || (a.location < b.location ? -1 : a.location > b.location ? 1 : 0);

const ledgerMessage = (r: LedgerRecord): Message => ({ key: r.original, value: JSON.stringify(r) });

async function createLedger(admin: Admin, topic: string, replicationFactor: number): Promise<void> {
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      {
        topic,
        numPartitions: 1,
        replicationFactor,
        configEntries: [{ name: "cleanup.policy", value: "compact" }],
      },
    ],
  });
}

/** Sends the messages and their ledger records, one transaction per batch. */
async function sendTransactional(
  producer: Producer,
  ledgerTopic: string,
  batch: { message: ReplayMessage; ledger: LedgerRecord }[],
): Promise<void> {
  const byTopic = new Map<string, Message[]>();
  for (const { message: m } of batch) {
    const list = byTopic.get(m.topic) ?? [];
    // A negative partition: the original one is gone, the key decides.
    list.push({
      key: m.key,
      value: m.value,
      headers: m.headers,
      partition: m.partition >= 0 ? m.partition : undefined,
    });
    byTopic.set(m.topic, list);
  }
  const topicMessages: TopicMessages[] = [...byTopic].map(([topic, messages]) => ({ topic, messages }));
  topicMessages.push({ topic: ledgerTopic, messages: batch.map((b) => ledgerMessage(b.ledger)) });
  const txn = await producer.transaction();
  try {
    await txn.sendBatch({ topicMessages, acks: -1 });
    await txn.commit();
  } catch (err) {
    await txn.abort().catch(() => {});
    throw err;
  }
}

/** Replays the DLQ entries the options select; see the module comment. */
export async function replayDlq(o: DlqReplayOptions): Promise<DlqReplayAnswer> {
  const started = performance.now();
  const now = o.now ?? (() => new Date());
  const sourceName = o.source.kind === "kafka" ? `kafka:${o.source.topic}` : `redis:${o.source.stream}`;
  const summary = emptySummary(o, sourceName);
  const kafka = quickKafka(o.brokers, `${o.clientId}-dlq-replay`, o.connectTimeoutSec ?? 10);
  const admin = kafka.admin();
  await connect(admin, o.brokers);
  try {
    const topics = new Set(await admin.listTopics());
    if (o.source.kind === "kafka" && !topics.has(o.source.topic)) {
      throw new DlqReplayError(
        `the DLQ topic ${JSON.stringify(o.source.topic)} does not exist on ${o.brokers.join(",")} (EMBED_DLQ_TOPIC)`,
        "missing",
      );
    }
    const hasLedger = topics.has(o.ledgerTopic);

    // Read the entries and the ledger (one consumer when both are topics).
    const read: ReadEntry[] = [];
    const ledger = new Map<string, LedgerRecord>();
    const toRead: { topic: string; fromMs?: number }[] = [];
    if (o.source.kind === "kafka") toRead.push({ topic: o.source.topic, fromMs: o.filter.sinceMs });
    if (hasLedger) toRead.push({ topic: o.ledgerTopic });
    const dlqTopic = o.source.kind === "kafka" ? o.source.topic : undefined;
    await readToEnd(kafka, admin, o.brokers, toRead, (topic, partition, offset, value) => {
      if (topic === dlqTopic) {
        read.push({ location: `kafka:${topic}/${partition}/${offset}`, entry: parseEntry(value) });
        o.onProgress?.("read", read.length);
      } else if (value !== null) {
        try {
          const r = JSON.parse(String(value)) as LedgerRecord;
          if (typeof r.original === "string") ledger.set(r.original, r);
        } catch {
          // an unreadable ledger record records nothing
        }
      }
    });
    if (o.source.kind === "redis") {
      read.push(...(await readRedis(o.source.client, o.source.stream, o.filter.sinceMs)));
      o.onProgress?.("read", read.length);
    }
    read.sort(byTime);
    summary.read = read.length;

    // Decide per entry.
    const items: ReplayItem[] = [];
    const toSend: { item: ReplayItem; message: ReplayMessage; original: string }[] = [];
    const taken = new Set<string>();
    const limit = o.limit ?? Number.POSITIVE_INFINITY;
    const targets = new Map<string, number>(); // topic → partitions
    const at = now();
    for (const { location, entry } of read) {
      if (!entry) {
        summary.unreadable++;
        continue;
      }
      if (!matches(entry, o.filter)) continue;
      summary.matched++;
      if (items.length >= limit) {
        summary.beyond_limit++;
        continue;
      }
      const original = originalId(entry);
      const bytes = entry.value_truncated ? (entry.value_bytes ?? null) : (replayBytes(entry) ?? null);
      const item: ReplayItem = {
        from: location,
        original,
        to: null,
        key: entry.source.key ?? null,
        stage: entry.stage,
        reason: entry.reason,
        doc_id: entry.doc_id ?? null,
        bytes,
        replay_count: replayCount(entry),
        status: "skipped",
      };
      items.push(item);
      if (taken.has(original)) {
        item.status = "duplicate";
        item.why = "another entry of the same original record is replayed in this run";
        summary.duplicates++;
        continue;
      }
      taken.add(original);
      const before = ledger.get(original);
      if (before && !o.force) {
        item.status = "already_replayed";
        item.why = `replayed at ${before.replayed_at} from ${before.from} to ${before.to} (--force replays it again)`;
        summary.already_replayed++;
        continue;
      }
      const made = replayMessage(entry, { location, now: at, maxReplays: o.maxReplays });
      if (!made.ok) {
        skip(summary, item, made.why, made.detail);
        continue;
      }
      const target = made.message;
      if (!targets.has(target.topic)) {
        targets.set(target.topic, topics.has(target.topic) ? await partitionCount(admin, target.topic) : 0);
      }
      const partitions = targets.get(target.topic) ?? 0;
      if (partitions === 0) {
        skip(summary, item, "target_missing", `the topic ${target.topic} does not exist`);
        continue;
      }
      // The original partition when the topic still has it, else the key decides.
      if (target.partition >= partitions) target.partition = -1;
      item.to = `${target.topic}/${target.partition >= 0 ? target.partition : "?"}`;
      if (item.replay_count > 0) summary.replays_of_replays++;
      toSend.push({ item, message: target, original });
    }

    if (o.dryRun) {
      for (const s of toSend) s.item.status = "would_send";
      summary.would_send = toSend.length;
    } else if (toSend.length > 0) {
      if (!hasLedger) await createLedger(admin, o.ledgerTopic, o.replicationFactor);
      await sendAll(kafka, o, toSend, at, summary);
    }
    summary.seconds = (performance.now() - started) / 1000;
    return { summary, items };
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** Bytes of the original value an entry holds (null for a tombstone). */
function replayBytes(e: DlqEntry): number | null {
  if (e.value !== null && e.value !== undefined) return Buffer.byteLength(e.value, "utf8");
  if (e.value_b64 !== null && e.value_b64 !== undefined) return Buffer.from(e.value_b64, "base64").length;
  return null;
}

function skip(summary: ReplaySummary, item: ReplayItem, why: NotReplayable, detail: string): void {
  item.status = "skipped";
  item.why = `${why}: ${detail}`;
  summary.skipped[why] = (summary.skipped[why] ?? 0) + 1;
}

async function partitionCount(admin: Admin, topic: string): Promise<number> {
  const md = await admin.fetchTopicMetadata({ topics: [topic] });
  return md.topics[0]?.partitions.length ?? 0;
}

async function sendAll(
  kafka: Kafka,
  o: DlqReplayOptions,
  toSend: { item: ReplayItem; message: ReplayMessage; original: string }[],
  at: Date,
  summary: ReplaySummary,
): Promise<void> {
  const producer = kafka.producer({
    transactionalId: `${o.clientId}-dlq-replay`,
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  });
  await connect(producer, o.brokers);
  const size = Math.max(1, o.batchSize ?? 200);
  try {
    for (let i = 0; i < toSend.length; i += size) {
      const batch = toSend.slice(i, i + size).map((s) => ({
        message: s.message,
        ledger: {
          original: s.original,
          replayed_at: at.toISOString(),
          from: s.item.from,
          to: s.item.to ?? s.message.topic,
          replay_count: s.item.replay_count + 1,
        },
      }));
      try {
        await sendTransactional(producer, o.ledgerTopic, batch);
      } catch (err) {
        const type = kafkaErrorType(err);
        if (type === "INVALID_PRODUCER_EPOCH" || type === "PRODUCER_FENCED") {
          throw new DlqReplayError(
            `another DLQ replay (transactional id ${o.clientId}-dlq-replay) took over; ${summary.sent} records were sent before it`,
            "conflict",
          );
        }
        throw err;
      }
      for (const s of toSend.slice(i, i + size)) s.item.status = "sent";
      summary.sent += batch.length;
      o.onProgress?.("sent", summary.sent, toSend.length);
    }
  } finally {
    await producer.disconnect().catch(() => {});
  }
}
