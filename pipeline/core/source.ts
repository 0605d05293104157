/**
 * The ports of the runner: where records come from (a {@link Source}, of which Kafka's
 * consumer group is one adapter, `pipeline/io/kafka-source.ts`) and where they go (a
 * {@link Writer}: the stage's sinks and the DLQ targets alike). The runner knows only these;
 * tests drive it with in-process fakes of them.
 */
import type { DlqEntry } from "../contracts/dlq.ts";

/** One consumed record, with its coordinates in the source. */
export interface SourceRecord {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  /** Source timestamp, epoch ms. */
  timestamp: number;
  headers: Record<string, string>;
}

/** A partition's position: the offset of the next record to read (what a commit stores). */
export interface PartitionOffset {
  topic: string;
  partition: number;
  offset: string;
}

/** Records of one partition as fetched, with the controls the runner needs while it holds them. */
export interface FetchedBatch {
  topic: string;
  partition: number;
  records: SourceRecord[];
  /** Tells the group this member is alive (while the runner waits with records in hand). */
  heartbeat(): Promise<void>;
  /** Marks records up to `offset` as handed on (the source fetches after them). */
  resolveOffset(offset: string): void;
  isRunning(): boolean;
  /** The partition was taken away since the fetch. */
  isStale(): boolean;
}

/** What the source tells the runner besides records. */
export interface SourceEvents {
  /** The group assigned these partitions (`topic/partition`): a new generation starts. */
  assigned(partitions: string[]): void;
  /** A rebalance began: what is held may belong to another member soon. */
  rebalancing(): void;
  /** The source failed; `restart` says whether it restarts itself (else the worker must exit). */
  crashed(error: unknown, restart: boolean): void;
}

/** A partitioned, committable input shared by a group of runners. */
export interface Source {
  /** Starts fetching; `onBatch` is called per partition fetch, concurrently across partitions. */
  start(onBatch: (batch: FetchedBatch) => Promise<void>, events: SourceEvents): Promise<void>;
  /** Stores these positions for the group. */
  commit(offsets: PartitionOffset[]): Promise<void>;
  /** Whether a commit error means this member is no longer in the group's current generation. */
  membershipLost(err: unknown): boolean;
  /** Stops fetching (records already fetched still arrive). */
  pause(): void;
  stop(): Promise<void>;
}

/** One output of a stage: the value made from a source record. */
export interface Output<T> {
  record: SourceRecord;
  value: T;
}

export interface ProcessResult<T> {
  outputs: Output<T>[];
  dlq: DlqEntry[];
}

export interface WriteResult<I> {
  /** Resolves when the items are durable (offsets wait for it). */
  durable?: Promise<void>;
  /** Items this writer refuses for what they are (outputs go to the DLQ as `output_rejected`). */
  rejected?: { item: I; error: string }[];
}

/**
 * Where items go (a Kafka topic, a Redis stream, a Parquet folder …). `write` resolves when
 * the items are accepted; it may hand back a promise that resolves when they are durable
 * (wrapped, so that resolving the write does not wait for it) and the items it refuses.
 * Throw a TransientError to be retried; the runner retries each writer on its own.
 */
export interface Writer<I> {
  name: string;
  /**
   * Writes inside the source's transaction (a Kafka topic with exactly-once on): they become
   * visible with the input offsets or not at all, and the runner sends them again into a
   * fresh transaction when one is aborted.
   */
  transactional?: boolean;
  /**
   * A two-phase participant of exactly-once (a Parquet folder): `write` only stages items;
   * `prepare(seq)` makes what was staged since the last transaction durable but invisible,
   * `publish(seq)` makes it visible once transaction `seq` committed, `discard(seq)` drops it,
   * and `recover(committed)` settles what an earlier incarnation left: published when its
   * transaction is at most `committed`, discarded otherwise.
   */
  twoPhase?: {
    prepare(seq: number): Promise<void>;
    publish(seq: number): Promise<void>;
    discard(seq: number): Promise<void>;
    recover(committed: number): Promise<void>;
  };
  // biome-ignore lint/suspicious/noConfusingVoidType: a writer with nothing to report just returns
  write(items: I[]): Promise<WriteResult<I> | undefined | void>;
  close?(): Promise<void>;
}

/** A stage's sink: writes outputs. */
export type Sink<T> = Writer<Output<T>>;
/** A DLQ target: writes DLQ entries (it never refuses one: too large an entry is cut to fit). */
export type DlqSink = Writer<DlqEntry>;

/**
 * Exactly-once for a {@link Source}: the transactional writers' output and the input offsets of
 * a span of batches commit together (Kafka transactions). Each transaction has a sequence
 * number, committed with it (the witness), so that a restarted instance can tell which of its
 * transactions committed.
 */
export interface Transactions {
  /**
   * Fences an earlier incarnation of this instance and settles its open transaction; returns
   * the sequence number of the last committed transaction (0 when none).
   */
  recover(): Promise<number>;
  begin(): Promise<void>;
  /** Commits the open transaction with these input positions and its sequence number. */
  commit(offsets: PartitionOffset[], seq: number): Promise<void>;
  /**
   * Ends the open transaction without committing it, after a failed write or commit; when the
   * producer cannot abort (its epoch was fenced by a transaction timeout), starts it afresh.
   * Returns the last committed sequence number, which tells whether a commit whose
   * answer was lost did commit.
   */
  abort(why: "failed" | "rebalance"): Promise<number>;
  /** Whether `err` says that another instance with this transactional id took over (fatal). */
  fenced(err: unknown): boolean;
}
