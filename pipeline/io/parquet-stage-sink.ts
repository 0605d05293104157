/**
 * A Parquet folder as a runner sink, in one of two modes:
 *
 * - **at least once** (default): rows are accepted at append and durable (offsets
 *   committable) when their rolling file is written (`./parquet-sink.ts`);
 * - **exactly once** (`exactlyOnce`): a two-phase participant of the worker's Kafka
 *   transaction. `write` stages rows in memory; `prepare(seq)` writes them as hidden
 *   `.<prefix>-<UTC>-<instance>-t<seq>-<part>.pending` files (fsynced); `publish(seq)` renames
 *   them to `.parquet` once transaction `seq` committed; `discard(seq)` deletes them. At start,
 *   `recover(committed)` publishes this instance's pending files of transactions up to
 *   `committed` and deletes the others, so a crash at any point leaves each row in exactly one
 *   visible file. Readers skip hidden files, so they never see rows of an open transaction.
 */
import { readdir, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { Output, Sink } from "../core/source.ts";
import { createParquetSink, type ParquetSchema, type ParquetSinkStats, type Provenance } from "./parquet.ts";
import { type ConvertedRow, convertRow } from "./parquet-schema.ts";
import { encodeParquet, syncDir, utcStamp, writeFileDurably } from "./parquet-sink.ts";

export interface ParquetStageSinkOptions<T, W> {
  dir: string;
  prefix: string;
  schema: ParquetSchema<W, unknown>;
  /** Rows per file at most (at least once: also when a file rolls). */
  rollRows: number;
  /** At least once: roll when the oldest buffered row is this old. */
  rollSec: number;
  toRow: (o: Output<T>) => Omit<W, keyof Provenance>;
  onRoll?: (info: { file: string; rows: number }) => void;
  /** Files published with the worker's transactions (PIPELINE_EXACTLY_ONCE). */
  exactlyOnce?: { instanceId: string };
}

export interface ParquetStageSink<T> {
  sink: Sink<T>;
  stats: () => ParquetSinkStats;
}

export function parquetStageSink<T, W extends Provenance>(
  o: ParquetStageSinkOptions<T, W>,
): ParquetStageSink<T> {
  const toRows = (outputs: Output<T>[]) =>
    outputs.map(
      (out) =>
        ({
          ...o.toRow(out),
          source_topic: out.record.topic,
          source_partition: out.record.partition,
          source_offset: out.record.offset,
        }) as W,
    );
  if (o.exactlyOnce) return transactionalParquet(o, o.exactlyOnce.instanceId, toRows);
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
      const durable = sink.append(toRows(outputs));
      durable.catch(() => {}); // observed by the runner's commit chain
      return { durable };
    },
    close: () => sink.close(),
  };
  return { sink: stageSink, stats: () => sink.stats() };
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function transactionalParquet<T, W>(
  o: ParquetStageSinkOptions<T, W>,
  instanceId: string,
  toRows: (outputs: Output<T>[]) => W[],
): ParquetStageSink<T> {
  const schema = o.schema as ParquetSchema<unknown, unknown>;
  /** `.<prefix>-<UTC>-<instance>-t<seq>-<part>.pending` (or `.tmp`, cut short) of this instance. */
  const stagedName = new RegExp(
    `^\\.${escapeRegExp(o.prefix)}-\\d{8}T\\d{9}Z-${escapeRegExp(instanceId)}-t(\\d+)-\\d+\\.(pending|tmp)$`,
  );
  let staged: ConvertedRow[] = [];
  let prepared: { seq: number; files: string[]; bytes: number } | undefined;
  const counters = {
    files_written: 0,
    rows_written: 0,
    bytes_written: 0,
    last_roll_ts: null as number | null,
    write_errors: 0,
    last_error: null as string | null,
  };

  async function removeAll(files: string[]): Promise<void> {
    for (const f of files)
      await unlink(f).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== "ENOENT") throw err;
      });
    if (files.length > 0) await syncDir(o.dir);
  }

  /** Renames `.<base>.pending` to `<base>.parquet` (already renamed: nothing to do); returns the finals. */
  async function publishFiles(files: string[]): Promise<string[]> {
    const finals: string[] = [];
    for (const f of files) {
      const name = f.slice(f.lastIndexOf("/") + 1);
      const final = join(o.dir, `${name.slice(1, -".pending".length)}.parquet`);
      await rename(f, final).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== "ENOENT") throw err;
      });
      finals.push(final);
    }
    if (files.length > 0) await syncDir(o.dir);
    return finals;
  }

  const sink: Sink<T> = {
    name: `parquet:${o.dir}`,
    async write(outputs) {
      // Validated now, so that a row the schema refuses fails its batch, not a later commit.
      const rows = toRows(outputs).map((row, i) => convertRow(schema, row, i));
      for (const r of rows) staged.push(r);
      return undefined;
    },
    twoPhase: {
      async prepare(seq) {
        if (prepared?.seq === seq) return; // a commit retried after a lost answer: already written
        const files: string[] = [];
        let bytesOut = 0;
        const stamp = utcStamp(Date.now());
        try {
          for (let i = 0, part = 0; i < staged.length; i += o.rollRows, part++) {
            const rows = staged.slice(i, i + o.rollRows);
            const bytes = await encodeParquet(schema, rows);
            const base = `${o.prefix}-${stamp}-${instanceId}-t${seq}-${part}`;
            files.push(await writeFileDurably(o.dir, base, bytes, `.${base}.pending`));
            bytesOut += bytes.length;
          }
        } catch (err) {
          counters.write_errors += 1;
          counters.last_error = (err as Error).message;
          await removeAll(files).catch(() => {});
          throw err;
        }
        prepared = { seq, files, bytes: bytesOut };
      },
      async publish(seq) {
        if (prepared?.seq !== seq) return;
        const finals = await publishFiles(prepared.files);
        counters.files_written += finals.length;
        counters.rows_written += staged.length;
        counters.bytes_written += prepared.bytes;
        counters.last_roll_ts = Date.now();
        counters.last_error = null;
        const last = finals.at(-1);
        if (last) o.onRoll?.({ file: last, rows: staged.length });
        prepared = undefined;
        staged = [];
      },
      async discard() {
        const files = prepared?.files ?? [];
        prepared = undefined;
        staged = [];
        await removeAll(files);
      },
      async recover(committed) {
        let names: string[];
        try {
          names = await readdir(o.dir);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
          throw err;
        }
        const publish: string[] = [];
        const drop: string[] = [];
        for (const name of names) {
          const m = stagedName.exec(name);
          if (m) (m[2] === "pending" && Number(m[1]) <= committed ? publish : drop).push(join(o.dir, name));
        }
        await publishFiles(publish);
        await removeAll(drop);
      },
    },
    async close() {},
  };
  return {
    sink,
    stats: () => ({ ...counters, pending_rows: staged.length }),
  };
}
