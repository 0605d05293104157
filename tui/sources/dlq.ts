/** Saving the DLQ tail the console holds to an NDJSON file (never overwriting one). */
import { open } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { DlqEntry } from "../state/types.ts";

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
