#!/usr/bin/env bun
/**
 * Produces a fixture file's records into Kafka: exact keys, headers and value bytes; or, with
 * `--from-dlq`, the original records of DLQ entries back to where they came from
 * (`scripts/lib/dlq-replay.ts`).
 */
import { loadConfig } from "../pipeline/config.ts";
import { numberFlag, runScript } from "./lib/cli.ts";
import { DLQ_FLAGS, runDlqReplay } from "./lib/dlq-replay.ts";
import { FixtureError, readFixture } from "./lib/fixture-format.ts";
import { ScriptError, step } from "./lib/progress.ts";
import { replayFixture } from "./lib/replay.ts";

await runScript(
  {
    usage:
      "bun scripts/replay.ts FILE [--rate N] [--topic T] [--repeat N]\n" +
      "       bun scripts/replay.ts --from-dlq [--stage S] [--reason R] [--since T] [--doc-id ID] [--limit N]\n" +
      "                             [--source kafka|redis] [--dry-run] [--force] [--max-replays N] [--json]",
    description:
      "Produces every record of a fixture file (fixtures/*.jsonl, format in fixtures/README.md) into\n" +
      "Kafka with its key, headers and exact value bytes (a null value stays a tombstone), then prints\n" +
      "records, bytes, seconds and records/s.\n" +
      "\n" +
      "With --from-dlq, re-produces the original records of DLQ entries (oldest first) to where they\n" +
      "came from (source topic and partition, key, exact bytes, headers), marked with the headers\n" +
      "dlq-replay-of, dlq-replay-original, dlq-replayed-at and dlq-replay-count, and records each in\n" +
      "the ledger topic DLQ_REPLAY_LEDGER_TOPIC in the same Kafka transaction, so a later run does not\n" +
      "replay it again. Entries whose original was cut to fit the DLQ are skipped, never sent as a stub.\n" +
      "Lists every entry it did not send (all with --dry-run), then a summary.",
    options: [
      ["--rate N", "at most N records per second (default: as fast as possible, in batches)"],
      ["--topic T", "topic to produce to (default: the first of SPARK_KAFKA_TOPICS, agent.results)"],
      ["--repeat N", "produce the whole file N times (default 1)"],
      ["--from-dlq", "replay DLQ entries instead of a file (the options below)"],
      ["--stage S", "only entries of these stages: parse, embed, index (repeat or comma list)"],
      ["--reason R", "only entries with these reasons, e.g. rejected (repeat or comma list)"],
      [
        "--since T",
        "only entries dead-lettered since T: ISO time (2026-11-25T10:00:00Z) or ago (30m, 1h, 2d)",
      ],
      ["--doc-id ID", "only entries of these doc_ids (repeat or comma list)"],
      ["--limit N", "at most N matching entries, the oldest"],
      [
        "--source S",
        "read the Kafka DLQ topic (kafka; the default when EMBED_DLQ_TOPIC is set) or the Redis stream (redis)",
      ],
      [
        "--dry-run",
        "list what would be sent (from, to, key, reason, doc_id, bytes); send and record nothing",
      ],
      ["--force", "replay entries the ledger records as replayed already"],
      ["--max-replays N", "skip records replayed N times already and dead-lettered again (default 3)"],
      ["--json", "print the items and the summary as JSON"],
    ],
    boolean: DLQ_FLAGS.boolean,
    string: ["rate", "topic", "repeat", ...DLQ_FLAGS.string],
  },
  async (args) => {
    if (args["from-dlq"]) return runDlqReplay(args, loadConfig());
    const dlqOnly = [...DLQ_FLAGS.boolean, ...DLQ_FLAGS.string].find(
      (f) => f !== "from-dlq" && args[f] !== undefined && args[f] !== false,
    );
    if (dlqOnly) throw new ScriptError(`--${dlqOnly} needs --from-dlq (see --help)`, 2);
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
