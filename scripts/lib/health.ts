/** Health probes of the infrastructure, used by `up`, `status` and the test helpers. */
import Redis from "ioredis";
import { logLevel } from "kafkajs";
import { createKafka } from "../../pipeline/io/kafka.ts";

/**
 * True when the brokers answer a metadata request within `timeoutMs` (with `nodeId`, one that
 * lists that node: registered with the controller quorum and unfenced).
 */
export async function kafkaHealthy(brokers: string[], timeoutMs = 3000, nodeId?: number): Promise<boolean> {
  const admin = createKafka(brokers, "rl-embeddings-probe", {
    connectionTimeout: timeoutMs,
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  }).admin();
  try {
    await withTimeout(admin.connect(), timeoutMs);
    const cluster = await withTimeout(admin.describeCluster(), timeoutMs);
    return nodeId === undefined
      ? cluster.brokers.length > 0
      : cluster.brokers.some((b) => b.nodeId === nodeId);
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** True when Redis answers PING within `timeoutMs`. */
export async function redisHealthy(url: string, timeoutMs = 2000): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on("error", () => {});
  try {
    await withTimeout(client.connect(), timeoutMs);
    return (await withTimeout(client.ping(), timeoutMs)) === "PONG";
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
