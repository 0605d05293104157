/** `up` as a library: used by scripts/up.ts and by the test helpers. */
import { existsSync, rmSync } from "node:fs";
import { type Config, projectTopics } from "../../pipeline/config.ts";
import { portOpen } from "./net.ts";
import { isRunning, readRecord, removeRecord, startDaemon, stopProcess, tail } from "./procs.ts";
import { info, ScriptError, step, waitUntil } from "./progress.ts";
import { prepareSparkRuntime } from "./spark-local.ts";
import { type Component, components, PARSE_COMPONENT, SPARK_COMPONENT, type Tier } from "./stack.ts";
import { ensureTopics } from "./topics.ts";

export interface UpResult {
  started: string[];
  reused: string[];
  topicsCreated: string[];
}

/** Brings one component to health: reuse what answers, start what is local, fail otherwise. */
async function ensureComponent(cfg: Config, c: Component): Promise<"started" | "reused"> {
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
    // Ours, running but not healthy (still starting, or wedged): give it the start timeout.
    const ok = await step(`Waiting for ${c.name} (pid ${stale.pid}) at ${c.address}`, () =>
      waitUntil(() => c.healthy(), cfg.local.startTimeoutSec),
    );
    if (ok) return "reused";
    await stopProcess(stale);
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
  const rec = started.record;
  await step(`Starting ${c.name} at ${c.address} (pid ${rec.pid}, log ${rec.log})`, async () => {
    if (await waitUntil(() => c.healthy(), cfg.local.startTimeoutSec, { giveUp: started.exited })) return;
    const exited = started.exited();
    await stopProcess(rec);
    removeRecord(cfg.local.stateDir, c.name);
    throw new ScriptError(
      `${c.name} ${exited ? "exited" : `did not become healthy within ${cfg.local.startTimeoutSec}s`}. ` +
        `Last lines of ${rec.log}:\n${tail(rec.log)}`,
    );
  });
  return "started";
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
  for (const c of components(cfg, tiers)) {
    const how = await ensureComponent(cfg, c);
    result[how].push(c.name);
    if (c.name === "kafka") {
      const topics = projectTopics(cfg);
      result.topicsCreated = await step(`Ensuring topics ${topics.join(", ")}`, () =>
        ensureTopics({
          brokers: cfg.kafka.brokers,
          topics,
          partitions: cfg.kafka.partitions,
          replicationFactor: cfg.kafka.replicationFactor,
        }),
      );
    }
  }
  return result;
}
