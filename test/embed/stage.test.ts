import { expect, test } from "bun:test";
import { normalizeVector } from "../../pipeline/contracts/vector.ts";
import { Metrics } from "../../pipeline/core/metrics.ts";
import { TransientError } from "../../pipeline/core/retry.ts";
import type { SourceRecord } from "../../pipeline/core/source.ts";
import { EmbeddingCache } from "../../pipeline/embed/cache.ts";
import { EmbedStage } from "../../pipeline/embed/stage.ts";
import { RejectedError } from "../../pipeline/io/infermesh-client.ts";

let offset = 0;
function rec(value: unknown): SourceRecord {
  return {
    topic: "embedding_input",
    partition: 0,
    offset: String(offset++),
    key: null,
    value: value === null ? null : Buffer.from(typeof value === "string" ? value : JSON.stringify(value)),
    timestamp: 1_700_000_000_000,
    headers: {},
  };
}
const input = (doc_id: string, text: string) => ({
  doc_id,
  text,
  topic: "agent.results",
  kafka_ts: 1_700_000_000_000,
});

/** A fake service: embeds text as [length, 1]; rejects any request containing "BAD". */
function fakeClient() {
  const calls: string[][] = [];
  return {
    calls,
    model: "fake-2",
    async embed(texts: string[]) {
      calls.push(texts);
      if (texts.some((t) => t.includes("BAD"))) throw new RejectedError(400, '{"error":"input too strange"}');
      return texts.map((t) => new Float32Array([t.length, 1]));
    },
  };
}

test("valid records become embedded records; invalid inputs are dead-lettered with reason and bytes", async () => {
  const client = fakeClient();
  const stage = new EmbedStage({
    client,
    cache: new EmbeddingCache(100, 60_000),
    normalize: false,
    metrics: new Metrics(),
    now: () => 1_700_000_001_500,
  });
  const { outputs, dlq } = await stage.process(
    [rec(input("a", "hello")), rec("not json"), rec({ doc_id: "x" }), rec(null)],
    new AbortController().signal,
  );
  expect(outputs.map((o) => o.value)).toEqual([
    {
      topic: "agent.results",
      text: "hello",
      doc_id: "a",
      vector: Float32Array.of(5, 1),
      kafka_ts: 1_700_000_000_000,
      embedded_ts: 1_700_000_001.5,
      model: "fake-2",
      dim: 2,
      normalized: false,
      labels: {},
      success: null,
    },
  ]);
  expect(dlq.map((d) => d.reason)).toEqual(["invalid_json", "invalid_record", "invalid_record"]);
  expect(dlq[0]).toMatchObject({
    stage: "embed",
    value: "not json",
    value_b64: null, // the original bytes once: as text when they are UTF-8
  });
  expect(dlq[2]).toMatchObject({ value: null, value_b64: null });
});

test("a rejected request is bisected so only the offending input is dead-lettered", async () => {
  const client = fakeClient();
  const metrics = new Metrics();
  const stage = new EmbedStage({ client, cache: new EmbeddingCache(100, 60_000), normalize: false, metrics });
  const texts = ["one", "two", "BAD three", "four", "five"];
  const { outputs, dlq } = await stage.process(
    texts.map((t, i) => rec(input(`d${i}`, t))),
    new AbortController().signal,
  );
  expect(outputs.map((o) => o.value.doc_id)).toEqual(["d0", "d1", "d3", "d4"]);
  expect(dlq).toHaveLength(1);
  expect(dlq[0]).toMatchObject({ reason: "rejected", doc_id: "d2", text: "BAD three", model: "fake-2" });
  expect(dlq[0]?.error).toContain("HTTP 400");
  expect(client.calls[0]).toEqual(texts);
});

test("the cache serves repeated texts, never stores failures, and is keyed by normalisation", async () => {
  const client = fakeClient();
  const cache = new EmbeddingCache(100, 60_000);
  const stage = new EmbedStage({ client, cache, normalize: true, metrics: new Metrics() });
  const signal = new AbortController().signal;
  await stage.process([rec(input("a", "same")), rec(input("b", "same")), rec(input("c", "BAD"))], signal);
  expect(client.calls).toEqual([["same", "BAD"], ["same"], ["BAD"]]);
  const second = await stage.process([rec(input("d", "same")), rec(input("e", "BAD"))], signal);
  expect(client.calls.slice(3)).toEqual([["BAD"]]); // "same" came from the cache, "BAD" was retried
  expect(second.outputs[0]?.value).toMatchObject({ normalized: true, dim: 2 });
  const [x, y] = second.outputs[0]?.value.vector ?? [];
  expect(Math.hypot(x ?? 0, y ?? 0)).toBeCloseTo(1, 5);
});

test("transient faults propagate so the runner retries the batch", async () => {
  const stage = new EmbedStage({
    client: {
      model: "m",
      embed: async () => {
        throw new TransientError("InferMesh unreachable", "connect");
      },
    },
    cache: new EmbeddingCache(10, 1000),
    normalize: false,
    metrics: new Metrics(),
  });
  await expect(stage.process([rec(input("a", "x"))], new AbortController().signal)).rejects.toBeInstanceOf(
    TransientError,
  );
});

test("normalisation reports what happened: a zero vector stays unnormalised", () => {
  expect(normalizeVector(new Float32Array([3, 4]))).toEqual({
    vector: new Float32Array([0.6, 0.8]),
    normalized: true,
  });
  expect(normalizeVector(new Float32Array([0, 0]))).toEqual({
    vector: new Float32Array([0, 0]),
    normalized: false,
  });
});
