/**
 * Retry with exponential backoff and full jitter. Errors are classified: a
 * {@link TransientError} (timeouts, 5xx, refused connections, broker/store hiccups) is
 * retried; anything else is permanent and thrown at once.
 */
export class TransientError extends Error {
  constructor(
    message: string,
    readonly kind: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "TransientError";
  }
}

export interface BackoffPolicy {
  /** First delay, seconds. */
  baseSec: number;
  /** Ceiling of one delay, seconds. */
  maxSec: number;
  /** Attempts after the first; Infinity retries until success or abort. */
  retries: number;
}

/** Delay before retry number `attempt` (1-based): base·2^(attempt-1) capped, with jitter in [50%, 100%]. */
export function backoffDelayMs(policy: BackoffPolicy, attempt: number, random = Math.random): number {
  const exp = Math.min(policy.maxSec, policy.baseSec * 2 ** (attempt - 1));
  return Math.round(exp * 1000 * (0.5 + 0.5 * random()));
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export interface RetryHooks {
  signal?: AbortSignal;
  /** Called before each wait with the error and the attempt number that failed. */
  onRetry?: (err: TransientError, attempt: number, delayMs: number) => void;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
}

/** Runs `fn` until it succeeds, throws a permanent error, or transient retries run out. */
export async function retry<T>(
  fn: (attempt: number) => Promise<T>,
  policy: BackoffPolicy,
  hooks: RetryHooks = {},
): Promise<T> {
  const sleep = hooks.sleep ?? abortableSleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (!(err instanceof TransientError) || attempt > policy.retries) throw err;
      if (hooks.signal?.aborted) throw err;
      const delay = backoffDelayMs(policy, attempt, hooks.random);
      hooks.onRetry?.(err, attempt, delay);
      await sleep(delay, hooks.signal);
    }
  }
}
