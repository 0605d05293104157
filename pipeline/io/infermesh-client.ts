/**
 * Client of an InferMesh-style `POST /embed` service. Understands the project's own
 * server and InferMesh (`{vectors}`), `{embeddings}`, text-embeddings-inference (a bare
 * `number[][]`) and OpenAI-style `{data: [{embedding}]}`.
 *
 * Faults are classified: timeouts, refused connections, 429 and 5xx are transient
 * ({@link TransientError}, retried with backoff); any other 4xx means the service rejects
 * these inputs ({@link RejectedError}); a response that does not match the request
 * (count, dimension, non-finite numbers) is an {@link InvalidResponseError}.
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
  model: string;
  apiKey?: string;
  timeoutSec: number;
  /** Quick retries inside one call (INFERMESH_RETRIES / INFERMESH_BACKOFF_SEC). */
  policy: BackoffPolicy;
  fetch?: typeof fetch;
  onCall?: (info: { ok: boolean; rttMs: number; error?: string }) => void;
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

  constructor(private readonly o: InfermeshClientOptions) {
    this.fetchFn = o.fetch ?? fetch;
  }

  get model(): string {
    return this.o.model;
  }

  /** One attempt: POST /embed. */
  private async once(inputs: string[], signal?: AbortSignal): Promise<Float32Array[]> {
    const started = performance.now();
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (this.o.apiKey) headers.authorization = `Bearer ${this.o.apiKey}`;
    const timeout = AbortSignal.timeout(this.o.timeoutSec * 1000);
    const report = (ok: boolean, error?: string) =>
      this.o.onCall?.({ ok, rttMs: performance.now() - started, ...(error ? { error } : {}) });
    let res: Response;
    try {
      res = await this.fetchFn(`${this.o.url}/embed`, {
        method: "POST",
        headers,
        body: JSON.stringify({ model: this.o.model, inputs }),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      const msg = timeout.aborted ? `timed out after ${this.o.timeoutSec}s` : (err as Error).message;
      report(false, msg);
      throw new TransientError(`InferMesh unreachable: ${msg}`, timeout.aborted ? "timeout" : "connect", {
        cause: err,
      });
    }
    const text = await res.text().catch(() => "");
    if (res.status === 429 || res.status >= 500) {
      report(false, `HTTP ${res.status}`);
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

  /** Embeds `inputs`, retrying transient faults INFERMESH_RETRIES times. */
  embed(inputs: string[], signal?: AbortSignal): Promise<Float32Array[]> {
    return retry(() => this.once(inputs, signal), this.o.policy, signal ? { signal } : {});
  }

  async health(): Promise<boolean> {
    try {
      const res = await this.fetchFn(`${this.o.url}/health`, { signal: AbortSignal.timeout(2000) });
      return res.ok;
    } catch {
      return false;
    }
  }
}
