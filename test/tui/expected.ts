/**
 * What the views should show for the fixtures, derived from the fixture files themselves
 * (through the console's decoders and formatters, which have their own tests with fixed
 * values), so the view tests keep passing when the lead re-records the fixtures.
 */
import { createDecoder, decodeDlq, decodeKnn, decodeShards } from "../../tui/sources/decode.ts";
import type { DlqEntry, KnnResult, ShardsInfo, StreamData, StreamName } from "../../tui/state/types.ts";
import { fixture, streamFixture } from "./helpers.tsx";

/** Every event of a recorded stream, decoded as the console decodes it (rates included). */
export function decoded<K extends StreamName>(stream: K): StreamData[K][] {
  const decode = createDecoder(stream);
  return streamFixture(stream).map((e, i) => decode(JSON.parse(e), i * 3000));
}

/** The last decoded event of a stream. */
export function last<K extends StreamName>(stream: K): StreamData[K] {
  const all = decoded(stream);
  const e = all[all.length - 1];
  if (e === undefined) throw new Error(`fixtures/tui/${stream}.stream.jsonl is empty`);
  return e;
}

/** The metrics of a worker's last event (the recorder only keeps streams of reachable workers). */
export function metrics(stream: "parse" | "embed-worker" | "indexer"): Record<string, unknown> & {
  derived: Extract<StreamData["parse"], { reachable: true }>["derived"];
  rates: Extract<StreamData["parse"], { reachable: true }>["rates"];
} {
  const e = last(stream);
  if (!e.reachable) throw new Error(`the last ${stream} event is not reachable`);
  return Object.assign({}, e.metrics, { derived: e.derived, rates: e.rates });
}

export const shards = (): ShardsInfo => decodeShards(fixture("shards.json"));
export const dlq = (): { items: DlqEntry[]; count: number } => decodeDlq(fixture("dlq.json"));
export const knn = (name = "knn-query.json"): KnnResult => decodeKnn(fixture(name));
