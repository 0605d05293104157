/** In-process fakes of the runner's ports, for the core's unit tests. */
import type { Logger } from "../../pipeline/core/log.ts";
import type {
  FetchedBatch,
  PartitionOffset,
  Source,
  SourceEvents,
  SourceRecord,
} from "../../pipeline/core/source.ts";

/** An in-process Source: fetches are driven by the test, commits are recorded. */
export function fakeSource(commit: (offsets: PartitionOffset[]) => Promise<void> = async () => {}) {
  const commits: string[] = [];
  const committed: PartitionOffset[] = [];
  let onBatch: ((b: FetchedBatch) => Promise<void>) | undefined;
  let events: SourceEvents | undefined;
  const source: Source = {
    async start(handler, ev) {
      onBatch = handler;
      events = ev;
    },
    async commit(offsets) {
      await commit(offsets);
      commits.push(...offsets.map((x) => x.offset));
      committed.push(...offsets);
    },
    membershipLost: (err) => (err as { type?: string }).type === "ILLEGAL_GENERATION",
    pause() {},
    async stop() {},
  };
  const record = (partition: number, i: number): SourceRecord => ({
    topic: "in",
    partition,
    offset: String(i),
    key: null,
    value: Buffer.from(`v${i}`),
    timestamp: 1,
    headers: {},
  });
  return {
    source,
    commits,
    /** Offsets committed for one partition, in order. */
    commitsOf: (partition: number) => committed.filter((c) => c.partition === partition).map((c) => c.offset),
    join: (partitions = [0]) => events?.assigned(partitions.map((p) => `in/${p}`)),
    rebalance: () => events?.rebalancing(),
    /** One fetch of a partition with these offsets. */
    fetch: (offsets: number[], partition = 0) =>
      (onBatch as (b: FetchedBatch) => Promise<void>)({
        topic: "in",
        partition,
        records: offsets.map((i) => record(partition, i)),
        heartbeat: async () => {},
        resolveOffset: () => {},
        isRunning: () => true,
        isStale: () => false,
      }),
  };
}

export const quiet = { info() {}, warn() {}, error() {} } as unknown as Logger;
