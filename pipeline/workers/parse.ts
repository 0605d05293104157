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
  { sections: ["kafka", "topics", "worker", "dlq", "redis", "parse", "parquet", "logging"] },
);

await runWorker<EmbeddingInput>({
  name: "parse",
  stage: "parse",
  groupId: (cfg) => cfg.parse.group,
  topics: (cfg) => cfg.topics.source,
  batch: (cfg) => ({
    maxItems: cfg.parse.batchSize,
    maxBytes: cfg.parse.maxBatchBytes,
    maxWaitMs: cfg.parse.maxWaitSec * 1000,
  }),
  listen: (cfg) => ({ host: cfg.parse.metricsHost, port: cfg.parse.metricsPort }),
  async setup({ cfg, producer, exactlyOnce, metrics }) {
    const opts = {
      fields: cfg.parse.textFields,
      maxChars: cfg.parse.maxTextChars,
      labelFields: cfg.parse.labelFields,
    };
    const parquet = cfg.parse.outputDir
      ? parquetStageSink<EmbeddingInput, ParsedRow>({
          dir: cfg.parse.outputDir,
          prefix: "parsed",
          schema: PARSED_ROWS_SCHEMA,
          rollRows: cfg.parquet.rollRows,
          rollSec: cfg.parquet.rollSec,
          ...(exactlyOnce ? { exactlyOnce } : {}),
          toRow: (o) => ({
            ...o.value,
            truncated: o.value.truncated === true,
            parsed_ts: Date.now() / 1000,
            success: o.value.success ?? null,
            labels: JSON.stringify(o.value.labels ?? {}),
          }),
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
