/**
 * A sentence-transformer served from an ONNX graph whose output `sentence_embedding` is already
 * pooled and unit length (see minilm_convert.py), with onnxruntime-node.
 *
 * Scheduling, so that one process uses the machine well under many concurrent requests:
 * - **dynamic batching**: texts of every request that arrives while a batch runs wait in one
 *   queue; the next round takes all of them;
 * - **length bucketing**: a round is sorted by token count and cut into batches of at most
 *   `maxBatch` texts and `maxBatchTokens` padded tokens, each padded only to its own longest;
 * - one batch runs at a time in the process (over all ONNX models), on `threads` intra-op
 *   threads, so two models never fight over the cores.
 */
import { readFileSync } from "node:fs";
import * as ort from "onnxruntime-node";
import type { Embedder } from "./embedder.ts";
import { createWordPieceTokenizer, type WordPieceTokenizer } from "./wordpiece-tokenizer.ts";

export interface OnnxEmbedderOptions {
  name: string;
  modelPath: string;
  vocabPath: string;
  dim: number;
  /** Longest sequence in tokens, [CLS] and [SEP] included (256 for all-MiniLM-L6-v2). */
  maxTokens: number;
  /** Intra-op threads of onnxruntime. */
  threads: number;
  /** Texts per batch at most. */
  maxBatch: number;
  /** Padded tokens (texts × longest) per batch at most. */
  maxBatchTokens: number;
  /** onnxruntime graph optimisation (default "all"). */
  graphOptimizationLevel?: "disabled" | "basic" | "extended" | "all";
}

export interface OnnxEmbedder extends Embedder {
  embed(texts: string[]): Promise<Float32Array[]>;
  /** Token ids of one text, as the model sees it. */
  tokenize(text: string): number[];
  close(): Promise<void>;
}

interface Job {
  ids: number[];
  done: (v: Float32Array) => void;
  fail: (err: unknown) => void;
}

/** One batch at a time in this process, whatever model it belongs to. */
let lane: Promise<unknown> = Promise.resolve();
function exclusive<T>(fn: () => Promise<T>): Promise<T> {
  const next = lane.then(fn, fn);
  lane = next.catch(() => {});
  return next;
}

/**
 * Cuts jobs (sorted by length, shortest first) into batches within the count and padded-token
 * limits.
 */
export function bucketByLength<T extends { ids: number[] }>(
  jobs: T[],
  maxBatch: number,
  maxBatchTokens: number,
): T[][] {
  const sorted = [...jobs].sort((a, b) => a.ids.length - b.ids.length);
  const batches: T[][] = [];
  let cur: T[] = [];
  for (const j of sorted) {
    const longest = j.ids.length; // sorted: the newcomer is the longest
    if (cur.length > 0 && (cur.length >= maxBatch || (cur.length + 1) * longest > maxBatchTokens)) {
      batches.push(cur);
      cur = [];
    }
    cur.push(j);
  }
  if (cur.length > 0) batches.push(cur);
  return batches;
}

export async function createOnnxEmbedder(o: OnnxEmbedderOptions): Promise<OnnxEmbedder> {
  const tokenizer: WordPieceTokenizer = createWordPieceTokenizer(readFileSync(o.vocabPath, "utf8"), {
    maxTokens: o.maxTokens,
  });
  const session = await ort.InferenceSession.create(o.modelPath, {
    intraOpNumThreads: o.threads,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: o.graphOptimizationLevel ?? "all",
  });
  if (!session.outputNames.includes("sentence_embedding")) {
    throw new Error(
      `${o.modelPath}: no sentence_embedding output (outputs: ${session.outputNames.join(", ")})`,
    );
  }
  const withTypes = session.inputNames.includes("token_type_ids");
  let queue: Job[] = [];
  let pumping = false;

  const runBatch = async (batch: Job[]): Promise<void> => {
    const rows = batch.length;
    const width = Math.max(...batch.map((j) => j.ids.length));
    const ids = new BigInt64Array(rows * width);
    const mask = new BigInt64Array(rows * width);
    batch.forEach((j, r) => {
      for (let c = 0; c < j.ids.length; c++) {
        ids[r * width + c] = BigInt(j.ids[c] as number);
        mask[r * width + c] = 1n;
      }
    });
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor("int64", ids, [rows, width]),
      attention_mask: new ort.Tensor("int64", mask, [rows, width]),
    };
    if (withTypes)
      feeds.token_type_ids = new ort.Tensor("int64", new BigInt64Array(rows * width), [rows, width]);
    const out = await session.run(feeds);
    const data = out.sentence_embedding?.data as Float32Array | undefined;
    if (!data || data.length !== rows * o.dim) {
      throw new Error(`${o.name}: expected ${rows}×${o.dim} values, got ${data?.length ?? "none"}`);
    }
    batch.forEach((j, r) => {
      j.done(data.slice(r * o.dim, (r + 1) * o.dim));
    });
  };

  const pump = async (): Promise<void> => {
    if (pumping) return;
    pumping = true;
    try {
      while (queue.length > 0) {
        const round = queue;
        queue = [];
        for (const batch of bucketByLength(round, o.maxBatch, o.maxBatchTokens)) {
          await exclusive(() => runBatch(batch)).catch((err: unknown) => {
            for (const j of batch) j.fail(err);
          });
        }
      }
    } finally {
      pumping = false;
    }
  };

  return {
    name: o.name,
    dim: o.dim,
    normalized: true,
    tokenize: (text) => tokenizer.encode(text),
    embed(texts) {
      if (texts.length === 0) return Promise.resolve([]);
      const vectors = texts.map(
        (text) =>
          new Promise<Float32Array>((done, fail) => {
            queue.push({ ids: tokenizer.encode(text), done, fail });
          }),
      );
      void pump();
      return Promise.all(vectors);
    },
    close: () => session.release(),
  };
}
