/**
 * Kafka transactions as the runner's {@link Transactions}: one transactional producer per
 * worker instance (transactional id `<group>-<instance>`), through which the Kafka sinks and
 * the Kafka DLQ send; each commit carries the consumer group's input offsets and the
 * transaction's sequence number (committed as the offset of a witness group
 * `<group>.txn.<instance>`, so a restarted instance reads which of its transactions committed).
 *
 * Fencing: starting a transaction with the id fences every earlier producer with it (its
 * writes and commit fail with INVALID_PRODUCER_EPOCH) and settles its open transaction. An
 * epoch error on a transaction younger than the transaction timeout means that another live
 * process took the id: fatal. On an older one it means the broker timed the transaction out
 * (a long outage): the producer is started afresh and the runner sends the span again.
 *
 * What kafkajs 2.2.4 lacks: the consumer group's generation in the transactional offset
 * commit (KIP-447). A member that stalls past its session while its partitions move, and then
 * commits, is not fenced by the group; instances that crash or restart are fenced by their id.
 */
import type { Admin, Kafka, Producer, ProducerRecord, RecordMetadata, Transaction } from "kafkajs";
import type { Logger } from "../core/log.ts";
import { TransientError } from "../core/retry.ts";
import type { PartitionOffset, Transactions } from "../core/source.ts";
import { kafkaErrorType } from "./kafka.ts";

/** What a Kafka sink sends through: a producer, or the open transaction of {@link KafkaTransactions}. */
export interface KafkaSender {
  send(record: ProducerRecord): Promise<RecordMetadata[]>;
  /** Sends inside the worker's transaction (the runner re-sends a span after an abort). */
  readonly transactional?: boolean;
}

export interface KafkaTransactionsOptions {
  kafka: Kafka;
  admin: Admin;
  /** The consumer group whose offsets commit with each transaction. */
  groupId: string;
  /** This instance within the stage (WORKER_INSTANCE_ID). */
  instanceId: string;
  /** A topic of the input: the witness group's offset is stored on its partition 0. */
  witnessTopic: string;
  timeoutMs: number;
  log: Logger;
}

/** Another live producer took the transactional id: this process must stop. */
export class FencedError extends Error {
  override name = "FencedError";
}

const EPOCH_ERRORS = new Set(["INVALID_PRODUCER_EPOCH", "PRODUCER_FENCED", "INVALID_PRODUCER_ID_MAPPING"]);

const transient = (what: string, err: unknown) =>
  new TransientError(`${what} failed: ${(err as Error).message}`, "kafka", { cause: err });

export class KafkaTransactions implements Transactions {
  readonly transactionalId: string;
  readonly witnessGroup: string;
  private producer: Producer | undefined;
  private txn: Transaction | undefined;
  private openedAt = 0;
  /** A commit failed without an answer: the transaction's state is known only after re-fencing. */
  private unsettled = false;

  /** The sender the Kafka sinks use: the open transaction. */
  readonly sender: KafkaSender = {
    transactional: true,
    send: (record) => {
      if (!this.txn) return Promise.reject(new Error("no open transaction to send in"));
      return this.txn.send(record);
    },
  };

  constructor(private readonly o: KafkaTransactionsOptions) {
    this.transactionalId = `${o.groupId}-${o.instanceId}`;
    this.witnessGroup = `${o.groupId}.txn.${o.instanceId}`;
  }

  private newProducer(): Producer {
    return this.o.kafka.producer({
      transactionalId: this.transactionalId,
      transactionTimeout: this.o.timeoutMs,
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    });
  }

  /** A fresh producer with the id: fences every earlier one and settles its open transaction. */
  private async fence(): Promise<void> {
    const old = this.producer;
    this.producer = undefined;
    this.txn = undefined;
    await old?.disconnect().catch(() => {});
    const p = this.newProducer();
    try {
      await p.connect();
      // kafkajs initialises the transactional id at the first transaction: begin and end one.
      await (await p.transaction()).abort();
    } catch (err) {
      await p.disconnect().catch(() => {});
      throw transient("fencing the previous producer of this transactional id", err);
    }
    this.producer = p;
    this.unsettled = false;
  }

  /** The sequence number of the last committed transaction of this instance (0 when none). */
  private async lastCommitted(): Promise<number> {
    try {
      const [topic] = await this.o.admin.fetchOffsets({
        groupId: this.witnessGroup,
        topics: [this.o.witnessTopic],
      });
      const offset = Number(topic?.partitions.find((p) => p.partition === 0)?.offset ?? -1);
      return Math.max(offset, 0);
    } catch (err) {
      throw transient("reading the last committed transaction", err);
    }
  }

  async recover(): Promise<number> {
    await this.fence();
    const seq = await this.lastCommitted();
    this.o.log.info("transactions ready", {
      transactional_id: this.transactionalId,
      last_committed_txn: seq,
    });
    return seq;
  }

  async begin(): Promise<void> {
    if (!this.producer || this.unsettled) await this.fence();
    try {
      this.txn = await (this.producer as Producer).transaction();
      this.openedAt = Date.now();
    } catch (err) {
      throw this.classify("beginning a transaction", err);
    }
  }

  async commit(offsets: PartitionOffset[], seq: number): Promise<void> {
    const txn = this.txn;
    if (!txn) throw new Error("no open transaction to commit");
    const byTopic = new Map<string, { partition: number; offset: string }[]>();
    for (const o of offsets) {
      const list = byTopic.get(o.topic) ?? [];
      list.push({ partition: o.partition, offset: o.offset });
      byTopic.set(o.topic, list);
    }
    try {
      if (byTopic.size > 0) {
        await txn.sendOffsets({
          consumerGroupId: this.o.groupId,
          topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
        });
      }
      await txn.sendOffsets({
        consumerGroupId: this.witnessGroup,
        topics: [{ topic: this.o.witnessTopic, partitions: [{ partition: 0, offset: String(seq) }] }],
      });
    } catch (err) {
      throw this.classify("committing offsets in the transaction", err);
    }
    try {
      await txn.commit();
      this.txn = undefined;
    } catch (err) {
      // Whether the broker committed is unknown until the id is fenced again (abort() does).
      this.unsettled = true;
      throw this.classify("committing the transaction", err);
    }
  }

  async abort(why: "failed" | "rebalance"): Promise<number> {
    const txn = this.txn;
    if (txn && !this.unsettled) {
      try {
        await txn.abort();
        this.txn = undefined;
        return await this.lastCommitted();
      } catch (err) {
        const e = this.classify("aborting the transaction", err);
        if (e instanceof FencedError) throw e;
        this.o.log.warn("abort failed; starting the transactional producer afresh", { why, error: e });
      }
    }
    if (txn || this.unsettled || !this.producer) await this.fence();
    return await this.lastCommitted();
  }

  fenced(err: unknown): boolean {
    return err instanceof FencedError;
  }

  /**
   * An epoch error on a transaction younger than the timeout: another live producer took the
   * id ({@link FencedError}); anything else is transient (an older transaction was timed out
   * by the broker: the next begin or abort starts the producer afresh).
   */
  private classify(what: string, err: unknown): Error {
    const type = kafkaErrorType(err);
    if (type && EPOCH_ERRORS.has(type)) {
      if (Date.now() - this.openedAt < this.o.timeoutMs) {
        return new FencedError(
          `${what}: another process took transactional id ${this.transactionalId} (${type}); ` +
            "each running instance needs its own WORKER_INSTANCE_ID",
          { cause: err },
        );
      }
      this.unsettled = true; // timed out by the broker: fence afresh before the next one
    }
    return transient(what, err);
  }

  async close(): Promise<void> {
    if (this.txn && !this.unsettled) await this.txn.abort().catch(() => {});
    this.txn = undefined;
    await this.producer?.disconnect().catch(() => {});
    this.producer = undefined;
  }
}
