/** The benchmark's clock: produce records as fast as possible, time until all have arrived downstream. */
import type { FixtureRecord } from "./fixture-format.ts";
import { ScriptError, step, waitUntil } from "./progress.ts";
import { replayFixture } from "./replay.ts";
import type { Collected } from "./worker-process.ts";

/**
 * Produces `records` into `topic` and waits (up to 600 s, with progress) until `out` has
 * collected as many; returns the seconds from the first send to the last arrival.
 */
export async function timeThrough(o: {
  label: string;
  brokers: string[];
  topic: string;
  records: FixtureRecord[];
  out: { records: Collected[] };
}): Promise<number> {
  const n = o.records.length;
  const started = Date.now();
  return step(`${o.label}: ${n} records`, async (p) => {
    await replayFixture({ brokers: o.brokers, topic: o.topic, records: o.records });
    const done = await waitUntil(
      async () => {
        p.update(`${o.out.records.length}/${n}`);
        return o.out.records.length >= n;
      },
      600,
      { intervalMs: 50 },
    );
    if (!done) throw new ScriptError(`${o.label}: only ${o.out.records.length}/${n} arrived within 600 s`);
    return (Math.max(...o.out.records.map((r) => r.receivedAt)) - started) / 1000;
  });
}
