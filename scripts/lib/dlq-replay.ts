/**
 * `replay --from-dlq`: the flags as a replay request, the deployment from the configuration,
 * and the output (one line per entry, a summary). The replay itself is
 * `pipeline/io/dlq-replay.ts`, shared with the backend's `POST /api/dlq/replay`.
 */
import type { minimist } from "zx";
import type { Config } from "../../pipeline/config.ts";
import {
  type DlqReplayAnswer,
  type DlqReplayRequest,
  listOption,
  type ReplayItem,
  summaryLine,
} from "../../pipeline/contracts/dlq-replay.ts";
import { redisKeys } from "../../pipeline/contracts/redis-layout.ts";
import {
  DlqReplayError,
  type ReplayDeployment,
  replayDlq,
  replayOptions,
} from "../../pipeline/io/dlq-replay.ts";
import { createRedis } from "../../pipeline/io/redis-store.ts";
import { numberFlag } from "./cli.ts";
import { ScriptError, step } from "./progress.ts";

/** The flags `--from-dlq` reads (strings may repeat; lists also take commas). */
export const DLQ_FLAGS = {
  boolean: ["from-dlq", "dry-run", "force", "json"],
  string: ["stage", "reason", "since", "doc-id", "limit", "source", "max-replays"],
};

/** The request the flags describe (checked later, with the backend's rules). */
export function requestFromFlags(args: minimist.ParsedArgs): DlqReplayRequest {
  const list = (name: string) => {
    const items = listOption(args[name]);
    return items.length ? items : undefined;
  };
  const one = (name: string): string | undefined => {
    const v = args[name];
    if (v === undefined) return undefined;
    if (Array.isArray(v)) throw new ScriptError(`--${name} is given more than once`, 2);
    return String(v);
  };
  const source = one("source");
  if (source !== undefined && source !== "kafka" && source !== "redis") {
    throw new ScriptError(`--source expects kafka or redis, got ${JSON.stringify(source)}`, 2);
  }
  return {
    stage: list("stage") as DlqReplayRequest["stage"], // checked by replayOptions
    reason: list("reason"),
    since: one("since"),
    doc_id: list("doc-id"),
    limit: numberFlag("limit", one("limit"), { integer: true, min: 1 }),
    max_replays: numberFlag("max-replays", one("max-replays"), { integer: true, min: 1 }),
    dry_run: Boolean(args["dry-run"]),
    force: Boolean(args.force),
    source,
  };
}

/** One entry as a line: status, where from, where to, key, stage/reason, doc_id, bytes (and why). */
export function itemLine(i: ReplayItem): string {
  const round = i.replay_count > 0 ? ` round=${i.replay_count + 1}` : "";
  const why = i.why ? ` — ${i.why}` : "";
  return (
    `${i.status.padEnd(16)} ${i.from} → ${i.to ?? "-"} key=${JSON.stringify(i.key)} ` +
    `${i.stage}/${i.reason} doc_id=${JSON.stringify(i.doc_id)} bytes=${i.bytes ?? "-"}${round}${why}`
  );
}

/** Runs `replay --from-dlq` with the flags; prints lines and a summary (or JSON); returns the exit code. */
export async function runDlqReplay(args: minimist.ParsedArgs, cfg: Config): Promise<number> {
  if (args._.length > 0) throw new ScriptError("--from-dlq takes no FILE (see --help)", 2);
  if (args.topic !== undefined || args.rate !== undefined || args.repeat !== undefined) {
    throw new ScriptError("--topic, --rate and --repeat are for fixture files, not --from-dlq", 2);
  }
  const req = requestFromFlags(args);
  const redis = cfg.redis.url.startsWith("redis") ? createRedis(cfg.redis.url) : undefined;
  const deployment: ReplayDeployment = {
    brokers: cfg.kafka.brokers,
    clientId: cfg.kafka.clientId,
    dlqTopic: cfg.topics.dlq,
    ...(redis ? { redis: { client: redis, stream: redisKeys.stream(cfg.redis, cfg.redis.dlqStream) } } : {}),
    ledgerTopic: cfg.dlq.replayLedgerTopic,
    replicationFactor: cfg.kafka.replicationFactor,
  };
  try {
    const opts = replayOptions(req, deployment, Date.now());
    if (opts.source.kind === "redis") {
      await opts.source.client.connect().catch((err: Error) => {
        throw new ScriptError(
          `cannot reach Redis at ${cfg.redis.url} (REDDB_URL): ${err.message}. Is it running? Try \`npm run status\`.`,
        );
      });
    }
    const from = opts.source.kind === "kafka" ? `kafka:${opts.source.topic}` : `redis:${opts.source.stream}`;
    const answer: DlqReplayAnswer = await step(
      `${opts.dryRun ? "Dry run: reading" : "Replaying"} DLQ entries from ${from}`,
      (p) =>
        replayDlq({
          ...opts,
          onProgress: (phase, n, total) => p.update(phase === "read" ? `${n} read` : `${n}/${total} sent`),
        }),
    );
    if (args.json) {
      console.log(JSON.stringify(answer, null, 2));
    } else {
      // A dry run lists everything it would do; a replay lists what it did not send.
      for (const i of answer.items) if (opts.dryRun || i.status !== "sent") console.log(itemLine(i));
      console.log(summaryLine(answer.summary));
    }
    return 0;
  } catch (err) {
    if (err instanceof DlqReplayError) throw new ScriptError(err.message, err.kind === "invalid" ? 2 : 1);
    throw err;
  } finally {
    redis?.disconnect();
  }
}
