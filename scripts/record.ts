#!/usr/bin/env bun
/** Consumes a Kafka topic into a fixture file (format in fixtures/README.md). */
import { closeSync, openSync, unlinkSync, writeSync } from "node:fs";
import { loadConfig } from "../pipeline/config.ts";
import { numberFlag, runScript } from "./lib/cli.ts";
import { writeFixtureLine } from "./lib/fixture-format.ts";
import { info, ScriptError, step } from "./lib/progress.ts";
import { recordTopic } from "./lib/replay.ts";

function stamp(d = new Date()): string {
  return d.toISOString().replace(/\..*$/, "").replaceAll(":", "").replace("T", "-");
}

await runScript(
  {
    usage: "bun scripts/record.ts TOPIC [--out FILE] [--from-beginning] [--max N] [--idle-sec S]",
    description:
      "Consumes TOPIC with a fresh consumer group (offsets are never committed) and writes each record\n" +
      "as a fixture line: the value as UTF-8 text when valid, else value_b64; null values stay null.\n" +
      "Stops after N records, or S seconds without a new one, or Ctrl-C; prints where it wrote.",
    options: [
      ["--out FILE", "file to write (default ./TOPIC-YYYY-MM-DD-HHMMSS.jsonl; - for stdout)"],
      ["--from-beginning", "read the topic from its start (default: only records produced after it starts)"],
      ["--max N", "stop after N records"],
      ["--idle-sec S", "stop after S seconds without a new record (default 5)"],
    ],
    boolean: ["from-beginning"],
    string: ["out", "max", "idle-sec"],
  },
  async (args) => {
    const topics = args._.map(String);
    if (topics.length !== 1) {
      throw new ScriptError(topics.length === 0 ? "TOPIC is missing (see --help)" : "expected one TOPIC", 2);
    }
    const topic = topics[0] as string;
    const max = numberFlag("max", args.max, { integer: true, min: 1 });
    const idleSec = numberFlag("idle-sec", args["idle-sec"], { min: 0.1 }) ?? 5;
    const out =
      typeof args.out === "string" && args.out !== ""
        ? args.out
        : `${topic.replace(/[^\w.-]/g, "_")}-${stamp()}.jsonl`;
    const cfg = loadConfig();

    let fd: number;
    try {
      fd = out === "-" ? 1 : openSync(out, "w");
    } catch (err) {
      throw new ScriptError(`cannot write ${out}: ${(err as Error).message}`);
    }
    const abort = new AbortController();
    const onSignal = () => abort.abort();
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    let written = 0;
    let failed = true;
    try {
      const { summary } = await step(`Recording ${topic}`, async (p) => {
        p.update("joining");
        return recordTopic({
          brokers: cfg.kafka.brokers,
          topic,
          fromBeginning: Boolean(args["from-beginning"]),
          ...(max !== undefined ? { max } : {}),
          idleSec,
          clientId: `${cfg.kafka.clientId}-record`,
          signal: abort.signal,
          onReady: () => p.update(`0${max ? `/${max}` : ""} records`),
          onRecord: (record, n) => {
            writeSync(fd, `${writeFixtureLine(record)}\n`);
            written++;
            p.update(`${n}${max ? `/${max}` : ""} records`);
          },
        });
      });
      if (summary.headerWarnings > 0) {
        info(
          `note: ${summary.headerWarnings} header value(s) were repeated or not UTF-8 (first kept, as text)`,
        );
      }
      const why = { max: `--max ${max}`, idle: `${idleSec} s idle`, signal: "interrupted" }[
        summary.stoppedBy
      ];
      const line = `wrote ${summary.records} records to ${out === "-" ? "stdout" : out} (stopped: ${why})`;
      if (out === "-") info(line);
      else console.log(line);
      failed = false;
      return 0;
    } finally {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      if (fd !== 1) {
        closeSync(fd);
        // Do not leave an empty file behind a failure (Kafka down, no such topic).
        if (failed && written === 0) unlinkSync(out);
      }
    }
  },
);
