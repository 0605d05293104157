/** Reading the backend's SSE streams in tests, with the same client the console uses. */
import { EventSource } from "eventsource";

/** The first event of `url` whose JSON satisfies `ok` (default: any), or an error after `timeoutMs`. */
export async function firstEvent(
  url: string,
  ok: (data: Record<string, unknown>) => boolean = () => true,
  timeoutMs = 30_000,
): Promise<Record<string, unknown>> {
  const es = new EventSource(url);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await new Promise<Record<string, unknown>>((resolve, reject) => {
      es.onmessage = (e) => {
        const data = JSON.parse(e.data) as Record<string, unknown>;
        if (ok(data)) resolve(data);
      };
      timer = setTimeout(
        () => reject(new Error(`no such event on ${url} within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
  } finally {
    clearTimeout(timer);
    es.close();
  }
}
