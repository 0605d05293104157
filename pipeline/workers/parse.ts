#!/usr/bin/env bun
/** parse: agent results (SPARK_KAFKA_TOPICS) → `embedding_input` (SINK_INPUT_TOPIC), keyed by doc_id. */
import type { EmbeddingInput } from "../contracts/records.ts";
import { kafkaSink } from "../io/kafka-sink.ts";
import { PARSED_ROWS_SCHEMA, type ParsedRow } from "../io/parquet.ts";
import { parquetStageSink } from "../io/parquet-stage-sink.ts";
import { parseRecords } from "../parse/stage.ts";
import { helpIfAsked } from "./help.ts";
import { runWorker } from "./runtime.ts";

helpIfAsked(
  "bun pipeline/workers/parse.ts",
  "Consumes agent results, extracts text and doc_id, publishes {text, topic, kafka_ts, doc_id} keyed by doc_id.\n" +
    "Null values and blank texts go to the DLQ; offsets are committed after the produce is acknowledged.",
  [
    ["KAFKA_BOOTSTRAP_SERVERS", "brokers"],
    ["SPARK_KAFKA_TOPICS", "source topics (comma list)"],
    ["SINK_INPUT_TOPIC", "output topic"],
    ["PARSE_GROUP", "consumer group"],
    ["PARSE_TEXT_FIELDS", "JSON fields tried for the text, dotted paths allowed"],
    ["PARSE_MAX_TEXT_CHARS", "longer texts are truncated and marked"],
    ["PARSE_BATCH_SIZE / PARSE_MAX_WAIT_SEC", "batching"],
    ["VEC_OUTPUT_DIR", "Parquet of parsed rows (empty = off)"],
    ["EMBED_DLQ_TOPIC / REDDB_URL / REDDB_DLQ_STREAM", "DLQ targets"],
    ["PARSE_METRICS_HOST / PARSE_METRICS_PORT", "/health and /metrics"],
  ],
);

await runWorker<EmbeddingInput>({
  name: "parse",
  stage: "parse",
  groupId: (cfg) => cfg.parse.group,
  topics: (cfg) => cfg.topics.source,
  batch: (cfg) => ({
    maxItems: cfg.parse.batchSize,
    maxBytes: 8 * 1024 * 1024,
    maxWaitMs: cfg.parse.maxWaitSec * 1000,
  }),
  listen: (cfg) => ({ host: cfg.parse.metricsHost, port: cfg.parse.metricsPort }),
  async setup({ cfg, producer, metrics }) {
    const opts = { fields: cfg.parse.textFields, maxChars: cfg.parse.maxTextChars };
    const parquet = cfg.parse.outputDir
      ? parquetStageSink<EmbeddingInput, ParsedRow>({
          dir: cfg.parse.outputDir,
          prefix: "parsed",
          schema: PARSED_ROWS_SCHEMA,
          rollRows: cfg.parquet.rollRows,
          rollSec: cfg.parquet.rollSec,
          toRow: (o) => ({ ...o.value, truncated: o.value.truncated === true, parsed_ts: Date.now() / 1000 }),
        })
      : undefined;
    return {
      process: async (records) => parseRecords(records, opts, metrics),
      sinks: [
        kafkaSink<EmbeddingInput>(producer, cfg.topics.input, (o) => ({
          key: o.value.doc_id,
          value: JSON.stringify(o.value),
        })),
        ...(parquet ? [parquet.sink] : []),
      ],
      ...(parquet ? { metrics: () => ({ parquet: { dir: cfg.parse.outputDir, ...parquet.stats() } }) } : {}),
    };
  },
});
