/**
 * Runs a project worker (`pipeline/workers/<name>.ts`) as a child process with its own
 * env, as `up` would, capturing its output — for tests and the benchmark.
 */
import { join } from "node:path";
import type { Subprocess } from "bun";
import type { Kafka } from "kafkajs";
import { freePort } from "./net.ts";
import { waitUntil } from "./progress.ts";

const repoRoot = join(import.meta.dir, "..", "..");

export interface WorkerHandle {
  proc: Subprocess;
  port: number;
  url: string;
  output(): string;
  metrics(): Promise<Record<string, unknown>>;
  stop(signal?: NodeJS.Signals): Promise<number>;
}

/** Starts the worker with `env` (its port in `portVar`) and waits until /health answers (200 unless `healthy` is false). */
export async function startWorker(
  name: string,
  env: Record<string, string>,
  {
    portVar,
    port = freePort(),
    healthy = true,
    timeoutSec = 60,
    cmd = [process.execPath, join(repoRoot, "pipeline", "workers", `${name}.ts`)],
  }: {
    portVar: string;
    port?: number;
    healthy?: boolean;
    timeoutSec?: number;
    /** The command line, when it is not the Bun worker `name` (the Spark job). */
    cmd?: string[];
  },
): Promise<WorkerHandle> {
  const chunks: string[] = [];
  const proc = Bun.spawn(cmd, {
    cwd: repoRoot,
    env: { ...process.env, ...env, [portVar]: String(port) },
    stdout: "pipe",
    stderr: "pipe",
  });
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    for await (const c of stream) chunks.push(dec.decode(c));
  };
  void pump(proc.stdout as ReadableStream<Uint8Array>);
  void pump(proc.stderr as ReadableStream<Uint8Array>);
  const url = `http://127.0.0.1:${port}`;
  const handle: WorkerHandle = {
    proc,
    port,
    url,
    output: () => chunks.join(""),
    metrics: async () => (await (await fetch(`${url}/metrics`)).json()) as Record<string, unknown>,
    async stop(signal = "SIGTERM") {
      proc.kill(signal);
      return await proc.exited;
    },
  };
  const up = await waitUntil(
    async () => {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
      return healthy ? res?.status === 200 : res !== undefined;
    },
    timeoutSec,
    { giveUp: () => proc.exitCode !== null },
  );
  if (!up) {
    proc.kill("SIGKILL");
    throw new Error(`${name} did not become healthy (exit ${proc.exitCode}):\n${handle.output()}`);
  }
  return handle;
}

export interface Collected {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
  /** When this process received it, epoch ms. */
  receivedAt: number;
}

/** Resolves once the worker's consumer has partitions assigned (its `assigned_partitions` metric). */
export async function untilAssigned(w: WorkerHandle, timeoutSec = 60): Promise<void> {
  const ok = await waitUntil(async () => Number((await w.metrics()).assigned_partitions) > 0, timeoutSec);
  if (!ok) throw new Error(`worker at ${w.url} got no partitions within ${timeoutSec}s`);
}

/**
 * Collects every record of `topics` from the beginning in a fresh group (no commits
 * needed); resolves once the group is joined, so nothing produced afterwards is missed.
 */
export async function collect(
  kafka: Kafka,
  topics: string[],
  groupId: string,
): Promise<{ records: Collected[]; stop: () => Promise<void> }> {
  const records: Collected[] = [];
  const consumer = kafka.consumer({ groupId });
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic, partition, message }) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = String(v);
      records.push({
        topic,
        partition,
        offset: message.offset,
        key: message.key ? message.key.toString() : null,
        value: message.value,
        headers,
        receivedAt: Date.now(),
      });
    },
  });
  await joined;
  return { records, stop: () => consumer.disconnect() };
}
