/** Runs the project's worker processes for integration tests, as `up` would. */
import { join } from "node:path";
import type { Subprocess } from "bun";
import { eventually, freePort } from "./infra.ts";
import { repoRoot } from "./run.ts";

export interface WorkerHandle {
  proc: Subprocess;
  port: number;
  url: string;
  output(): string;
  metrics(): Promise<Record<string, unknown>>;
  stop(signal?: NodeJS.Signals): Promise<number>;
}

/** Starts `pipeline/workers/<name>.ts` with `env`, waits until its /health answers 200. */
export async function startWorker(
  name: string,
  env: Record<string, string>,
  { portVar, port = freePort(), healthy = true }: { portVar: string; port?: number; healthy?: boolean },
): Promise<WorkerHandle> {
  const chunks: string[] = [];
  const proc = Bun.spawn([process.execPath, join(repoRoot, "pipeline", "workers", `${name}.ts`)], {
    cwd: repoRoot,
    env: { ...process.env, LOG_LEVEL: "info", ...env, [portVar]: String(port) },
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
  await eventually(
    `${name} /health`,
    async () => {
      if (proc.exitCode !== null) throw new Error(`${name} exited ${proc.exitCode}:\n${handle.output()}`);
      const res = await fetch(`${url}/health`).catch(() => undefined);
      return healthy ? res?.status === 200 : res !== undefined;
    },
    60_000,
  );
  return handle;
}

/** Collects every record of `topics` from the beginning, keyed for assertions. */
export async function collect(
  kafka: import("kafkajs").Kafka,
  topics: string[],
  groupId: string,
): Promise<{
  records: { topic: string; key: string | null; value: Buffer | null; headers: Record<string, string> }[];
  stop: () => Promise<void>;
}> {
  const records: {
    topic: string;
    key: string | null;
    value: Buffer | null;
    headers: Record<string, string>;
  }[] = [];
  const consumer = kafka.consumer({ groupId });
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic, message }) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = String(v);
      records.push({
        topic,
        key: message.key ? message.key.toString() : null,
        value: message.value,
        headers,
      });
    },
  });
  return { records, stop: () => consumer.disconnect() };
}
