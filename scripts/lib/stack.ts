/**
 * The components `up` manages, in start order. Each knows its address, how to probe its
 * health and, when it is local and not already answering, how to start it.
 * Later stages (InferMesh, parse, embed-worker, indexer, backend) join this list.
 */
import type { Config } from "../../pipeline/config.ts";
import { kafkaHealthy, redisHealthy } from "./health.ts";
import {
  ensureKafkaJars,
  formatStorageOnce,
  kafkaDaemon,
  kafkaLayout,
  writeKafkaConfig,
} from "./kafka-local.ts";
import { isLoopback, splitHostPort } from "./net.ts";
import type { DaemonSpec } from "./procs.ts";
import { type Progress, step } from "./progress.ts";
import { ensureRedisServer, redisDaemon } from "./redis-local.ts";

export type Tier = "infra" | "pipeline";

export interface Component {
  name: string;
  tier: Tier;
  address: string;
  /** Env variable that points this component elsewhere (for messages). */
  envVar: string;
  /** True when `up` may start it here (loopback address); false for external services. */
  local: boolean;
  /** Loopback ports a local start binds (checked free before starting). */
  ports: number[];
  healthy(): Promise<boolean>;
  /** Prepares (fetch, install, format) and returns what to run. */
  prepare(): Promise<DaemonSpec>;
}

function kafkaComponent(cfg: Config): Component {
  const single = cfg.kafka.brokers.length === 1 ? cfg.kafka.brokers[0] : undefined;
  const hp = single ? splitHostPort(single) : undefined;
  return {
    name: "kafka",
    tier: "infra",
    address: cfg.kafka.brokers.join(","),
    envVar: "KAFKA_BOOTSTRAP_SERVERS",
    local: hp !== undefined && isLoopback(hp.host),
    ports: hp ? [hp.port, hp.port + 1] : [],
    healthy: () => kafkaHealthy(cfg.kafka.brokers),
    async prepare() {
      if (!hp || !single) throw new Error("unreachable: kafka is not local");
      const libs = await step(`Fetching Kafka ${cfg.local.kafkaVersion} jars (Maven)`, (p: Progress) =>
        ensureKafkaJars(cfg, p),
      );
      const layout = kafkaLayout(cfg, hp.port);
      const host = hp.host === "localhost" ? "127.0.0.1" : hp.host;
      writeKafkaConfig(cfg, layout, host, hp.port);
      await formatStorageOnce(cfg, layout, libs);
      return kafkaDaemon(cfg, layout, libs, single);
    },
  };
}

function redisComponent(cfg: Config): Component | undefined {
  if (!cfg.redis.url.startsWith("redis")) return undefined; // off, or an HTTP RedDB
  const url = new URL(cfg.redis.url);
  const host = url.hostname;
  const port = Number(url.port || 6379);
  return {
    name: "redis",
    tier: "infra",
    address: `${host}:${port}`,
    envVar: "REDDB_URL",
    local: isLoopback(host),
    ports: [port],
    healthy: () => redisHealthy(cfg.redis.url),
    async prepare() {
      const bin = await step("Checking redis-server", (p) => ensureRedisServer(p));
      return redisDaemon(cfg, bin, host, port);
    },
  };
}

export function components(cfg: Config, tiers: Tier[] = ["infra", "pipeline"]): Component[] {
  const all = [kafkaComponent(cfg), redisComponent(cfg)].filter((c): c is Component => c !== undefined);
  return all.filter((c) => tiers.includes(c.tier));
}
