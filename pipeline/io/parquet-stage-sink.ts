/** A Parquet file sink as a runner sink: accepted at append, durable (offsets committable) at roll. */
import type { Output, Sink } from "../core/source.ts";
import { createParquetSink, type ParquetSchema, type Provenance } from "./parquet.ts";

export interface ParquetStageSinkOptions<T, W> {
  dir: string;
  prefix: string;
  schema: ParquetSchema<W, unknown>;
  rollRows: number;
  rollSec: number;
  toRow: (o: Output<T>) => Omit<W, keyof Provenance>;
  onRoll?: (info: { file: string; rows: number }) => void;
}

export function parquetStageSink<T, W extends Provenance>(o: ParquetStageSinkOptions<T, W>) {
  const sink = createParquetSink<W, unknown>({
    dir: o.dir,
    prefix: o.prefix,
    schema: o.schema,
    rollRows: o.rollRows,
    rollSec: o.rollSec,
    ...(o.onRoll ? { onRoll: o.onRoll } : {}),
  });
  const stageSink: Sink<T> = {
    name: `parquet:${o.dir}`,
    async write(outputs) {
      const rows = outputs.map(
        (out) =>
          ({
            ...o.toRow(out),
            source_topic: out.record.topic,
            source_partition: out.record.partition,
            source_offset: out.record.offset,
          }) as W,
      );
      const durable = sink.append(rows);
      durable.catch(() => {}); // observed by the runner's commit chain
      return { durable };
    },
    close: () => sink.close(),
  };
  return { sink: stageSink, stats: () => sink.stats() };
}
