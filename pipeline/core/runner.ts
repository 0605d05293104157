/**
 * The consume → transform → produce runner shared by every worker.
 *
 * - Reads a {@link Source} (Kafka's consumer group in the workers; in-process fakes in tests).
 * - Collects records from all assigned partitions into batches (count, bytes, time).
 * - Runs the stage's `process` on a batch; per-record failures come back as DLQ entries,
 *   a {@link TransientError} retries the whole batch with backoff until it succeeds —
 *   records pile up to a high-water mark and then fetching stops, so consumption pauses.
 * - Writes outputs to every sink and DLQ entries to each DLQ sink, each retried on its own
 *   on transient faults; an output a sink refuses for what it is (too large) becomes a DLQ
 *   entry `output_rejected`, so no record can stall its partition.
 * - Commits a partition's offset only after every sink acknowledged, and a sink that
 *   makes records durable later (Parquet) has made them durable.
 * - Stops in order on abort: pause input, drain batches, close sinks, commit, disconnect.
 * - With `exactlyOnce`, offsets commit inside the source's transactions instead, together
 *   with the transactional writes (see `./exactly-once.ts`).
 */
import type { DlqEntry, Stage } from "../contracts/dlq.ts";
import { Batcher } from "./batcher.ts";
import { dlqEntry } from "./dlq.ts";
import { ExactlyOnce, SpanAborted } from "./exactly-once.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import { type BackoffPolicy, retry, TransientError } from "./retry.ts";
import type {
  DlqSink,
  FetchedBatch,
  Output,
  PartitionOffset,
  ProcessResult,
  Sink,
  Source,
  SourceRecord,
  Transactions,
  WriteResult,
  Writer,
} from "./source.ts";

export interface RunnerOptions<T> {
  name: string;
  /** The stage named in DLQ entries the runner makes (outputs refused by a sink). */
  stage: Stage;
  /** Where records come from (Kafka's consumer group in the workers). */
  source: Source;
  batch: { maxItems: number; maxBytes: number; maxWaitMs: number };
  /** Records per batch now, when it adapts (capped by batch.maxItems). */
  batchLimit?: () => number;
  process: (records: SourceRecord[], signal: AbortSignal) => Promise<ProcessResult<T>>;
  sinks: Sink<T>[];
  dlq: DlqSink[];
  /** Backoff for transient faults; retries are unbounded (until success or shutdown). */
  backoff: Omit<BackoffPolicy, "retries">;
  metrics: Metrics;
  log: Logger;
  /** Called when records cannot be made durable (e.g. a Parquet write fails): the worker must exit. */
  onFatal: (err: unknown) => void;
  /** How long `stop` lets in-flight batches finish before aborting them. */
  drainTimeoutMs?: number;
  /** The source's group timing: heartbeats while waiting, the membership probe's deadline. */
  group?: { sessionTimeoutMs: number; heartbeatIntervalMs: number };
  /**
   * Exactly-once: batches are written in transactions of the source that commit their input
   * offsets, at most every `intervalMs` and every `maxRecords` records.
   */
  exactlyOnce?: { txns: Transactions; intervalMs: number; maxRecords: number };
}

/** Writes items to one writer and hands back what it reported. */
type WriteOne = <I>(w: Writer<I>, items: I[]) => Promise<WriteResult<I> | undefined>;

/** Whether the runner is making progress, for `/health`. */
export interface RunnerHealth {
  ok: boolean;
  detail: string;
}

/** Records fetched before the group's latest join: the group re-delivers them from the last commit. */
class StaleRecords extends Error {
  override name = "StaleRecords";
}
const STALE: Promise<void> = Promise.reject(new StaleRecords("fetched before a rebalance"));
STALE.catch(() => {});

export class Runner<T> {
  private readonly source: Source;
  private readonly batcher: Batcher<SourceRecord>;
  private readonly durableOf = new WeakMap<SourceRecord, Promise<void>>();
  private readonly generationOf = new WeakMap<SourceRecord, number>();
  /** The newest offset committed per partition (a membership probe recommits them). */
  private readonly lastCommitted = new Map<string, PartitionOffset>();
  /** After a Kafka outage: flushes wait until the group membership is known again. */
  private membershipCheck: Promise<void> | undefined;
  private readonly joinWaiters = new Set<() => void>();
  private readonly commitChains = new Map<string, Promise<void>>();
  /**
   * Set when a batch could not be made durable (a fatal sink error, or aborted by shutdown):
   * from then on nothing more is processed, written or committed by this process, so no
   * offset can move past the lost batch; a restart re-delivers from the last good commit.
   */
  private broken = false;
  /** Partitions this member holds (`topic/partition`), from the latest group join. */
  private assigned = new Set<string>();
  /** The write of the newest processed batch; the next batch's write waits for it. */
  private sinkChain: Promise<void> = Promise.resolve();
  /** Records processed and being written (they count toward the high-water mark). */
  private inSinks = 0;
  /** Per partition: the newest offset ready to commit, and the commit loop in flight. */
  private readonly committable = new Map<string, PartitionOffset>();
  private readonly committing = new Map<string, Promise<void>>();
  private readonly abort = new AbortController();
  /** Faults being retried, by what fails (a sink, the DLQ, process): since when, and why. */
  private readonly faults = new Map<string, { since: number; error: string }>();
  /** Whether the group has given this member its assignment (false while rebalancing). */
  private joined = false;
  /** Counts group joins: a fetch made before the latest one is not handed on any further. */
  private generation = 0;
  private readonly heartbeatMs: number;
  private readonly sessionTimeoutMs: number;
  /** Records buffered or in flight beyond which handlers wait (back-pressure). */
  private readonly highWater: number;
  private stopped = false;
  /** Set with `exactlyOnce`: the open transaction and its commits. */
  private readonly eo: ExactlyOnce | undefined;

  constructor(private readonly o: RunnerOptions<T>) {
    const group = o.group ?? { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 1_000 };
    this.heartbeatMs = group.heartbeatIntervalMs;
    this.sessionTimeoutMs = group.sessionTimeoutMs;
    this.source = o.source;
    this.highWater = Math.max(4 * o.batch.maxItems, 1000);
    this.batcher = new Batcher<SourceRecord>({
      ...o.batch,
      ...(o.batchLimit ? { limit: o.batchLimit } : {}),
      sizeOf: (r) => (r.value?.length ?? 0) + (r.key?.length ?? 0),
      flush: (records) => this.flush(records),
    });
    o.metrics.set("in_flight", 0);
    o.metrics.set("current_batch_size", 0);
    o.metrics.set("paused", false);
    o.metrics.set("outage_since", null);
    o.metrics.set("assigned_partitions", 0);
    o.metrics.set("rebalancing", true);
    if (o.exactlyOnce) {
      this.eo = new ExactlyOnce({
        ...o.exactlyOnce,
        writers: [...o.sinks, ...o.dlq] as Writer<unknown>[],
        untilDone: (what, fn) => this.untilDone(what, fn),
        // A failed commit or abort rejects its span, which reaches onFatal through the commits.
        enqueue: (fn) => void this.enqueueWrite(fn).catch(() => {}),
        metrics: o.metrics,
        log: o.log,
      });
    }
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  async start(): Promise<void> {
    await this.eo?.recover();
    await this.source.start((batch) => this.handle(batch), {
      assigned: (partitions) => {
        this.joined = true;
        this.newGeneration();
        this.assigned = new Set(partitions);
        for (const w of this.joinWaiters) w();
        this.o.metrics.set("assigned_partitions", partitions.length);
        this.o.metrics.set("rebalancing", false);
        this.o.log.info("joined group", { partitions: partitions.length });
      },
      rebalancing: () => {
        this.joined = false;
        this.newGeneration();
        this.o.metrics.set("rebalancing", true);
      },
      crashed: (error, restart) => {
        this.newGeneration(); // a restarted consumer resumes from the last commit
        this.joined = false;
        this.o.log.error("consumer crashed", { error: error as Error, restart });
        if (!restart) this.o.onFatal(error); // the source gave up: exit, to be restarted
      },
    });
    this.o.log.info("consuming");
  }

  /**
   * What was fetched before now is re-delivered from the last commit: it is skipped from here
   * on, and an open transaction (exactly-once) is aborted in write order.
   */
  private newGeneration(): void {
    this.generation++;
    const eo = this.eo;
    if (eo && !eo.idle) void this.enqueueWrite(() => eo.abort()).catch(() => {}); // see `enqueue`
  }

  /** Runs `fn` after the writes queued before it; a failure stops every later write. */
  private enqueueWrite<R>(fn: () => Promise<R>): Promise<R> {
    const run = this.sinkChain.then(fn);
    this.sinkChain = run.then(
      () => {},
      () => {
        this.broken = true; // no later batch is written after a lost one
      },
    );
    return run;
  }

  /**
   * Records buffered or in flight beyond which handlers wait: four batches (at least 1000
   * records), of the batch size in force now, so an adaptive limit that shrank also shrinks
   * what waits (and what a stop must drain).
   */
  private highWaterNow(): number {
    return this.o.batchLimit ? Math.max(4 * this.batcher.maxItems, 1000) : this.highWater;
  }

  /** Retries `fn` on transient faults until it succeeds or the runner aborts. */
  private untilDone<R>(what: string, fn: () => Promise<R>): Promise<R> {
    return retry(
      async () => {
        // Permanent, so that nothing is attempted (and no retry waits) once stopping.
        if (this.abort.signal.aborted || this.broken)
          throw new Error(`${what}: not attempted, the runner is stopping`);
        const r = await fn();
        const fault = this.faults.get(what);
        if (fault) {
          // Only this one recovered: another fault still retried keeps the runner paused.
          this.faults.delete(what);
          this.o.log.info("recovered", { what, after_sec: ((Date.now() - fault.since) / 1000).toFixed(1) });
          if (/kafka/.test(what)) this.membershipCheck ??= this.checkMembership();
          this.showFaults();
        }
        return r;
      },
      { ...this.o.backoff, retries: Number.POSITIVE_INFINITY },
      {
        signal: this.abort.signal,
        onRetry: (err, attempt, delay) => {
          this.faults.set(what, { since: this.faults.get(what)?.since ?? Date.now(), error: err.message });
          this.showFaults();
          this.o.metrics.inc("retries");
          this.o.metrics.incBy("retries_by_kind", `${what}:${err.kind}`);
          if (attempt === 1 || attempt % 10 === 0) {
            this.o.log.warn(`${what} failed, consumption paused, retrying`, {
              error: err.message,
              attempt,
              next_in_ms: delay,
            });
          }
        },
      },
    );
  }

  /** Resolves at the next group join, or after `ms`. */
  private nextJoin(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.joinWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.joinWaiters.add(done);
    });
  }

  /**
   * After Kafka was unreachable, this member may have been dropped from the group (a
   * restarted coordinator forgets every member): it would then process what it buffered
   * only for the group to re-deliver it all from the last commit after the rejoin. Before
   * processing on, recommit the last committed offsets as a probe: success proves the
   * membership; "unknown member" or a new generation means the buffered records are stale
   * (skipped by flush, re-delivered by the group after kafkajs rejoins). With no commit to
   * probe with yet, flushes wait for the next join or a few heartbeats.
   */
  private async checkMembership(): Promise<void> {
    const deadline = Date.now() + 2 * this.sessionTimeoutMs + 10_000;
    try {
      while (Date.now() < deadline && !this.stopped) {
        const probe = [...this.lastCommitted.entries()]
          .filter(([key]) => this.assigned.has(key))
          .map(([, offset]) => offset);
        if (probe.length === 0) return await this.nextJoin(3 * this.heartbeatMs + 2_000);
        const generation = this.generation;
        try {
          await this.source.commit(probe);
          return;
        } catch (err) {
          if (this.generation !== generation) return; // rejoined meanwhile
          if (this.source.membershipLost(err)) {
            // Buffered records are now stale: flushes skip them, handlers return, and kafkajs
            // rejoins and re-delivers from the last commit.
            this.newGeneration();
            this.o.log.warn(
              "the group dropped this member during the outage; buffered records are left to re-delivery",
            );
            return;
          }
          await Bun.sleep(Math.min(500, this.heartbeatMs)); // the coordinator is loading, moving …
        }
      }
    } finally {
      this.membershipCheck = undefined;
    }
  }

  /** The earliest fault still retried, epoch ms, or null. */
  private outageSince(): number | null {
    let since: number | null = null;
    for (const f of this.faults.values()) if (since === null || f.since < since) since = f.since;
    return since;
  }

  private showFaults(): void {
    const since = this.outageSince();
    this.o.metrics.set("paused", since !== null);
    this.o.metrics.set("outage_since", since === null ? null : since / 1000);
  }

  private async flush(all: SourceRecord[]): Promise<void> {
    const m = this.o.metrics;
    if (this.broken || this.abort.signal.aborted) throw new Error("not processed: the runner is stopping");
    if (this.membershipCheck) await this.membershipCheck;
    // Records fetched before the group's latest join are re-delivered: skip them, never commit them.
    const records = all.filter((r) => this.generationOf.get(r) === this.generation);
    if (records.length < all.length) {
      m.inc("stale_skipped", all.length - records.length);
      for (const r of all) if (this.generationOf.get(r) !== this.generation) this.durableOf.set(r, STALE);
      if (records.length === 0) return;
    }
    m.inc("records_in", records.length);
    m.set("current_batch_size", records.length);
    m.set("in_flight", records.length);
    const t0 = performance.now();
    const result = await this.untilDone("process", () => this.o.process(records, this.abort.signal)).catch(
      (err: unknown) => {
        this.broken = true; // this batch is lost to this process: nothing after it may pass
        throw err;
      },
    );
    m.set("last_process_ms", Math.round((performance.now() - t0) * 10) / 10);
    // The next batch is processed (InferMesh kept busy) while this one is written; writes
    // stay in batch order, one batch at a time, so outputs keep their order per partition.
    const previous = this.sinkChain;
    const generation = this.generationOf.get(records[0] as SourceRecord) as number;
    const written = this.enqueueWrite(() => this.writeOutputs(result, records, generation));
    this.inSinks += records.length;
    // A transaction's records wait for its commit without holding fetches back (it commits
    // by age or size, not by what waits); otherwise records count until durable.
    const durable = (this.eo ? written.finally(() => (this.inSinks -= records.length)) : written)
      .then((w) => w.durable)
      .finally(() => {
        if (!this.eo) this.inSinks -= records.length;
      });
    durable.catch(() => {}); // reaches the commit chain through durableOf
    for (const r of records) this.durableOf.set(r, durable);
    // Back-pressure: never more than one batch waiting to be written behind the one writing.
    await previous;
  }

  /**
   * Writes one processed batch to every sink and the DLQ; resolves once they acknowledged,
   * with the promise of its durability (a Parquet roll), which offsets wait for.
   */
  private async writeOutputs(
    result: ProcessResult<T>,
    records: SourceRecord[],
    generation: number,
  ): Promise<{ durable: Promise<void> }> {
    const m = this.o.metrics;
    const t1 = performance.now();
    // Exactly-once: a rebalance since processing aborted the transaction these belonged to.
    if (this.eo && generation !== this.generation) return { durable: STALE };
    const span = await this.eo?.add(records);
    /** One writer's write: inside the transaction when it is transactional, else retried on its own. */
    const write: WriteOne = (w, items) =>
      this.eo && span && w.transactional
        ? this.eo.write(span, w, items)
        : this.untilDone(
            `${this.o.dlq.includes(w as never) ? "dlq" : "sink"} ${w.name}`,
            async () => (await w.write(items)) ?? undefined,
          );
    // Sinks are independent: written concurrently, each retried on its own.
    const sinkWrites = result.outputs.length
      ? this.o.sinks.map((sink) => write(sink, result.outputs).then((r) => ({ sink, r })))
      : [];
    const dlqWrites = this.writeDlq(result.dlq, write);
    // Settle every write before acting on any, so no rejection is left without a handler.
    const [sinks, dlq] = await Promise.allSettled([Promise.all(sinkWrites), dlqWrites]);
    if (sinks.status === "rejected") throw sinks.reason;
    if (dlq.status === "rejected") throw dlq.reason;
    const written = sinks.value;
    const durables = written.flatMap(({ r }) => (r?.durable ? [r.durable] : []));
    const refused = new Set<Output<T>>();
    const rejectedEntries = written.flatMap(({ sink, r }) =>
      (r?.rejected ?? []).map(({ item: output, error }) => {
        refused.add(output);
        m.incBy("rejected_by_sink", sink.name);
        const docId = (output.value as { doc_id?: unknown }).doc_id;
        return dlqEntry(output.record, "output_rejected", `${sink.name}: ${error}`, {
          stage: this.o.stage,
          doc_id: typeof docId === "string" ? docId : null,
        });
      }),
    );
    await this.writeDlq(rejectedEntries, write);
    m.set("last_sinks_ms", Math.round((performance.now() - t1) * 10) / 10);
    for (const e of [...result.dlq, ...rejectedEntries]) {
      m.inc("dlq_records");
      m.incBy("dlq_by_reason", e.reason);
    }
    m.inc("records_out", result.outputs.length - refused.size);
    m.inc("batches");
    m.set("last_flush_ts", Date.now() / 1000);
    m.set("in_flight", 0);
    if (this.eo && span) {
      // Offsets commit with the transaction; the next batch's writes do not wait for it.
      await this.eo.maybeCommit(span);
      durables.push(span.done);
    }
    // Offsets wait for durability (a Parquet roll); the next batch's writes do not.
    return { durable: durables.length ? Promise.all(durables).then(() => {}) : Promise.resolve() };
  }

  /** Writes DLQ entries to every DLQ sink, each on its own (see `write`). */
  private async writeDlq(entries: DlqEntry[], write: WriteOne): Promise<void> {
    if (entries.length === 0) return;
    await Promise.all(
      this.o.dlq.map(async (d) => {
        const r = await write(d, entries);
        const refused = r?.rejected?.[0];
        // A DLQ that refuses an entry (after cutting it to fit) is misconfigured: nothing may pass it.
        if (refused) throw new Error(`DLQ ${d.name} refused an entry: ${refused.error}`);
        await r?.durable;
      }),
    );
  }

  /**
   * Hands a partition's fetched records to the batcher and returns without waiting for
   * them, so that kafkajs fetches on while they are processed; the commit of their
   * offsets waits (in order) until they are flushed and durable. Only when too much is
   * buffered — or the pipeline is stalled in an outage — does the handler wait for its
   * own records, which stops fetching: that is the back-pressure.
   */
  private async handle(batch: FetchedBatch): Promise<void> {
    const { records, heartbeat, resolveOffset, isRunning, isStale } = batch;
    if (records.length === 0) return;
    // A fetch can hold a partition's whole backlog (up to maxBytesPerPartition): it is handed
    // on one batch at a time and committed in the same steps, and no more than the high-water
    // mark waits in the runner. So a crash or rebalance repeats only what was not durable yet,
    // and records of a partition taken away meanwhile are left to its new owner.
    const step = Math.max(1, this.batcher.maxItems);
    const generation = this.generation;
    for (let i = 0; i < records.length; i += step) {
      // After a rebalance (or a consumer restart) the group re-delivers from the last commit.
      if (this.stopped || this.broken) return; // not resolved: re-delivered after a restart
      if (!isRunning() || isStale() || generation !== this.generation) {
        this.o.metrics.inc("stale_skipped", records.length - i);
        return;
      }
      const chunk = records.slice(i, i + step);
      for (const r of chunk) this.generationOf.set(r, generation);
      const flushed = this.batcher.submit(chunk);
      const durable = flushed.then(() => Promise.all(chunk.map((r) => this.durableOf.get(r)))).then(() => {});
      durable.catch(() => {}); // handled in the commit chain, which may reach it later
      const last = chunk[chunk.length - 1] as SourceRecord;
      this.enqueueCommit(batch.topic, batch.partition, String(BigInt(last.offset) + 1n), durable);
      resolveOffset(last.offset);
      if (this.batcher.pending + this.batcher.flushing + this.inSinks >= this.highWaterNow()) {
        const beat = setInterval(() => heartbeat().catch(() => {}), this.heartbeatMs);
        try {
          await flushed.catch(() => {});
        } finally {
          clearInterval(beat);
        }
      }
    }
  }

  /**
   * Commits in order per partition, each offset once its records (and every earlier one) are
   * durable. Offsets that become committable while a commit is in flight are coalesced: the
   * next request carries only the newest.
   */
  private enqueueCommit(topic: string, partition: number, offset: string, durable: Promise<void>): void {
    const key = `${topic}/${partition}`;
    const prev = this.commitChains.get(key) ?? Promise.resolve();
    const next = prev
      .then(() => durable)
      .then(
        () => {
          if (this.broken) return; // an earlier batch was lost: commit nothing past it
          if (this.eo) {
            // Committed by the transaction that wrote these records.
            this.lastCommitted.set(key, { topic, partition, offset });
            return;
          }
          this.committable.set(key, { topic, partition, offset });
          if (!this.committing.has(key)) this.committing.set(key, this.commitLatest(key));
        },
        (err) => {
          // Re-delivered by the group: nothing to commit.
          if (err instanceof StaleRecords || err instanceof SpanAborted) return;
          this.broken = true;
          if (this.stopped) return; // aborted by shutdown: redelivered after restart
          this.o.metrics.inc("durability_failures");
          this.o.onFatal(err);
        },
      );
    this.commitChains.set(key, next);
  }

  /**
   * Not ok while the group has not given this member its partitions (joining, rebalancing)
   * or while a fault holds the pipeline (an outage being retried): the worker is stuck.
   */
  health(): RunnerHealth {
    if (this.stopped) return { ok: false, detail: "stopping" };
    if (!this.joined) return { ok: false, detail: "rebalancing: waiting for the group to assign partitions" };
    const since = this.outageSince();
    if (since !== null) {
      const what = [...this.faults].map(([w, f]) => `${w}: ${f.error}`).join("; ");
      return { ok: false, detail: `stuck since ${new Date(since).toISOString()}, retrying: ${what}` };
    }
    return { ok: true, detail: "consuming" };
  }

  /** Commits the newest committable offset of `key` until none is left. */
  private async commitLatest(key: string): Promise<void> {
    for (let next = this.committable.get(key); next && !this.broken; next = this.committable.get(key)) {
      this.committable.delete(key);
      const generation = this.generation;
      try {
        await this.source.commit([next]);
        this.lastCommitted.set(key, next);
        this.o.metrics.inc("commits");
      } catch (err) {
        // A rebalance took the partition: the new owner re-reads from the last commit.
        this.o.metrics.inc("commit_failures");
        this.o.log.warn("offset commit failed; records will be redelivered", {
          ...next,
          error: err as Error,
        });
        if (this.source.membershipLost(err) && generation === this.generation) {
          // The group dropped this member (e.g. its coordinator restarted): it re-delivers
          // from the last commit after the rejoin, so what is buffered is left to that. (A
          // failure of a commit made before the latest join says nothing about the new one.)
          this.newGeneration();
        }
      }
    }
    this.committing.delete(key);
  }

  /** Ordered shutdown: pause input, drain, close sinks, commit, disconnect. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.o.log.info("stopping: draining in-flight batches");
    this.source.pause();
    const drained = await Promise.race([
      this.batcher.drain().then(() => this.sinkChain.then(() => true)),
      Bun.sleep(this.o.drainTimeoutMs ?? 15_000).then(() => false),
    ]);
    if (drained && this.eo) {
      const eo = this.eo;
      await this.enqueueWrite(() => eo.commit()).catch((err) =>
        this.o.log.warn("the last transaction did not commit; its records will be redelivered", {
          error: err as Error,
        }),
      );
    }
    if (!drained) {
      this.o.log.warn("drain timed out; uncommitted records will be redelivered on restart");
      this.abort.abort(new TransientError("shutting down", "shutdown"));
      await this.batcher.drain().catch(() => {});
      await this.sinkChain;
    }
    for (const w of [...this.o.sinks, ...this.o.dlq] as Writer<unknown>[]) {
      await w.close?.().catch((err) => this.o.log.error(`closing ${w.name} failed`, { error: err }));
    }
    await Promise.all(this.commitChains.values());
    await Promise.all(this.committing.values());
    await this.source.stop().catch(() => {});
    this.abort.abort(new TransientError("stopped", "shutdown"));
    this.o.log.info("stopped");
  }
}
