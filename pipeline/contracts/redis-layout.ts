/**
 * Every Redis key the project writes or reads, and the KEYS of each Lua script, in one place
 * (namespace `{ns}` = REDDB_NAMESPACE). The README's key table describes the same.
 *
 * Embedded records (embed worker, `REDDB_MODE`):
 *   {ns}:embedding:{doc_id}      string, JSON of the embedded record (kv | both)
 *   {ns}:{REDDB_STREAM}          stream of embedded records, fields doc_id + value (stream | both)
 *   {ns}:seen:{stream}:{doc_id}  fingerprint of the last record appended for a doc_id, so a
 *                                redelivered record is not appended twice (TTL REDDB_DEDUP_TTL_SEC)
 * DLQ (every worker):
 *   {ns}:{REDDB_DLQ_STREAM}      stream of DLQ entries, fields stage, reason, doc_id + value
 * The kNN index (indexer; read by the backend):
 *   {ns}:embvec:{doc_id}         hash: doc_id, model, dim, vec (float32 little-endian bytes), norm,
 *                                topic, kafka_ts, embedded_ts, text (bounded), shard, labels (JSON),
 *                                success (1, 0 or empty)
 *   {ns}:shard:{n}:ids           sorted set of doc_ids by embedded_ts; the newest EMB_SHARD_MAX_IDS
 *                                are kept, and an evicted id's embvec is deleted with it
 *   {ns}:{REDDB_INDEX_STREAM}    stream of changes: op (upsert|delete), doc_id — followed by
 *                                the backend to keep its in-memory index current
 *   {ns}:index:models            hash model → dim: one dimension per model, fixed by its first vector
 * shard = sha256(doc_id) as a big integer mod EMB_INDEX_SHARDS. Streams are capped
 * (MAXLEN ~ REDDB_STREAM_MAXLEN).
 */
import { createHash } from "node:crypto";
import type { Labels } from "./extract.ts";

/** What names the index's keys. */
export interface IndexLayout {
  namespace: string;
  /** REDDB_INDEX_STREAM. */
  stream: string;
  shards: number;
}

type Ns = { namespace: string };

/** Key names, from the namespace and the stream names of the configuration. */
export const redisKeys = {
  /** A stream in the namespace: REDDB_STREAM, REDDB_DLQ_STREAM, REDDB_INDEX_STREAM. */
  stream: (l: Ns, name: string) => `${l.namespace}:${name}`,
  embedding: (l: Ns, docId: string) => `${l.namespace}:embedding:${docId}`,
  seen: (l: Ns, stream: string, docId: string) => `${l.namespace}:seen:${stream}:${docId}`,
  vec: (l: Ns, docId: string) => `${l.namespace}:embvec:${docId}`,
  vecPrefix: (l: Ns) => `${l.namespace}:embvec:`,
  shard: (l: Ns, n: number) => `${l.namespace}:shard:${n}:ids`,
  indexStream: (l: IndexLayout | (Ns & { stream: string })) => `${l.namespace}:${l.stream}`,
  models: (l: Ns) => `${l.namespace}:index:models`,
};

/**
 * KEYS: seen, stream. ARGV: fingerprint, ttl, maxlen, doc_id, value. Appends only when the
 * fingerprint for this doc_id changed (SET … GET returns the previous value).
 */
export const APPEND_ONCE_SCRIPT = `
local prev = redis.call('SET', KEYS[1], ARGV[1], 'GET', 'EX', tonumber(ARGV[2]))
if prev == ARGV[1] then return 0 end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'doc_id', ARGV[4], 'value', ARGV[5])
return 1
`;

/** The KEYS of {@link APPEND_ONCE_SCRIPT} for one record of `stream`. */
export const appendOnceKeys = (l: Ns, stream: string, docId: string): [string, string] => [
  redisKeys.seen(l, stream, docId),
  redisKeys.stream(l, stream),
];

export function shardOf(docId: string, shards: number): number {
  const hex = createHash("sha256").update(docId, "utf8").digest("hex");
  return Number(BigInt(`0x${hex}`) % BigInt(shards));
}

export function vectorToBytes(v: ArrayLike<number>): Buffer {
  const f = Float32Array.from(v as ArrayLike<number>);
  return Buffer.from(f.buffer, f.byteOffset, f.byteLength);
}

export function bytesToVector(b: Buffer): Float32Array {
  const copy = new Uint8Array(b.length);
  copy.set(b);
  return new Float32Array(copy.buffer);
}

/** A stored embvec hash (as returned by HGETALL with buffers) decoded. */
export interface StoredVector {
  doc_id: string;
  model: string;
  dim: number;
  vector: Float32Array;
  norm: number;
  topic: string | null;
  kafka_ts: number | null;
  embedded_ts: number;
  text: string;
  shard: number;
  labels: Labels;
  success: boolean | null;
}

function parseLabels(s: string | undefined): Labels {
  if (!s) return {};
  try {
    const v = JSON.parse(s);
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Labels) : {};
  } catch {
    return {};
  }
}

export function decodeStoredVector(h: Record<string, Buffer>): StoredVector | undefined {
  const s = (k: string) => h[k]?.toString("utf8");
  if (!h.vec || !s("doc_id") || !s("model")) return undefined;
  const num = (k: string) => (s(k) === undefined || s(k) === "" ? null : Number(s(k)));
  return {
    doc_id: s("doc_id") as string,
    model: s("model") as string,
    dim: Number(s("dim")),
    vector: bytesToVector(h.vec),
    norm: Number(s("norm")),
    topic: s("topic") || null,
    kafka_ts: num("kafka_ts"),
    embedded_ts: Number(s("embedded_ts")),
    text: s("text") ?? "",
    shard: Number(s("shard")),
    labels: parseLabels(s("labels")),
    success: s("success") === "1" ? true : s("success") === "0" ? false : null,
  };
}

/**
 * One record, atomically: write the embvec hash, add to its shard, log the upsert, and evict
 * the oldest ids beyond the cap together with their vectors (each eviction logged as a delete).
 * KEYS: embvec, shard set, stream ({@link upsertKeys}). ARGV: doc_id, score, max_ids,
 * stream_maxlen, embvec prefix, then the hash's field/value pairs. Returns the number of
 * evicted ids.
 */
export const UPSERT_SCRIPT = `
local doc = ARGV[1]
local fields = {}
for i = 6, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('ZADD', KEYS[2], tonumber(ARGV[2]), doc)
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', 'op', 'upsert', 'doc_id', doc)
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[3])
if over <= 0 then return 0 end
local evicted = redis.call('ZPOPMIN', KEYS[2], over)
for i = 1, #evicted, 2 do
  redis.call('DEL', ARGV[5] .. evicted[i])
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', 'op', 'delete', 'doc_id', evicted[i])
end
return over
`;

/** The KEYS of {@link UPSERT_SCRIPT} for one record. */
export const upsertKeys = (l: IndexLayout, docId: string, shard: number): [string, string, string] => [
  redisKeys.vec(l, docId),
  redisKeys.shard(l, shard),
  redisKeys.indexStream(l),
];
