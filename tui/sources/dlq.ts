/**
 * Saving the DLQ tail the console holds to an NDJSON file (never overwriting one), and asking
 * the backend to replay entries (`POST /api/dlq/replay`).
 */
import { open } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { DlqReplayAnswer, DlqReplayRequest } from "../../pipeline/contracts/dlq-replay.ts";
import type { DlqEntry } from "../state/types.ts";
import { answerError, type Transport } from "./transport.ts";

export type DlqReplayFn = (req: DlqReplayRequest) => Promise<DlqReplayAnswer>;

/** A replay reads the whole DLQ and waits for Kafka transactions: more than a poll's time. */
const REPLAY_TIMEOUT_MS = 120_000;

/** `POST /api/dlq/replay`; rejects with the backend's reason (403 when it does not allow replays). */
export function createDlqReplayClient(transport: Transport): DlqReplayFn {
  return async (req) => {
    const res = await transport.request("/api/dlq/replay", {
      method: "POST",
      body: req,
      timeoutMs: REPLAY_TIMEOUT_MS,
    });
    if (res.status !== 200) throw new Error(answerError(res));
    const b = res.body as Partial<DlqReplayAnswer> | null;
    if (typeof b?.summary !== "object" || b.summary === null || !Array.isArray(b.items)) {
      throw new Error("the backend's replay answer has no summary and items");
    }
    return b as DlqReplayAnswer;
  };
}

const stamp = (ms: number) =>
  new Date(ms)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");

/**
 * Writes `items` (one JSON object per line, newest first, as the backend lists them) to
 * `dir/dlq-<UTC stamp>.ndjson` (`-2`, `-3`… when that name exists) and returns the path.
 */
export async function saveDlqTail(items: DlqEntry[], dir: string, nowMs: number): Promise<string> {
  const base = resolve(dir);
  const body = items.map((i) => `${JSON.stringify(i)}\n`).join("");
  for (let n = 1; n < 1000; n++) {
    const path = join(base, `dlq-${stamp(nowMs)}${n === 1 ? "" : `-${n}`}.ndjson`);
    let fh: Awaited<ReturnType<typeof open>>;
    try {
      fh = await open(path, "wx");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") continue;
      throw err;
    }
    try {
      await fh.writeFile(body, "utf8");
    } finally {
      await fh.close();
    }
    return path;
  }
  throw new Error(`no free file name in ${base}`);
}
