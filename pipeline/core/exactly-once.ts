/**
 * Exactly-once for the runner: batches are written into a *span*, one source transaction
 * (a Kafka transaction), which commits their transactional writes (Kafka outputs, the Kafka
 * DLQ) together with their input offsets and the span's sequence number, after every
 * two-phase writer (Parquet) prepared the span's items; those publish after the commit.
 * Idempotent writers (Redis, keyed by doc_id) are written as in at-least-once mode.
 *
 * A span commits when it is `intervalMs` old or holds `maxRecords` records, and on stop.
 * A failed transactional write or commit aborts the transaction and sends the span's
 * writes again into a new one (the span keeps what it sent), retried like any transient
 * fault; a commit whose answer was lost is settled by re-fencing and reading the committed
 * sequence number. A rebalance aborts the open span: its records are re-delivered from the
 * last commit (to this member or another), and their outputs were never visible.
 */
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import type { PartitionOffset, SourceRecord, Transactions, WriteResult, Writer } from "./source.ts";

export interface ExactlyOnceOptions {
  txns: Transactions;
  /** Every writer of the worker (sinks and DLQ): the two-phase ones take part in commits. */
  writers: Writer<unknown>[];
  intervalMs: number;
  maxRecords: number;
  /** Retries `fn` on transient faults until it succeeds or the runner stops. */
  untilDone: <R>(what: string, fn: () => Promise<R>) => Promise<R>;
  /** Runs `fn` in the runner's write order (after the writes queued before it). */
  enqueue: (fn: () => Promise<void>) => void;
  metrics: Metrics;
  log: Logger;
}

/** The span's records were aborted with it (a rebalance): re-delivered, never committed here. */
export class SpanAborted extends Error {
  override name = "SpanAborted";
}

interface Span {
  seq: number;
  startedAt: number;
  records: number;
  /** Per partition, the next offset to read after the span. */
  offsets: Map<string, PartitionOffset>;
  /** What the transactional writers accepted, in order: sent again after an abort. */
  sent: { writer: Writer<unknown>; items: unknown[] }[];
  /** The open transaction failed: abort it and send `sent` again before going on. */
  tainted: boolean;
  committed: boolean;
  done: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
  timer?: ReturnType<typeof setTimeout>;
}

export class ExactlyOnce {
  private span: Span | undefined;
  private nextSeq = 1;
  /** Transaction calls one at a time (a producer has one transaction, used sequentially). */
  private lock: Promise<unknown> = Promise.resolve();
  private readonly twoPhase: NonNullable<Writer<unknown>["twoPhase"]>[];

  constructor(private readonly o: ExactlyOnceOptions) {
    this.twoPhase = o.writers.flatMap((w) => (w.twoPhase ? [w.twoPhase] : []));
    o.metrics.set("txn_open_records", 0);
    o.metrics.set("txn_last_commit_ms", null);
  }

  private locked<R>(fn: () => Promise<R>): Promise<R> {
    const run = this.lock.then(fn);
    this.lock = run.catch(() => {});
    return run;
  }

  /** Settles what an earlier incarnation left: its transaction, its staged files. */
  async recover(): Promise<void> {
    const committed = await this.o.untilDone("transaction recovery", () => this.o.txns.recover());
    for (const w of this.twoPhase) await w.recover(committed);
    this.nextSeq = committed + 1;
  }

  /** The open span, begun (a transaction started) when there is none. */
  private async open(): Promise<Span> {
    if (this.span) return this.span;
    await this.o.untilDone("transaction begin", () => this.locked(() => this.o.txns.begin()));
    let resolve!: () => void;
    let reject!: (err: unknown) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    done.catch(() => {}); // observed through the records' commit chain
    const span: Span = {
      seq: this.nextSeq,
      startedAt: Date.now(),
      records: 0,
      offsets: new Map(),
      sent: [],
      tainted: false,
      committed: false,
      done,
      resolve,
      reject,
    };
    span.timer = setTimeout(() => this.o.enqueue(() => this.commit(span)), this.o.intervalMs);
    this.span = span;
    return span;
  }

  /** After a failed transaction call: abort, then send what the span holds into a new one. */
  private async heal(span: Span): Promise<void> {
    if (!span.tainted) return;
    const committed = await this.o.txns.abort("failed");
    if (committed >= span.seq) {
      span.committed = true; // the commit whose answer was lost had committed
      return;
    }
    await this.o.txns.begin();
    for (const { writer, items } of span.sent) {
      const r = await writer.write(items);
      if (r?.rejected?.length) throw new Error(`${writer.name} refused on re-send what it accepted before`);
    }
    span.tainted = false;
    this.o.metrics.inc("txn_resends");
  }

  /** Adds a batch's records to the span (their offsets commit with it); resolves with the span. */
  async add(records: SourceRecord[]): Promise<Span> {
    const span = await this.open();
    for (const r of records) {
      const key = `${r.topic}/${r.partition}`;
      const next = BigInt(r.offset) + 1n;
      const had = span.offsets.get(key);
      if (!had || BigInt(had.offset) < next) {
        span.offsets.set(key, { topic: r.topic, partition: r.partition, offset: String(next) });
      }
    }
    span.records += records.length;
    this.o.metrics.set("txn_open_records", span.records);
    return span;
  }

  /** Writes `items` inside the span's transaction; what the writer accepts is kept for re-sends. */
  write<I>(span: Span, writer: Writer<I>, items: I[]): Promise<WriteResult<I> | undefined> {
    return this.o.untilDone(`transaction ${writer.name}`, () =>
      this.locked(async () => {
        await this.heal(span);
        try {
          const r = (await writer.write(items)) ?? undefined;
          const refused = new Set(r?.rejected?.map((x) => x.item));
          span.sent.push({
            writer: writer as Writer<unknown>,
            items: refused.size ? items.filter((i) => !refused.has(i)) : items,
          });
          return r;
        } catch (err) {
          span.tainted = true;
          throw err;
        }
      }),
    );
  }

  /** After a batch was written: commits when the span is due. */
  async maybeCommit(span: Span): Promise<void> {
    if (span.records >= this.o.maxRecords || Date.now() - span.startedAt >= this.o.intervalMs) {
      await this.commit(span);
    }
  }

  /** Commits the open span (if it is still `span`, when given), then publishes its two-phase writes. */
  async commit(span: Span | undefined = this.span): Promise<void> {
    if (!span || span !== this.span) return;
    clearTimeout(span.timer);
    const t0 = performance.now();
    try {
      await this.o.untilDone("transaction commit", () =>
        this.locked(async () => {
          await this.heal(span);
          if (span.committed) return;
          for (const w of this.twoPhase) await w.prepare(span.seq);
          try {
            await this.o.txns.commit([...span.offsets.values()], span.seq);
            span.committed = true;
          } catch (err) {
            span.tainted = true;
            throw err;
          }
        }),
      );
      for (const w of this.twoPhase) await this.o.untilDone("publish", () => w.publish(span.seq));
    } catch (err) {
      span.reject(err);
      throw err;
    }
    this.span = undefined;
    this.nextSeq = span.seq + 1;
    this.o.metrics.inc("txn_commits");
    this.o.metrics.set("txn_open_records", 0);
    this.o.metrics.set("txn_last_commit_ms", Math.round((performance.now() - t0) * 10) / 10);
    span.resolve();
  }

  /** Aborts the open span (a rebalance): nothing of it becomes visible; its records are re-delivered. */
  async abort(): Promise<void> {
    const span = this.span;
    if (!span) return;
    clearTimeout(span.timer);
    this.span = undefined;
    let committed = span.committed;
    try {
      if (!committed) {
        const last = await this.o.untilDone("transaction abort", () =>
          this.locked(() => this.o.txns.abort("rebalance")),
        );
        committed = last >= span.seq; // a commit whose answer was lost had committed
      }
      for (const w of this.twoPhase) {
        await this.o.untilDone(committed ? "publish" : "discard", () =>
          committed ? w.publish(span.seq) : w.discard(span.seq),
        );
      }
    } catch (err) {
      span.reject(err);
      throw err;
    }
    this.nextSeq = committed ? span.seq + 1 : span.seq;
    this.o.metrics.set("txn_open_records", 0);
    if (committed) return span.resolve();
    this.o.metrics.inc("txn_aborts");
    span.reject(new SpanAborted(`transaction ${span.seq} aborted by a rebalance`));
    this.o.log.info("open transaction aborted by a rebalance; its records are re-delivered", {
      txn: span.seq,
      records: span.records,
    });
  }

  /** Whether no transaction is open. */
  get idle(): boolean {
    return this.span === undefined;
  }
}
