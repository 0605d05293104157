/**
 * Reading and validating requests: bodies within a byte limit, kNN queries (JSON body or
 * query string) and the DLQ parameters. Every refusal is an {@link HttpError}.
 */

import type { KnnFilter, KnnQuery } from "../contracts/knn.ts";
import { HttpError } from "../core/http-edge.ts";
import { filterOf } from "../knn/engine.ts";
import type { OwnerQuery } from "../knn/service.ts";

/** A kNN query as the backend passes it on: the engine's query plus a text to embed. */
export type BackendKnnQuery = KnnQuery & { text?: string };

export type { OwnerQuery };

export const MAX_K = 1000;
export const DLQ_DEFAULT_LIMIT = 500;
export const DLQ_MAX_LIMIT = 10_000;

export { parseJsonObject, readBodyLimited } from "../core/http-edge.ts";

const bad = (message: string) => new HttpError(400, message);

function checkK(k: unknown): number | undefined {
  if (k === undefined) return undefined;
  if (typeof k !== "number" || !Number.isInteger(k) || k < 1 || k > MAX_K) {
    throw bad(`"k" must be an integer from 1 to ${MAX_K}`);
  }
  return k;
}

function checkVector(v: unknown): number[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === "number" && Number.isFinite(x))) {
    throw bad('"vector" must be a non-empty array of finite numbers');
  }
  // Cosine similarity to the zero vector is undefined: every score would be 0.
  if (v.every((x) => x === 0)) throw bad('"vector" is all zeros: it has no direction to compare');
  return v as number[];
}

function checkShards(s: unknown): number[] | undefined {
  if (s === undefined || s === null) return undefined;
  if (!Array.isArray(s) || !s.every((x) => typeof x === "number" && Number.isSafeInteger(x) && x >= 0)) {
    throw bad('"shards" must be an array of non-negative integers');
  }
  return s as number[];
}

function checkString(name: string, v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string" || v.trim() === "") throw bad(`"${name}" must be a non-empty string`);
  return v;
}

function checkFilter(v: unknown): KnnFilter | undefined {
  if (v === undefined || v === null) return undefined;
  try {
    filterOf(v);
  } catch (err) {
    throw bad(`"filter": ${(err as Error).message}`);
  }
  return v as KnnFilter;
}

function checkBool(name: string, v: unknown): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") throw bad(`"${name}" must be true or false`);
  return v;
}

/**
 * A validated kNN query from the fields of a JSON body: `{vector?, doc_id?, text?, k?,
 * shards?, model?, include_self?, filter?, exact?}`; one of vector, doc_id and text is required, `k` is an
 * integer 1..1000 when given (`null` is not a k), a vector is not all zeros. Unknown fields
 * are ignored.
 */
export function knnQueryFromJson(body: Record<string, unknown>): BackendKnnQuery {
  const q: BackendKnnQuery = {};
  const vector = checkVector(body.vector);
  const doc_id = checkString("doc_id", body.doc_id);
  const text = checkString("text", body.text);
  const k = checkK(body.k);
  const shards = checkShards(body.shards);
  const model = checkString("model", body.model);
  const include_self = checkBool("include_self", body.include_self);
  const filter = checkFilter(body.filter);
  const exact = checkBool("exact", body.exact);
  if (vector) q.vector = vector;
  if (doc_id !== undefined) q.doc_id = doc_id;
  if (text !== undefined) q.text = text;
  if (k !== undefined) q.k = k;
  if (shards) q.shards = shards;
  if (model !== undefined) q.model = model;
  if (include_self !== undefined) q.include_self = include_self;
  if (filter !== undefined) q.filter = filter;
  if (exact !== undefined) q.exact = exact;
  if (!q.vector && q.doc_id === undefined && q.text === undefined) {
    throw bad('one of "vector", "doc_id" or "text" is required');
  }
  return q;
}

/** A comma list of numbers (`"0.1,0.2"`); NaN for an item that is not one. */
function numberList(s: string): number[] {
  return s.split(",").map((x) => (x.trim() === "" ? Number.NaN : Number(x.trim())));
}

const QUERY_PARAMS = ["doc_id", "text", "model", "k", "vector", "shards", "include_self", "filter", "exact"];

/**
 * A validated kNN query from a query string: `doc_id`, `text`, `model`, `k` (decimal digits
 * only), `vector` and `shards` as comma lists, `include_self` as true/false/1/0. A parameter
 * given twice is refused rather than one of its values picked.
 */
export function knnQueryFromParams(params: URLSearchParams): BackendKnnQuery {
  for (const name of QUERY_PARAMS) {
    if (params.getAll(name).length > 1) throw bad(`"${name}" is given more than once`);
  }
  const body: Record<string, unknown> = {};
  for (const name of ["doc_id", "text", "model"]) {
    const v = params.get(name);
    if (v !== null) body[name] = v;
  }
  const k = params.get("k");
  // Number() would also read "0x10", "1e1" or " 16 ": only plain decimal digits are a k.
  if (k !== null) body.k = /^[0-9]{1,7}$/.test(k) ? Number(k) : Number.NaN;
  const vector = params.get("vector");
  if (vector !== null) body.vector = numberList(vector);
  const shards = params.get("shards");
  if (shards !== null && shards.trim() !== "") body.shards = numberList(shards);
  const filter = params.get("filter");
  if (filter !== null) {
    try {
      body.filter = JSON.parse(filter);
    } catch {
      throw bad('"filter" must be a JSON object, e.g. filter={"success":true}');
    }
  }
  for (const name of ["include_self", "exact"]) {
    const raw = params.get(name);
    if (raw === null) continue;
    const s = raw.trim().toLowerCase();
    body[name] = s === "true" || s === "1" ? true : s === "false" || s === "0" ? false : raw;
  }
  return knnQueryFromJson(body);
}

/**
 * A router's query to a shard owner (`POST /api/knn/owner-query`): a kNN query with a `vector`
 * and its `model` (both required), and optionally `exclude`, the doc_id to leave out.
 */
export function ownerQueryFromJson(body: Record<string, unknown>): OwnerQuery {
  const q = knnQueryFromJson(body);
  if (!q.vector || q.model === undefined || q.doc_id !== undefined || q.text !== undefined)
    throw bad('an owner query needs "vector" and "model" (and no "doc_id" or "text")');
  const exclude = checkString("exclude", body.exclude);
  return { ...q, vector: q.vector, model: q.model, ...(exclude === undefined ? {} : { exclude }) };
}

/** `limit` of the DLQ tail: default 500, an integer 1..10000. */
export function dlqLimit(params: URLSearchParams): number {
  const raw = params.get("limit");
  if (raw === null || raw.trim() === "") return DLQ_DEFAULT_LIMIT;
  const n = Number(raw.trim());
  if (!Number.isInteger(n) || n < 1 || n > DLQ_MAX_LIMIT) {
    throw bad(`"limit" must be an integer from 1 to ${DLQ_MAX_LIMIT}`);
  }
  return n;
}

/** `format` of the DLQ tail: `json` (default) or `ndjson`. */
export function dlqFormat(params: URLSearchParams): "json" | "ndjson" {
  const f = (params.get("format") ?? "json").trim().toLowerCase();
  if (f === "" || f === "json") return "json";
  if (f === "ndjson") return "ndjson";
  throw bad('"format" must be json or ndjson');
}
