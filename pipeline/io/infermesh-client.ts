/**
 * Client of an InferMesh-style `POST /embed` service. Understands the project's own
 * server and InferMesh (`{vectors}`), `{embeddings}`, text-embeddings-inference (a bare
 * `number[][]`) and OpenAI-style `{data: [{embedding}]}`.
 *
 * Faults are classified: timeouts, refused connections, 429 and 5xx are transient
 * ({@link TransientError}, retried with backoff); any other 4xx means the service rejects
 * these inputs ({@link RejectedError}); a response that does not match the request
 * (count, dimension, non-finite numbers) is an {@link InvalidResponseError}.
 *
 * Scale-out: with several URLs, requests go round-robin over them, and a retry goes to the
 * next one. With `concurrency` > 1 a batch is split into that many requests sent at once (none
 * smaller than `minSplit` texts), so a server batches them with other work and never waits for
 * this client to parse one answer before the next request arrives.
 */
import { type BackoffPolicy, retry, TransientError } from "../core/retry.ts";

export class RejectedError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`InferMesh rejected the request: HTTP ${status} ${body.slice(0, 300)}`);
    this.name = "RejectedError";
  }
}

export class InvalidResponseError extends Error {
  override name = "InvalidResponseError";
}

export interface InfermeshClientOptions {
  url: string;
  /** Several servers of the same models (`url` is then the first); default `[url]`. */
  urls?: readonly string[];
  /** Requests in flight per `embed` call (a batch is split); default 1. */
  concurrency?: number;
  /** Smallest part a batch is split into; default 8. */
  minSplit?: number;
  model: string;
  apiKey?: string;
  timeoutSec: number;
  /** Quick retries inside one call (INFERMESH_RETRIES / INFERMESH_BACKOFF_SEC). */
  policy: BackoffPolicy;
  fetch?: typeof fetch;
  /**
   * After every attempt: whether it succeeded, its round trip, and for a failure why and
   * whether it was transient (timeout, refused, 429, 5xx) or about the inputs (other 4xx,
   * unusable vectors).
   */
  onCall?: (info: { ok: boolean; rttMs: number; error?: string; transient?: boolean }) => void;
}

/** Extracts the vectors from any of the understood response shapes. */
export function readVectors(body: unknown): unknown {
  if (Array.isArray(body)) return body;
  if (body && typeof body === "object") {
    const o = body as Record<string, unknown>;
    if (Array.isArray(o.vectors)) return o.vectors;
    if (Array.isArray(o.embeddings)) return o.embeddings;
    if (Array.isArray(o.data)) return o.data.map((d) => (d as { embedding?: unknown })?.embedding);
  }
  throw new InvalidResponseError(
    "response has no vectors (expected {vectors}, {embeddings}, {data} or number[][])",
  );
}

/** Checks count, shape and finiteness; returns Float32Arrays. */
export function validateVectors(raw: unknown, expected: number): Float32Array[] {
  if (!Array.isArray(raw)) throw new InvalidResponseError("vectors is not an array");
  if (raw.length !== expected) {
    throw new InvalidResponseError(`expected ${expected} vectors, got ${raw.length}`);
  }
  let dim = -1;
  return raw.map((v, i) => {
    if (!Array.isArray(v) || v.length === 0)
      throw new InvalidResponseError(`vector ${i} is not a non-empty array`);
    if (dim === -1) dim = v.length;
    if (v.length !== dim)
      throw new InvalidResponseError(`vector ${i} has dimension ${v.length}, vector 0 has ${dim}`);
    const out = new Float32Array(v.length);
    for (let j = 0; j < v.length; j++) {
      const x = v[j];
      if (typeof x !== "number" || !Number.isFinite(x))
        throw new InvalidResponseError(`vector ${i}[${j}] is not a finite number`);
      out[j] = x;
    }
    return out;
  });
}

export class InfermeshClient {
  private readonly fetchFn: typeof fetch;
  private readonly urls: readonly string[];
  private next = 0;

  constructor(private readonly o: InfermeshClientOptions) {
    this.fetchFn = o.fetch ?? fetch;
    this.urls = o.urls && o.urls.length > 0 ? o.urls : [o.url];
  }

  /** The next server, round-robin. */
  private pick(): string {
    const url = this.urls[this.next % this.urls.length] as string;
    this.next = (this.next + 1) % this.urls.length;
    return url;
  }

  get model(): string {
    return this.o.model;
  }

  /** One attempt: POST /embed to the next server. */
  private async once(inputs: string[], signal?: AbortSignal): Promise<Float32Array[]> {
    const url = this.pick();
    const started = performance.now();
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (this.o.apiKey) headers.authorization = `Bearer ${this.o.apiKey}`;
    const timeout = AbortSignal.timeout(this.o.timeoutSec * 1000);
    const report = (ok: boolean, error?: string, transient = false) =>
      this.o.onCall?.({ ok, rttMs: performance.now() - started, ...(error ? { error, transient } : {}) });
    let res: Response;
    try {
      res = await this.fetchFn(`${url}/embed`, {
        method: "POST",
        headers,
        body: JSON.stringify({ model: this.o.model, inputs }),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      const msg = timeout.aborted ? `timed out after ${this.o.timeoutSec}s` : (err as Error).message;
      report(false, msg, true);
      throw new TransientError(`InferMesh unreachable: ${msg}`, timeout.aborted ? "timeout" : "connect", {
        cause: err,
      });
    }
    const text = await res.text().catch(() => "");
    if (res.status === 429 || res.status >= 500) {
      report(false, `HTTP ${res.status}`, true);
      throw new TransientError(`InferMesh HTTP ${res.status}: ${text.slice(0, 200)}`, `http_${res.status}`);
    }
    if (!res.ok) {
      report(false, `HTTP ${res.status}`);
      throw new RejectedError(res.status, text);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      report(false, "invalid JSON");
      throw new InvalidResponseError("response is not JSON");
    }
    try {
      const vectors = validateVectors(readVectors(body), inputs.length);
      report(true);
      return vectors;
    } catch (err) {
      report(false, (err as Error).message);
      throw err;
    }
  }

  /**
   * Embeds `inputs`, retrying transient faults INFERMESH_RETRIES times; split into up to
   * `concurrency` requests in flight. Any part's failure fails the call (the embed stage then
   * bisects or retries the batch).
   */
  async embed(inputs: string[], signal?: AbortSignal): Promise<Float32Array[]> {
    const parts = splitEvenly(inputs, this.o.concurrency ?? 1, this.o.minSplit ?? 8);
    const one = (part: string[]) =>
      retry(() => this.once(part, signal), this.o.policy, signal ? { signal } : {});
    if (parts.length <= 1) return one(inputs);
    return (await Promise.all(parts.map(one))).flat();
  }

  /** True when at least one server answers /health with 200. */
  async health(): Promise<boolean> {
    const probe = async (url: string) => {
      try {
        const res = await this.fetchFn(`${url}/health`, { signal: AbortSignal.timeout(2000) });
        return res.ok;
      } catch {
        return false;
      }
    };
    return (await Promise.all(this.urls.map(probe))).some(Boolean);
  }
}

/** `items` in at most `parts` contiguous parts of nearly equal size, none under `min` (unless it is all). */
export function splitEvenly<T>(items: T[], parts: number, min: number): T[][] {
  const n = Math.max(1, Math.min(parts, Math.floor(items.length / Math.max(1, min))));
  if (n <= 1) return [items];
  const out: T[][] = [];
  let at = 0;
  for (let i = 0; i < n; i++) {
    const size = Math.floor(items.length / n) + (i < items.length % n ? 1 : 0);
    out.push(items.slice(at, at + size));
    at += size;
  }
  return out;
}
