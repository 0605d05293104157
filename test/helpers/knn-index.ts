/** Writing documents straight into the kNN layout in Redis, as the indexer's sink does. */
import type Redis from "ioredis";
import type { IndexLayout } from "../../pipeline/contracts/redis-layout.ts";
import { Metrics } from "../../pipeline/core/metrics.ts";
import type { SourceRecord } from "../../pipeline/core/source.ts";
import { indexSink } from "../../pipeline/index/stage.ts";

type Indexed = Parameters<ReturnType<typeof indexSink>["write"]>[0][number]["value"];

/** Writes `docs` (shards already set) with the indexer's sink: hashes, shard sets, change stream. */
export async function indexDocs(redis: Redis, layout: IndexLayout, docs: Indexed[]): Promise<void> {
  const sink = indexSink(
    redis,
    layout,
    { maxIdsPerShard: 10_000, streamMaxLen: 100_000, textMaxChars: 100 },
    new Metrics([]),
  );
  const record = {} as SourceRecord;
  await sink.write(docs.map((value) => ({ record, value })));
}
