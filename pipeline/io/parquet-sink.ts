/**
 * A rolling Parquet sink with a fixed schema whose `append` resolves only once the rows
 * are durable in a complete file, so a consumer can commit Kafka offsets after it.
 *
 * Lifecycle of a row: `append` validates the whole batch (a bad row rejects the call and
 * buffers nothing) and buffers it. A file rolls when `rollRows` rows are buffered, when the
 * oldest buffered row is `rollSec` old (a timer: a partial file is written even when nothing
 * else arrives), or on `flush()`/`close()`. Rolling writes `<dir>/.<name>.tmp`, fsyncs it,
 * renames it to `<dir>/<name>.parquet` and fsyncs the directory; then every append whose
 * rows are all in written files resolves. Files are written one at a time, in append order.
 *
 * Write errors: a failed roll rejects **every** pending append with the error, counts it
 * (`write_errors`, `last_error`), and **keeps the rows buffered**: they are retried by the
 * next roll (automatically, after a backoff of 0.1 s doubling up to `rollSec`; at once on
 * `flush()`). A caller whose append was rejected must therefore NOT append the same rows
 * again (that would duplicate them); its rows are durable once `flush()` resolves, or once
 * any later `append` resolves (files are written in append order, so a resolved append
 * implies every earlier row is durable too).
 */
import { randomBytes } from "node:crypto";
import { mkdir, open, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import { ByteWriter, parquetWrite, type Writer } from "hyparquet-writer";
import type { ParquetFigures } from "../contracts/worker-metrics.ts";
import {
  type ConvertedRow,
  columnData,
  convertRow,
  type ParquetSchema,
  schemaElements,
} from "./parquet-schema.ts";

/** Key of the schema name in each file's key-value metadata. */
export const SCHEMA_METADATA_KEY = "rl-embeddings.schema";

/** Reported to `onRoll` after each file is durable. */
export interface RollInfo {
  /** Absolute path of the new `.parquet` file. */
  file: string;
  rows: number;
  bytes: number;
  /** Epoch milliseconds when the file became durable. */
  ts: number;
  /** Time spent encoding and writing the file. */
  durationMs: number;
}

/** Counters of one sink (what a worker's `/metrics` shows as `parquet`, less the folder). */
export type ParquetSinkStats = Omit<ParquetFigures, "dir">;

export interface ParquetSinkOptions<W, R> {
  /** Output folder, created (recursively) when missing. */
  dir: string;
  /** File name prefix, e.g. `embeddings`. */
  prefix: string;
  schema: ParquetSchema<W, R>;
  /** Roll when this many rows are buffered (a file never holds more). */
  rollRows: number;
  /** Roll when the oldest buffered row is this many seconds old. */
  rollSec: number;
  /** Called after each file is durable. Exceptions are logged, never affect the sink. */
  onRoll?: (info: RollInfo) => void;
}

/** A rolling Parquet writer; see the module doc for the delivery contract. */
export interface ParquetSink<W> {
  /**
   * Buffers `rows` and resolves when all of them are in durable files. Rejects at once with
   * a `ParquetRowError` (nothing buffered) when a row does not fit the schema, and with the
   * write error when a roll containing or preceding them fails (rows stay buffered and are
   * retried; do not append them again). An empty append resolves when every row appended
   * before it is durable.
   */
  append(rows: readonly W[]): Promise<void>;
  /** Rolls every buffered row now; resolves when they are durable, rejects on a write error. */
  flush(): Promise<void>;
  /** Stops the timer, refuses further appends, and flushes. May be retried if the flush fails. */
  close(): Promise<void>;
  stats(): ParquetSinkStats;
}

/** Thrown by `append` after `close()`. */
export class ParquetSinkClosedError extends Error {
  constructor() {
    super("parquet sink is closed");
    this.name = "ParquetSinkClosedError";
  }
}

interface Waiter {
  /** Sequence number one past the append's last row. */
  end: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** `YYYYMMDDTHHMMSSmmmZ`: sorts lexically by time. */
export function utcStamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, "").replace(".", "");
}

let fileSeq = 0;

/**
 * A file name unique across processes and restarts, sorting by time:
 * `<prefix>-<UTC timestamp>-<pid>-<seq>-<random>` (without extension).
 */
export function parquetFileBase(prefix: string, now = Date.now()): string {
  fileSeq += 1;
  const seq = String(fileSeq).padStart(6, "0");
  return `${prefix}-${utcStamp(now)}-${process.pid}-${seq}-${randomBytes(4).toString("hex")}`;
}

/** Rows per row group: small enough to bound event-loop stalls and let tail reads skip groups. */
const ROW_GROUP_ROWS = 1000;

/**
 * Encodes converted rows as one Parquet file in memory. Yields to the event loop between
 * row groups, so encoding a large file never blocks other work for long.
 */
export async function encodeParquet(
  schema: ParquetSchema<unknown, unknown>,
  rows: readonly ConvertedRow[],
): Promise<Uint8Array> {
  const writer: Writer = new ByteWriter();
  writer.flush = () => new Promise<void>((resolve) => setImmediate(resolve));
  await parquetWrite({
    writer,
    schema: schemaElements(schema),
    columnData: columnData(schema, rows),
    rowGroupSize: ROW_GROUP_ROWS,
    kvMetadata: [{ key: SCHEMA_METADATA_KEY, value: schema.name }],
    createdBy: "rl-embeddings parquet sink",
  });
  return writer.getBytes();
}

/**
 * Writes `bytes` to `<dir>/.<base>.tmp`, fsyncs, renames to `<dir>/<name>` (by default
 * `<base>.parquet`), fsyncs the folder.
 */
export async function writeFileDurably(
  dir: string,
  base: string,
  bytes: Uint8Array,
  name = `${base}.parquet`,
): Promise<string> {
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${base}.tmp`);
  const final = join(dir, name);
  try {
    const fh = await open(tmp, "wx");
    try {
      let off = 0;
      while (off < bytes.length) {
        const { bytesWritten } = await fh.write(bytes, off, bytes.length - off);
        off += bytesWritten;
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, final);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await syncDir(dir); // the rename itself durable
  return final;
}

/** Makes renames and unlinks in `dir` durable. */
export async function syncDir(dir: string): Promise<void> {
  const d = await open(dir, "r");
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** Creates a rolling Parquet sink; see {@link ParquetSink} and the module doc. */
export function createParquetSink<W, R>(opts: ParquetSinkOptions<W, R>): ParquetSink<W> {
  const { dir, prefix, schema, onRoll } = opts;
  if (!Number.isInteger(opts.rollRows) || opts.rollRows < 1)
    throw new Error("rollRows must be an integer >= 1");
  if (!(opts.rollSec > 0)) throw new Error("rollSec must be > 0");
  if (!prefix || /[/\\]/.test(prefix) || prefix.startsWith(".")) {
    throw new Error(`invalid parquet file prefix ${JSON.stringify(prefix)}`);
  }
  const rollRows = opts.rollRows;
  const rollMs = opts.rollSec * 1000;

  /** Buffered rows, oldest first; `buffer[0]` has sequence number `durable`. */
  let buffer: ConvertedRow[] = [];
  /** Arrival time (monotonic clock) of each buffered append: rows below `end` arrived at `ts`. */
  const arrivals: { end: number; ts: number }[] = [];
  let waiters: Waiter[] = [];
  let appended = 0;
  let durable = 0;
  /** Rows below this sequence number must roll now (flush). */
  let forceUpTo = 0;
  let failures = 0;
  let consecutiveFailures = 0;
  let lastError: Error | null = null;
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> | undefined;
  const counters = {
    files_written: 0,
    rows_written: 0,
    bytes_written: 0,
    last_roll_ts: null as number | null,
  };

  const oldestArrival = (): number | undefined => arrivals[0]?.ts;

  function due(): boolean {
    const pending = appended - durable;
    if (pending === 0) return false;
    if (pending >= rollRows || forceUpTo > durable) return true;
    const oldest = oldestArrival();
    return oldest !== undefined && performance.now() - oldest >= rollMs;
  }

  /** Writes one file from the head of the buffer; false when it failed. */
  async function rollOnce(): Promise<boolean> {
    const n = Math.min(buffer.length, rollRows);
    const rows = buffer.slice(0, n);
    const started = performance.now();
    try {
      const bytes = await encodeParquet(schema as ParquetSchema<unknown, unknown>, rows);
      const file = await writeFileDurably(dir, parquetFileBase(prefix), bytes);
      buffer = buffer.slice(n);
      durable += n;
      while (arrivals.length > 0 && (arrivals[0] as { end: number }).end <= durable) arrivals.shift();
      const ts = Date.now();
      counters.files_written += 1;
      counters.rows_written += n;
      counters.bytes_written += bytes.length;
      counters.last_roll_ts = ts;
      consecutiveFailures = 0;
      lastError = null;
      const done = waiters.filter((w) => w.end <= durable);
      waiters = waiters.filter((w) => w.end > durable);
      for (const w of done) w.resolve();
      if (onRoll) {
        try {
          onRoll({ file, rows: n, bytes: bytes.length, ts, durationMs: performance.now() - started });
        } catch (err) {
          console.error("parquet sink: onRoll threw:", err);
        }
      }
      return true;
    } catch (err) {
      const e = asError(err);
      failures += 1;
      consecutiveFailures += 1;
      lastError = e;
      const failed = waiters;
      waiters = [];
      for (const w of failed) w.reject(e);
      return false;
    }
  }

  async function pump(): Promise<void> {
    while (due()) {
      if (!(await rollOnce())) return;
    }
  }

  /** Starts the roll loop unless it runs; resolves when that loop ends (never rejects). */
  function kick(): Promise<void> {
    if (!running) {
      clearTimer();
      running = pump().finally(() => {
        running = undefined;
        schedule();
      });
    }
    return running;
  }

  function clearTimer(): void {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  }

  /** Arms the timer for the next age roll or retry (not while a roll runs, not after close). */
  function schedule(): void {
    clearTimer();
    if (running || closed || appended === durable) return;
    let delay: number;
    if (consecutiveFailures > 0) {
      delay = Math.min(Math.max(rollMs, 100), 100 * 2 ** (consecutiveFailures - 1));
    } else {
      const oldest = oldestArrival() ?? performance.now();
      delay = Math.max(0, oldest + rollMs - performance.now());
    }
    timer = setTimeout(() => {
      timer = undefined;
      // A retry after failures rolls even rows that are not due yet by age or count.
      if (consecutiveFailures > 0) forceUpTo = Math.max(forceUpTo, durable + 1);
      void kick();
    }, delay);
  }

  async function flushUpTo(target: number): Promise<void> {
    forceUpTo = Math.max(forceUpTo, target);
    while (durable < target) {
      const before = failures;
      await kick();
      if (failures > before) throw lastError ?? new Error("parquet roll failed");
    }
  }

  return {
    append(rows: readonly W[]): Promise<void> {
      if (closed) return Promise.reject(new ParquetSinkClosedError());
      let converted: ConvertedRow[];
      try {
        converted = rows.map((row, i) => convertRow(schema as ParquetSchema<unknown, unknown>, row, i));
      } catch (err) {
        return Promise.reject(asError(err));
      }
      const end = appended + converted.length;
      if (end === durable) return Promise.resolve();
      const promise = new Promise<void>((resolve, reject) => {
        waiters.push({ end, resolve, reject });
      });
      if (converted.length > 0) {
        for (const r of converted) buffer.push(r);
        appended = end;
        arrivals.push({ end, ts: performance.now() });
      }
      if (running) {
        // The running loop re-checks `due()` after each file.
      } else if (appended - durable >= rollRows) {
        void kick();
      } else if (timer === undefined) {
        schedule();
      }
      return promise;
    },

    flush(): Promise<void> {
      return flushUpTo(appended);
    },

    async close(): Promise<void> {
      closed = true;
      clearTimer();
      await flushUpTo(appended);
    },

    stats(): ParquetSinkStats {
      return {
        ...counters,
        pending_rows: appended - durable,
        write_errors: failures,
        last_error: lastError ? lastError.message : null,
      };
    },
  };
}
