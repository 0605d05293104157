import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { scope, type TestScope } from "../helpers/infra.ts";

setDefaultTimeout(120_000); // real Kafka and Redis

let s: TestScope;
beforeAll(async () => {
  s = await scope();
});
afterAll(() => s.cleanup());

test("a stream round-trips entries in order through the real Redis", async () => {
  const r = s.redis();
  const stream = `${s.prefix}:stream`;
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    ids.push(
      (await r.xadd(stream, "MAXLEN", "~", "1000", "*", "doc_id", `d${i}`, "value", JSON.stringify({ i }))) ??
        "",
    );
  }
  const entries = await r.xrange(stream, "-", "+");
  expect(entries.map(([id]) => id)).toEqual(ids);
  expect(entries.map(([, fields]) => fields)).toEqual(
    [0, 1, 2, 3, 4].map((i) => ["doc_id", `d${i}`, "value", JSON.stringify({ i })]),
  );
  expect(await r.xlen(stream)).toBe(5);
});

test("keys round-trip, including binary values, and pipelines apply in order", async () => {
  const r = s.redis();
  const key = `${s.prefix}:kv`;
  await r.set(key, JSON.stringify({ doc_id: "x", vector: [0.5, -1] }));
  expect(JSON.parse((await r.get(key)) ?? "null")).toEqual({ doc_id: "x", vector: [0.5, -1] });

  const bin = Buffer.from(new Float32Array([1.5, -2.25, 3]).buffer);
  await r.set(`${key}:bin`, bin);
  const back = await r.getBuffer(`${key}:bin`);
  expect(back && Array.from(new Float32Array(new Uint8Array(back).buffer))).toEqual([1.5, -2.25, 3]);

  const results = await r.pipeline().set(`${key}:a`, "1").incr(`${key}:a`).get(`${key}:a`).exec();
  expect(results?.map(([err, v]) => [err, v])).toEqual([
    [null, "OK"],
    [null, 2],
    [null, "2"],
  ]);
});
