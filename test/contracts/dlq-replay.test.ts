/** The pure part of DLQ replay: `--since`, list options, filters, what is sent for an entry and why not. */
import { describe, expect, test } from "bun:test";
import { type DlqEntry, dropOriginal } from "../../pipeline/contracts/dlq.ts";
import {
  describeFilter,
  listOption,
  matches,
  originalId,
  parseSince,
  replayMessage,
  summaryLine,
} from "../../pipeline/contracts/dlq-replay.ts";
import { dlqEntry } from "../../pipeline/core/dlq.ts";
import type { SourceRecord } from "../../pipeline/core/source.ts";

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
const record = (over: Partial<SourceRecord> = {}): SourceRecord => ({
  topic: "embedding_input",
  partition: 2,
  offset: "41",
  key: Buffer.from("doc-1"),
  value: Buffer.from('{"text":"hello","doc_id":"doc-1"}'),
  timestamp: NOW - 1000,
  headers: { trace: "t-1" },
  ...over,
});
const entry = (over: Partial<SourceRecord> = {}): DlqEntry => ({
  ...dlqEntry(record(over), "rejected", "HTTP 400", { model: "hash-384" }),
  doc_id: "doc-1",
  ts: NOW / 1000,
});
const at = { location: "kafka:embeddings_dlq/0/7", now: new Date(NOW) };

describe("--since", () => {
  test("ISO times and durations ago", () => {
    expect(parseSince("2026-11-25T10:00:00Z", NOW)).toBe(Date.UTC(2026, 10, 25, 10));
    expect(parseSince("2026-11-25", NOW)).toBe(Date.UTC(2026, 10, 25));
    expect(parseSince("90s", NOW)).toBe(NOW - 90_000);
    expect(parseSince("15m", NOW)).toBe(NOW - 900_000);
    expect(parseSince(" 1h ", NOW)).toBe(NOW - 3_600_000);
    expect(parseSince("2d", NOW)).toBe(NOW - 2 * 86_400_000);
    expect(parseSince("1w", NOW)).toBe(NOW - 7 * 86_400_000);
    expect(parseSince("1.5h", NOW)).toBe(NOW - 5_400_000);
  });
  test.each(["yesterday", "1y", "", "-1h", "12", "2026-13-45"])(
    "%p is refused with the accepted forms",
    (s) => {
      expect(() => parseSince(s, NOW)).toThrow(/ISO 8601 .* or a duration ago/);
    },
  );
});

test("list options repeat and take commas; trimmed, unique", () => {
  expect(listOption(["rejected, invalid_json", "rejected", " "])).toEqual(["rejected", "invalid_json"]);
  expect(listOption("embed")).toEqual(["embed"]);
  expect(listOption(undefined)).toEqual([]);
});

describe("filters", () => {
  const e = entry();
  test("every set condition must hold", () => {
    expect(matches(e, {})).toBe(true);
    expect(matches(e, { stages: ["embed"], reasons: ["rejected", "x"] })).toBe(true);
    expect(matches(e, { stages: ["parse"] })).toBe(false);
    expect(matches(e, { reasons: ["invalid_json"] })).toBe(false);
    expect(matches(e, { sinceMs: NOW })).toBe(true);
    expect(matches(e, { sinceMs: NOW + 1 })).toBe(false);
    expect(matches(e, { docIds: ["doc-1"] })).toBe(true);
    expect(matches({ ...e, doc_id: null }, { docIds: ["doc-1"] })).toBe(false);
    expect(matches(e, { originals: ["embed:embedding_input/2/41"] })).toBe(true);
    expect(matches(e, { originals: ["embed:embedding_input/2/42"] })).toBe(false);
  });
  test("in words", () => {
    expect(describeFilter({})).toBe("every entry");
    expect(describeFilter({ stages: ["embed"], reasons: ["rejected"], sinceMs: NOW })).toBe(
      "stage embed, reason rejected, since 2026-11-25T12:00:00.000Z",
    );
  });
});

describe("what a replay sends", () => {
  test("the original key, bytes, partition and headers, marked; the identity is the original record", () => {
    const e = entry();
    expect(originalId(e)).toBe("embed:embedding_input/2/41");
    const m = replayMessage(e, at);
    expect(m).toEqual({
      ok: true,
      message: {
        topic: "embedding_input",
        partition: 2,
        key: "doc-1",
        value: Buffer.from('{"text":"hello","doc_id":"doc-1"}'),
        headers: {
          trace: "t-1",
          "dlq-replay-of": "kafka:embeddings_dlq/0/7",
          "dlq-replay-original": "embed:embedding_input/2/41",
          "dlq-replayed-at": "2026-11-25T12:00:00.000Z",
          "dlq-replay-count": "1",
        },
      },
    });
  });

  test("binary originals and tombstones come back as they were", () => {
    const bin = Buffer.from([0xff, 0x00, 0xfe]);
    const m = replayMessage(entry({ value: bin, headers: {} }), at);
    expect(m.ok && m.message.value?.equals(bin)).toBe(true);
    expect(m.ok && Object.keys(m.message.headers)).toEqual([
      "dlq-replay-of",
      "dlq-replay-original",
      "dlq-replayed-at",
      "dlq-replay-count",
    ]);
    const t = replayMessage(entry({ value: null, key: null }), at);
    expect(t.ok && t.message.value).toBeNull();
    expect(t.ok && t.message.key).toBeNull();
  });

  test("a replay of a replay counts the round and replaces the old marks; the limit stops it", () => {
    const again = entry({
      offset: "99",
      headers: { trace: "t-1", "dlq-replay-of": "kafka:embeddings_dlq/0/7", "dlq-replay-count": "1" },
    });
    const m = replayMessage(again, { ...at, location: "kafka:embeddings_dlq/1/3" });
    expect(m.ok && m.message.headers).toMatchObject({
      trace: "t-1",
      "dlq-replay-of": "kafka:embeddings_dlq/1/3",
      "dlq-replay-original": "embed:embedding_input/2/99",
      "dlq-replay-count": "2",
    });
    const capped = replayMessage(entry({ headers: { "dlq-replay-count": "3" } }), at);
    expect(capped).toMatchObject({ ok: false, why: "replay_limit" });
    expect(replayMessage(entry({ headers: { "dlq-replay-count": "3" } }), { ...at, maxReplays: 4 }).ok).toBe(
      true,
    );
  });

  test("what cannot be reproduced is refused with why, never sent as a stub", () => {
    expect(replayMessage(dropOriginal(entry()), at)).toMatchObject({ ok: false, why: "value_truncated" });
    expect(replayMessage(entry({ key: Buffer.from("k".repeat(2000)) }), at)).toMatchObject({
      ok: false,
      why: "key_truncated",
    });
    const big = entry({ headers: { h: "x".repeat(9000) } });
    expect(big.source.headers_dropped).toBe(true);
    expect(replayMessage(big, at)).toMatchObject({ ok: false, why: "headers_dropped" });
    const none = { ...entry(), source: undefined } as unknown as DlqEntry;
    expect(replayMessage(none, at)).toMatchObject({ ok: false, why: "no_source" });
  });

  test("an entry of a record without headers has none (as before)", () => {
    expect("headers" in entry({ headers: {} }).source).toBe(false);
  });
});

test("the summary in one line", () => {
  expect(
    summaryLine({
      source: "kafka:embeddings_dlq",
      filter: "reason rejected",
      dry_run: false,
      read: 9,
      matched: 6,
      sent: 3,
      would_send: 0,
      already_replayed: 2,
      duplicates: 0,
      skipped: { value_truncated: 1 },
      replays_of_replays: 1,
      beyond_limit: 0,
      unreadable: 0,
      seconds: 1,
    }),
  ).toBe(
    "3 sent · 1 skipped (value_truncated 1) · 2 already replayed · 1 replays of replays — 6 of 9 entries matched reason rejected (kafka:embeddings_dlq)",
  );
});
