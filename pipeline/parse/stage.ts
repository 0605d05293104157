/**
 * The parse stage: agent results → `embedding_input` records, by the rules in
 * contracts/extract.ts. Null values, blank texts and invalid explicit doc_ids go to the DLQ
 * with their reason (and the record's explicit doc_id when it has a valid one);
 * over-long texts are truncated and marked, never dropped.
 */
import type { DlqEntry } from "../contracts/dlq.ts";
import { type ExtractOptions, parseAgentResult } from "../contracts/extract.ts";
import type { EmbeddingInput } from "../contracts/records.ts";
import { dlqEntry } from "../core/dlq.ts";
import type { Metrics } from "../core/metrics.ts";
import type { Output, ProcessResult, SourceRecord } from "../core/source.ts";

export function parseRecords(
  records: SourceRecord[],
  opts: ExtractOptions,
  metrics?: Metrics,
): ProcessResult<EmbeddingInput> {
  const outputs: Output<EmbeddingInput>[] = [];
  const dlq: DlqEntry[] = [];
  for (const record of records) {
    const r = parseAgentResult(record.value, record.key, opts);
    if (!r.ok) {
      dlq.push(dlqEntry(record, r.reason, r.error, { stage: "parse", doc_id: r.doc_id }));
      continue;
    }
    if (r.truncated) metrics?.inc("truncated");
    outputs.push({
      record,
      value: {
        text: r.text,
        topic: record.topic,
        kafka_ts: Number.isFinite(record.timestamp) ? record.timestamp : null,
        doc_id: r.doc_id,
        ...(r.truncated ? { truncated: true } : {}),
        ...(r.labels ? { labels: r.labels } : {}),
        ...(r.success !== undefined ? { success: r.success } : {}),
      },
    });
  }
  return { outputs, dlq };
}
