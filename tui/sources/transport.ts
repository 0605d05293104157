/**
 * How the console reaches the backend. Feeds only see {@link Transport}; the HTTP one talks
 * to `BACKEND_URL` (SSE through the `eventsource` package, whose `fetch` option adds the
 * bearer token and `Last-Event-ID`), tests pass one that replays recorded fixtures.
 */
import { EventSource } from "eventsource";

export interface StreamHandlers {
  /** The stream answered 200 and is open. */
  onOpen(): void;
  /** One `data:` payload and its `id:`. */
  onMessage(data: string, id: string | undefined): void;
  /** The stream failed or ended; the transport has closed it. */
  onError(message: string): void;
}

export interface TransportResponse {
  status: number;
  /** Parsed JSON when the answer is JSON, else the text. */
  body: unknown;
}

export interface RequestInit {
  method?: "GET" | "POST";
  /** JSON body. */
  body?: unknown;
  signal?: AbortSignal;
  /** Time limit of this request, ms (default: the transport's). */
  timeoutMs?: number;
}

export interface Transport {
  /** Opens one event stream (no automatic reconnect: the caller owns the policy); returns close. */
  openStream(path: string, handlers: StreamHandlers, lastEventId?: string): () => void;
  /** One HTTP request; rejects only when no answer came (network error, timeout, abort). */
  request(path: string, init?: RequestInit): Promise<TransportResponse>;
}

export type FetchFn = (url: string, init?: globalThis.RequestInit) => Promise<Response>;

export interface HttpTransportOptions {
  baseUrl: string;
  /** `BACKEND_TOKEN`, sent as `Authorization: Bearer`. */
  token?: string;
  /** Time limit of one request, ms (default 5000). */
  timeoutMs?: number;
  fetch?: FetchFn;
}

/** The message of an error, one line. */
export function errorText(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: unknown }).cause;
    const code = (err as Error & { code?: unknown }).code;
    const base = err.message || err.name;
    if (typeof code === "string" && !base.includes(code)) return `${base} (${code})`;
    if (cause instanceof Error && cause.message && !base.includes(cause.message)) {
      return `${base}: ${cause.message}`;
    }
    return base;
  }
  return String(err);
}

export function createHttpTransport(o: HttpTransportOptions): Transport {
  const base = o.baseUrl.replace(/\/+$/, "");
  const fetchFn: FetchFn = o.fetch ?? ((url, init) => fetch(url, init));
  const timeoutMs = o.timeoutMs ?? 5_000;
  const auth: Record<string, string> = o.token ? { authorization: `Bearer ${o.token}` } : {};

  return {
    openStream(path, handlers, lastEventId) {
      let closed = false;
      const es = new EventSource(`${base}${path}`, {
        fetch: (url, init) =>
          fetchFn(String(url), {
            ...init,
            headers: { ...init.headers, ...auth, ...(lastEventId ? { "last-event-id": lastEventId } : {}) },
          }),
      });
      const close = () => {
        if (closed) return;
        closed = true;
        es.close();
      };
      es.addEventListener("open", () => {
        if (!closed) handlers.onOpen();
      });
      es.addEventListener("message", (ev) => {
        if (!closed) handlers.onMessage(String(ev.data), ev.lastEventId || undefined);
      });
      es.addEventListener("error", (ev) => {
        if (closed) return;
        close();
        const e = ev as Event & { code?: number; message?: string };
        const what = e.code ? `HTTP ${e.code}` : "";
        handlers.onError([what, e.message].filter(Boolean).join(": ") || "stream failed");
      });
      return close;
    },

    async request(path, init = {}) {
      const signals = [
        AbortSignal.timeout(init.timeoutMs ?? timeoutMs),
        ...(init.signal ? [init.signal] : []),
      ];
      const headers: Record<string, string> = { ...auth, accept: "application/json" };
      if (init.body !== undefined) headers["content-type"] = "application/json";
      const res = await fetchFn(`${base}${path}`, {
        method: init.method ?? "GET",
        headers,
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
        signal: AbortSignal.any(signals),
      });
      const text = await res.text();
      let body: unknown = text;
      if ((res.headers.get("content-type") ?? "").includes("json")) {
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
      }
      return { status: res.status, body };
    },
  };
}

/** The `{error}` of an error answer, or a generic message. */
export function answerError(res: TransportResponse): string {
  const b = res.body;
  if (typeof b === "object" && b !== null && typeof (b as { error?: unknown }).error === "string") {
    return `HTTP ${res.status}: ${(b as { error: string }).error}`;
  }
  return `HTTP ${res.status}`;
}
