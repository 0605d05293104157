/**
 * kNN queries: the prompt syntax (free text, `doc:<id>`, `@path/to/vector.json`, each optionally
 * followed by `| key=value …`, a filter on labels, `topic` or `success`), the HTTP
 * client of `POST /api/knn/query`, and the search flow that dispatches pending, result and
 * error (answers to superseded queries are dropped by sequence number).
 */
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { resolve } from "node:path";
import type { KnnFilter } from "../../pipeline/contracts/knn.ts";
import type { Dispatch } from "../state/store.ts";
import type { KnnResult } from "../state/types.ts";
import { decodeKnn, isRecord } from "./decode.ts";
import { answerError, errorText, type Transport } from "./transport.ts";

export type PromptQuery = (
  | { kind: "text"; text: string }
  | { kind: "doc"; doc_id: string }
  | { kind: "vector"; path: string }
) & { filter?: KnnFilter };

const FILTER_TERM = /^([^\s=|]+)=(\S+)$/;

/**
 * A filter value as typed: true, false, null and numbers are those, a value in double quotes
 * is a string (`task="0042"`), anything else a string.
 */
function filterValue(s: string): string | number | boolean | null {
  if (s.length >= 2 && s.startsWith('"') && s.endsWith('"')) return s.slice(1, -1);
  if (s === "true" || s === "false") return s === "true";
  if (s === "null") return null;
  if (/^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(s)) return Number(s);
  return s;
}

/**
 * `… | success=true agent=coder,planner`: the filter after the last `|` when every term there
 * is key=value (a comma list of values matches any of them); else the `|` is part of the query.
 */
function splitFilter(s: string): { rest: string; filter?: KnnFilter } | { error: string } {
  const at = s.lastIndexOf("|");
  if (at < 0) return { rest: s };
  const terms = s
    .slice(at + 1)
    .trim()
    .split(/\s+/)
    .filter(Boolean);
  if (terms.length === 0) return { error: "a filter after | needs key=value terms, e.g. | success=true" };
  if (!terms.every((t) => FILTER_TERM.test(t))) return { rest: s };
  const filter: KnnFilter = {};
  for (const t of terms) {
    const [, key, value] = FILTER_TERM.exec(t) as RegExpExecArray;
    const values = (value as string).split(",").map(filterValue);
    filter[key as string] = values.length === 1 ? (values[0] as string) : values;
  }
  return { rest: s.slice(0, at).trim(), filter };
}

/** What a prompt asks for, or an error message. */
export function parsePrompt(input: string): PromptQuery | { kind: "error"; error: string } {
  const split = splitFilter(input.trim());
  if ("error" in split) return { kind: "error", error: split.error };
  const q = parseQuery(split.rest);
  return q.kind === "error" || split.filter === undefined ? q : { ...q, filter: split.filter };
}

function parseQuery(s: string): PromptQuery | { kind: "error"; error: string } {
  if (s === "") return { kind: "error", error: "type a query: free text, doc:<id> or @path/to/vector.json" };
  if (s.startsWith("doc:")) {
    const id = s.slice(4).trim();
    return id === ""
      ? { kind: "error", error: "doc: needs an id, e.g. doc:1234" }
      : { kind: "doc", doc_id: id };
  }
  if (s.startsWith("@")) {
    const path = s.slice(1).trim();
    return path === ""
      ? { kind: "error", error: "@ needs a file, e.g. @vec.json" }
      : { kind: "vector", path };
  }
  return { kind: "text", text: s };
}

export interface KnnRequest {
  text?: string;
  doc_id?: string;
  vector?: number[];
  k: number;
  filter?: KnnFilter;
}

export type KnnQueryFn = (req: KnnRequest, signal?: AbortSignal) => Promise<KnnResult>;

/** `POST /api/knn/query`; rejects with the backend's `{error}` on 4xx/5xx. */
export function createKnnClient(transport: Transport): KnnQueryFn {
  return async (req, signal) => {
    const res = await transport.request("/api/knn/query", { method: "POST", body: req, signal });
    if (res.status < 200 || res.status >= 300) throw new Error(answerError(res));
    return decodeKnn(res.body);
  };
}

export type ReadText = (path: string) => Promise<string>;

/**
 * A vector from a JSON file: an array of numbers, or an object with `vector` or `embedding`
 * (so a line copied from the `embeddings` topic works). `~` and relative paths resolve
 * against the home folder and `cwd`.
 */
export async function readVectorFile(
  path: string,
  cwd: string,
  read: ReadText = (p) => readFile(p, "utf8"),
): Promise<number[]> {
  const full = path.startsWith("~/") ? resolve(homedir(), path.slice(2)) : resolve(cwd, path);
  let parsed: unknown;
  try {
    parsed = JSON.parse(await read(full));
  } catch (err) {
    throw new Error(`cannot read a vector from ${full}: ${errorText(err)}`);
  }
  const v = Array.isArray(parsed)
    ? parsed
    : isRecord(parsed)
      ? (parsed.vector ?? parsed.embedding)
      : undefined;
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === "number" && Number.isFinite(x))) {
    throw new Error(`${full}: expected a JSON array of numbers (or {"vector": [...]})`);
  }
  return v as number[];
}

export interface SearcherDeps {
  query: KnnQueryFn;
  dispatch: Dispatch;
  now: () => number;
  cwd: string;
  readText?: ReadText;
}

/** Runs prompts as kNN searches; returns the search function. */
export function createSearcher(d: SearcherDeps): (prompt: string, k: number) => Promise<void> {
  let seq = 0;
  let inFlight: AbortController | undefined;
  return async (prompt, k) => {
    const q = parsePrompt(prompt);
    if (q.kind === "error") {
      d.dispatch({ type: "notice", kind: "error", text: q.error, at: d.now() });
      return;
    }
    seq += 1;
    const mine = seq;
    inFlight?.abort();
    const ctl = new AbortController();
    inFlight = ctl;
    d.dispatch({ type: "knn/start", query: prompt.trim(), seq: mine });
    try {
      const base: KnnRequest =
        q.kind === "text"
          ? { text: q.text, k }
          : q.kind === "doc"
            ? { doc_id: q.doc_id, k }
            : { vector: await readVectorFile(q.path, d.cwd, d.readText), k };
      const req: KnnRequest = q.filter ? { ...base, filter: q.filter } : base;
      const result = await d.query(req, ctl.signal);
      if (mine === seq) d.dispatch({ type: "knn/done", seq: mine, result });
    } catch (err) {
      if (mine !== seq) return;
      d.dispatch({ type: "knn/error", seq: mine, error: errorText(err) });
    } finally {
      if (inFlight === ctl) inFlight = undefined;
    }
  };
}
