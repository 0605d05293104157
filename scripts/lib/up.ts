/** `up` as a library: used by scripts/up.ts and by the test helpers. */
import { existsSync, rmSync } from "node:fs";
import { type Config, projectTopics } from "../../pipeline/config.ts";
import { portOpen } from "./net.ts";
import {
  isRunning,
  readRecord,
  removeRecord,
  type Started,
  startDaemon,
  stopProcess,
  tail,
} from "./procs.ts";
import { info, ScriptError, step, waitUntil } from "./progress.ts";
import { prepareSparkRuntime } from "./spark-local.ts";
import { type Component, components, PARSE_COMPONENT, SPARK_COMPONENT, type Tier } from "./stack.ts";
import { ensureTopics } from "./topics.ts";

export interface UpResult {
  started: string[];
  reused: string[];
  topicsCreated: string[];
}

/** A component being started: wait for it with {@link untilHealthy}. */
interface Launch {
  c: Component;
  started: Started;
}

/** Brings one component towards health: reuse what answers, start what is local, fail otherwise. */
async function launch(cfg: Config, c: Component): Promise<"reused" | Launch> {
  if (await c.healthy()) {
    const rec = readRecord(cfg.local.stateDir, c.name);
    const owner = rec && isRunning(rec) ? `pid ${rec.pid}` : "not started by up";
    info(`✓ ${c.name} already answers at ${c.address} (${owner})`);
    return "reused";
  }
  if (!c.local) {
    throw new ScriptError(
      `${c.name} at ${c.address} does not answer, and it is not a local address, so up will not start it. ` +
        `Start it, or unset ${c.envVar} to use the embedded default.`,
    );
  }
  const stale = readRecord(cfg.local.stateDir, c.name);
  if (stale && isRunning(stale)) {
    // Ours, running but not healthy (still starting, or wedged): wait for it with the others.
    info(`… ${c.name} (pid ${stale.pid}) runs but does not answer yet at ${c.address}`);
    return { c, started: { record: stale, exited: () => !isRunning(stale) } };
  }
  if (stale) removeRecord(cfg.local.stateDir, c.name);
  for (const port of c.ports) {
    if (await portOpen("127.0.0.1", port)) {
      throw new ScriptError(
        `${c.name} cannot start: 127.0.0.1:${port} is in use by a program that is not a healthy ${c.name}. ` +
          `Free the port, or point ${c.envVar} elsewhere.`,
      );
    }
  }
  const spec = await c.prepare();
  const started = startDaemon(cfg.local.stateDir, spec);
  info(`Starting ${c.name} at ${c.address} (pid ${started.record.pid}, log ${started.record.log})`);
  return { c, started };
}

async function untilHealthy(cfg: Config, { c, started }: Launch): Promise<void> {
  const rec = started.record;
  await step(`Waiting for ${c.name} at ${c.address} (pid ${rec.pid})`, async () => {
    if (await waitUntil(() => c.healthy(), cfg.local.startTimeoutSec, { giveUp: started.exited })) return;
    const exited = started.exited();
    await stopProcess(rec);
    removeRecord(cfg.local.stateDir, c.name);
    throw new ScriptError(
      `${c.name} ${exited ? "exited" : `did not become healthy within ${cfg.local.startTimeoutSec}s`}. ` +
        `Last lines of ${rec.log}:\n${tail(rec.log)}`,
    );
  });
}

/** Consecutive components of one group (a single one when it has none), in start order. */
function batches(list: Component[]): Component[][] {
  const out: Component[][] = [];
  for (const c of list) {
    const last = out.at(-1);
    if (c.group && last?.[0]?.group === c.group) last.push(c);
    else out.push([c]);
  }
  return out;
}

/**
 * Parse runs on one engine at a time. Switching to Spark fetches its runtime first (a failed
 * download leaves the Bun worker running), then stops the Bun worker and removes an older
 * Spark checkpoint, so the job starts at the offsets the Bun worker's group committed last.
 * Switching back (PARSE_ENGINE=bun) stops the Spark job.
 */
async function switchParseEngine(cfg: Config): Promise<void> {
  const toSpark = cfg.spark.engine === "spark";
  const other = toSpark ? PARSE_COMPONENT : SPARK_COMPONENT;
  const rec = readRecord(cfg.local.stateDir, other);
  if (!rec) return;
  if (toSpark) await prepareSparkRuntime(cfg);
  if (isRunning(rec)) {
    await step(`Stopping ${other} (pid ${rec.pid}): parse runs on ${cfg.spark.engine} now`, () =>
      stopProcess(rec),
    );
  }
  removeRecord(cfg.local.stateDir, other);
  if (toSpark && existsSync(cfg.spark.checkpoint)) {
    rmSync(cfg.spark.checkpoint, { recursive: true, force: true });
    info(
      `Removed the older Spark checkpoint ${cfg.spark.checkpoint}: the job starts where the Bun worker stopped`,
    );
  }
}

export async function up(cfg: Config, tiers: Tier[]): Promise<UpResult> {
  const result: UpResult = { started: [], reused: [], topicsCreated: [] };
  if (tiers.includes("pipeline")) await switchParseEngine(cfg);
  for (const batch of batches(components(cfg, tiers))) {
    const launched: Launch[] = [];
    for (const c of batch) {
      const how = await launch(cfg, c);
      if (how === "reused") result.reused.push(c.name);
      else launched.push(how);
    }
    for (const l of launched) {
      await untilHealthy(cfg, l);
      result.started.push(l.c.name);
    }
    if (batch[0]?.group === "kafka") {
      const topics = projectTopics(cfg);
      result.topicsCreated = await step(`Ensuring topics ${topics.join(", ")}`, () =>
        ensureTopics({
          brokers: cfg.kafka.brokers,
          topics,
          partitions: cfg.kafka.partitions,
          replicationFactor: cfg.kafka.replicationFactor,
          minInsyncReplicas: cfg.kafka.minInsyncReplicas,
        }),
      );
    }
  }
  return result;
}
