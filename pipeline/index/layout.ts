/**
 * The kNN layout in Redis (namespace `{ns}` = REDDB_NAMESPACE):
 *   {ns}:embvec:{doc_id}   hash: doc_id, model, dim, vec (float32 little-endian bytes), norm,
 *                          topic, kafka_ts, embedded_ts, text (bounded), shard
 *   {ns}:shard:{n}:ids     sorted set of doc_ids by embedded_ts; the newest EMB_SHARD_MAX_IDS
 *                          are kept, and an evicted id's embvec is deleted with it
 *   {ns}:{REDDB_INDEX_STREAM}  stream of changes: op (upsert|delete), doc_id — followed by
 *                          the backend to keep its in-memory index current
 *   {ns}:index:models      hash model → dim: one dimension per model, fixed by its first vector
 * shard = sha256(doc_id) as a big integer mod EMB_INDEX_SHARDS.
 */
import { createHash } from "node:crypto";

export interface IndexLayout {
  namespace: string;
  stream: string;
  shards: number;
}

export const indexKeys = {
  vec: (l: Pick<IndexLayout, "namespace">, docId: string) => `${l.namespace}:embvec:${docId}`,
  vecPrefix: (l: Pick<IndexLayout, "namespace">) => `${l.namespace}:embvec:`,
  shard: (l: Pick<IndexLayout, "namespace">, n: number) => `${l.namespace}:shard:${n}:ids`,
  stream: (l: Pick<IndexLayout, "namespace" | "stream">) => `${l.namespace}:${l.stream}`,
  models: (l: Pick<IndexLayout, "namespace">) => `${l.namespace}:index:models`,
};

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
  };
}

/**
 * One record, atomically: write the embvec hash, add to its shard, log the upsert, and evict
 * the oldest ids beyond the cap together with their vectors (each eviction logged as a delete).
 * KEYS: embvec, shard set, stream. ARGV: doc_id, score, max_ids, stream_maxlen, embvec prefix,
 * then the hash's field/value pairs. Returns the number of evicted ids.
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
