/**
 * DLQ replay, the pure part: which entries a replay takes (filters, `--since`), what it sends
 * for one entry (the original key, bytes and headers, plus the replay headers) or why it cannot,
 * the ledger's identity of an entry, and the wire shapes of `POST /api/dlq/replay` that the
 * backend answers and the console reads. The I/O is `pipeline/io/dlq-replay.ts`.
 *
 * Identity. A replay is recorded per *original record*: `stage:topic/partition/offset` of
 * `source`, not per DLQ entry. The same failure is written to both DLQ targets (Kafka topic and
 * Redis stream), and after a crash possibly twice to each; keyed by the original, a replay from
 * either target, or of either copy, counts once. A replayed record that fails again has new
 * coordinates (its new offset in `source.topic`), so its new entry is a new identity and can be
 * replayed again; the `dlq-replay-count` header it carries (kept by the worker in
 * `source.headers`) counts the rounds, and {@link DEFAULT_MAX_REPLAYS} stops a loop.
 */
import { type DlqEntry, entryBytes, type Stage } from "./dlq.ts";

/** Headers a replayed record carries (the original's headers are kept besides these). */
export const REPLAY_HEADERS = {
  /** Where the entry was read: `kafka:<dlq topic>/<partition>/<offset>` or `redis:<stream key>/<id>`. */
  of: "dlq-replay-of",
  /** The original record's coordinates, the ledger key: `<stage>:<topic>/<partition>/<offset>`. */
  original: "dlq-replay-original",
  /** When it was replayed, ISO 8601 UTC. */
  at: "dlq-replayed-at",
  /** How many times this record's chain has been replayed (1 for the first replay). */
  count: "dlq-replay-count",
} as const;

/** Replays of one chain after which an entry is skipped unless the limit is raised. */
export const DEFAULT_MAX_REPLAYS = 3;

export const STAGES: readonly Stage[] = ["parse", "embed", "index"];

/** Which DLQ entries a replay takes; every set condition must hold. */
export interface ReplayFilter {
  stages?: Stage[];
  /** Any of these reasons. */
  reasons?: string[];
  /** Dead-lettered at or after this time, epoch ms. */
  sinceMs?: number;
  /** Any of these doc_ids. */
  docIds?: string[];
  /** Any of these originals ({@link originalId}). */
  originals?: string[];
}

/** Where the entry was read from, as the `dlq-replay-of` header and the output show it. */
export type EntryLocation = string;

/** The ledger key of an entry: its original record, `stage:topic/partition/offset`. */
export function originalId(e: Pick<DlqEntry, "stage" | "source">): string {
  return `${e.stage}:${e.source.topic}/${e.source.partition}/${e.source.offset}`;
}

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * `--since`: an ISO 8601 time (`2026-11-25T10:00:00Z`, a date alone is midnight UTC) or a
 * duration before `nowMs` (`90s`, `15m`, `1h`, `2d`, `1w`); epoch ms, or an Error naming the
 * accepted forms.
 */
export function parseSince(raw: string, nowMs: number): number {
  const s = raw.trim();
  const rel = /^(\d+(?:\.\d+)?)\s*([smhdw])$/i.exec(s);
  if (rel) return nowMs - Number(rel[1]) * (UNITS[(rel[2] as string).toLowerCase()] as number);
  if (/^\d{4}-\d{2}-\d{2}/.test(s)) {
    const t = Date.parse(s);
    if (Number.isFinite(t)) return t;
  }
  throw new Error(
    `cannot read ${JSON.stringify(raw)} as a time: use ISO 8601 (2026-11-25T10:00:00Z) or a duration ago (30m, 1h, 2d, 1w)`,
  );
}

/** Items of a repeatable, comma-separated option (`--reason a,b --reason c`), trimmed, unique. */
export function listOption(raw: unknown): string[] {
  const all = (Array.isArray(raw) ? raw : raw === undefined || raw === null ? [] : [raw])
    .flatMap((v) => String(v).split(","))
    .map((v) => v.trim())
    .filter(Boolean);
  return [...new Set(all)];
}

/** Whether the entry passes the filter. */
export function matches(e: DlqEntry, f: ReplayFilter): boolean {
  if (f.stages?.length && !f.stages.includes(e.stage)) return false;
  if (f.reasons?.length && !f.reasons.includes(e.reason)) return false;
  if (f.sinceMs !== undefined && !(e.ts * 1000 >= f.sinceMs)) return false;
  if (f.docIds?.length && (e.doc_id === null || !f.docIds.includes(e.doc_id))) return false;
  if (f.originals?.length && !f.originals.includes(originalId(e))) return false;
  return true;
}

/** The filter in words, for confirmations and summaries ("stage embed, reason rejected"). */
export function describeFilter(f: ReplayFilter): string {
  const parts: string[] = [];
  if (f.stages?.length) parts.push(`stage ${f.stages.join(",")}`);
  if (f.reasons?.length) parts.push(`reason ${f.reasons.join(",")}`);
  if (f.sinceMs !== undefined) parts.push(`since ${new Date(f.sinceMs).toISOString()}`);
  if (f.docIds?.length) parts.push(`doc_id ${f.docIds.join(",")}`);
  if (f.originals?.length) parts.push(`original ${f.originals.join(",")}`);
  return parts.length ? parts.join(", ") : "every entry";
}

/** The replay round an entry's record was in (0 when it was never replayed). */
export function replayCount(e: Pick<DlqEntry, "source">): number {
  const n = Number(e.source.headers?.[REPLAY_HEADERS.count]);
  return Number.isInteger(n) && n > 0 ? n : 0;
}

/** What a replay sends for one entry: to the original topic and partition, the original key, bytes and headers. */
export interface ReplayMessage {
  topic: string;
  partition: number;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/** Why an entry cannot be replayed as it was: a stub is never sent. */
export type NotReplayable =
  | "value_truncated"
  | "key_truncated"
  | "headers_dropped"
  | "no_source"
  | "replay_limit"
  | "target_missing";

/**
 * The message that re-produces the entry's original record, or why it cannot: an original cut
 * to fit the DLQ (`value_truncated`, including entries whose bytes were dropped), a key cut to
 * DLQ_KEY_MAX_CHARS, headers left out for their size, an entry without source coordinates, or a
 * chain replayed `maxReplays` times already. A tombstone is replayed as a tombstone.
 */
export function replayMessage(
  e: DlqEntry,
  o: { location: EntryLocation; now: Date; maxReplays?: number },
): { ok: true; message: ReplayMessage } | { ok: false; why: NotReplayable; detail: string } {
  const src = e.source as DlqEntry["source"] | undefined;
  if (!src || typeof src.topic !== "string" || src.topic === "" || !Number.isInteger(src.partition)) {
    return { ok: false, why: "no_source", detail: "the entry has no source topic and partition" };
  }
  if (e.value_truncated) {
    return {
      ok: false,
      why: "value_truncated",
      detail: `the original (${e.value_bytes ?? "?"} bytes, sha256 ${e.value_sha256 ?? "?"}) was cut to fit the DLQ`,
    };
  }
  if (src.key_truncated)
    return { ok: false, why: "key_truncated", detail: "the record key was cut to fit the DLQ" };
  if (src.headers_dropped) {
    return { ok: false, why: "headers_dropped", detail: "the record's headers were too large for the DLQ" };
  }
  const rounds = replayCount(e);
  const max = o.maxReplays ?? DEFAULT_MAX_REPLAYS;
  if (rounds >= max) {
    return {
      ok: false,
      why: "replay_limit",
      detail: `replayed ${rounds} times already and dead-lettered again each time (limit ${max})`,
    };
  }
  const headers: Record<string, string> = {};
  const ours = new Set<string>(Object.values(REPLAY_HEADERS));
  for (const [k, v] of Object.entries(src.headers ?? {})) if (!ours.has(k)) headers[k] = v;
  headers[REPLAY_HEADERS.of] = o.location;
  headers[REPLAY_HEADERS.original] = originalId(e);
  headers[REPLAY_HEADERS.at] = o.now.toISOString();
  headers[REPLAY_HEADERS.count] = String(rounds + 1);
  return {
    ok: true,
    message: { topic: src.topic, partition: src.partition, key: src.key, value: entryBytes(e), headers },
  };
}

// ── wire shapes of POST /api/dlq/replay ──────────────────────────────────────────────────────

/** What happened to one entry. */
export type ReplayStatus = "sent" | "would_send" | "already_replayed" | "duplicate" | "skipped";

export interface ReplayItem {
  /** Where the entry was read ({@link EntryLocation}). */
  from: EntryLocation;
  /** The ledger key ({@link originalId}). */
  original: string;
  /** `topic/partition` it is (or would be) sent to; null when skipped. */
  to: string | null;
  key: string | null;
  stage: Stage;
  reason: string;
  doc_id: string | null;
  /** Bytes of the original value (null for a tombstone or when unknown). */
  bytes: number | null;
  /** The replay round the entry's record was in (0 = never replayed). */
  replay_count: number;
  status: ReplayStatus;
  /** Why it was skipped ({@link NotReplayable}) or when it was replayed before. */
  why?: string;
}

export interface ReplaySummary {
  /** Where the entries were read: `kafka:<topic>` or `redis:<stream key>`. */
  source: string;
  filter: string;
  dry_run: boolean;
  /** Entries read. */
  read: number;
  /** Entries that passed the filter (before the limit). */
  matched: number;
  sent: number;
  would_send: number;
  already_replayed: number;
  /** More entries of an original already taken in this run (both DLQ copies, redeliveries). */
  duplicates: number;
  /** Skipped entries by {@link NotReplayable}. */
  skipped: Partial<Record<NotReplayable, number>>;
  /** Entries (sent or to send) whose record had been replayed before and failed again. */
  replays_of_replays: number;
  /** Matched entries left for a later run by the limit. */
  beyond_limit: number;
  /** Entries that are not a DLQ envelope (not JSON, no stage or source): listed nowhere else. */
  unreadable: number;
  seconds: number;
}

/** Body of `POST /api/dlq/replay`. */
export interface DlqReplayRequest {
  stage?: Stage[];
  reason?: string[];
  /** As `--since` ({@link parseSince}). */
  since?: string;
  doc_id?: string[];
  original?: string[];
  limit?: number;
  dry_run?: boolean;
  force?: boolean;
  /** Rounds after which a chain is skipped (default DEFAULT_MAX_REPLAYS). */
  max_replays?: number;
  source?: "kafka" | "redis";
}

/** Answer of `POST /api/dlq/replay`: the summary and one item per matched entry (at most the limit). */
export interface DlqReplayAnswer {
  summary: ReplaySummary;
  items: ReplayItem[];
}

/** The summary as one line: "3 sent · 1 skipped (value_truncated 1) · 2 already replayed". */
export function summaryLine(s: ReplaySummary): string {
  const skipped = Object.entries(s.skipped);
  const nSkipped = skipped.reduce((n, [, c]) => n + (c ?? 0), 0);
  const parts = [
    s.dry_run ? `${s.would_send} would be sent` : `${s.sent} sent`,
    `${nSkipped} skipped${nSkipped ? ` (${skipped.map(([k, c]) => `${k} ${c}`).join(", ")})` : ""}`,
    `${s.already_replayed} already replayed`,
  ];
  if (s.duplicates) parts.push(`${s.duplicates} duplicate entries`);
  if (s.replays_of_replays) parts.push(`${s.replays_of_replays} replays of replays`);
  if (s.beyond_limit) parts.push(`${s.beyond_limit} beyond the limit`);
  if (s.unreadable) parts.push(`${s.unreadable} unreadable entries`);
  return `${parts.join(" · ")} — ${s.matched} of ${s.read} entries matched ${s.filter} (${s.source})`;
}
