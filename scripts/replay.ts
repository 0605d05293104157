#!/usr/bin/env bun
/** Produces a fixture file's records into Kafka: exact keys, headers and value bytes. */
import { loadConfig } from "../pipeline/config.ts";
import { numberFlag, runScript } from "./lib/cli.ts";
import { FixtureError, readFixture } from "./lib/fixture-format.ts";
import { ScriptError, step } from "./lib/progress.ts";
import { replayFixture } from "./lib/replay.ts";

await runScript(
  {
    usage: "bun scripts/replay.ts FILE [--rate N] [--topic T] [--repeat N]",
    description:
      "Produces every record of a fixture file (fixtures/*.jsonl, format in fixtures/README.md) into\n" +
      "Kafka with its key, headers and exact value bytes (a null value stays a tombstone), then prints\n" +
      "records, bytes, seconds and records/s.",
    options: [
      ["--rate N", "at most N records per second (default: as fast as possible, in batches)"],
      ["--topic T", "topic to produce to (default: the first of SPARK_KAFKA_TOPICS, agent.results)"],
      ["--repeat N", "produce the whole file N times (default 1)"],
    ],
    string: ["rate", "topic", "repeat"],
  },
  async (args) => {
    const files = args._.map(String);
    if (files.length !== 1) {
      throw new ScriptError(files.length === 0 ? "FILE is missing (see --help)" : "expected one FILE", 2);
    }
    const file = files[0] as string;
    const rate = numberFlag("rate", args.rate, { min: 0 }) ?? 0;
    const repeat = numberFlag("repeat", args.repeat, { integer: true, min: 1 }) ?? 1;
    const cfg = loadConfig();
    const topic =
      typeof args.topic === "string" && args.topic.trim() !== "" ? args.topic.trim() : cfg.topics.source[0];
    if (!topic) throw new ScriptError("no topic: pass --topic or set SPARK_KAFKA_TOPICS", 2);

    let records: ReturnType<typeof readFixture>;
    try {
      records = readFixture(file);
    } catch (err) {
      if (err instanceof FixtureError) throw new ScriptError(`fixture ${err.message}`);
      throw err;
    }
    const total = records.length * repeat;
    const label = `Replaying ${file} → ${topic}${rate > 0 ? ` at ≤ ${rate}/s` : ""}`;
    const s = await step(label, async (p) => {
      p.update(`0/${total}`);
      return replayFixture({
        brokers: cfg.kafka.brokers,
        topic,
        records,
        rate,
        repeat,
        clientId: `${cfg.kafka.clientId}-replay`,
        onProgress: (sent, all) => p.update(`${sent}/${all}`),
      });
    });
    console.log(
      `${s.records} records, ${s.bytes} bytes in ${s.seconds.toFixed(2)} s ` +
        `(${Math.round(s.recordsPerSec)} records/s) → ${topic}`,
    );
    return 0;
  },
);
