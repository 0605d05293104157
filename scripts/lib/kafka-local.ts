/**
 * The embedded Kafka: KRaft nodes (broker+controller each; one, or a cluster of N with a
 * static controller quorum) built from Maven Central artifacts (`org.apache.kafka:kafka_2.13`
 * and its runtime dependencies, log4j2 as the logging binding), cached per version outside
 * the repo, each node's storage formatted once with the cluster's id.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { $ } from "zx";
import { type Config, minInsync } from "../../pipeline/config.ts";
import { mavenJars } from "./maven.ts";
import type { DaemonSpec } from "./procs.ts";
import type { Progress } from "./progress.ts";
import { ScriptError } from "./progress.ts";

const LOG4J_VERSION = "2.24.3";

export function kafkaLibsDir(cfg: Config): string {
  return join(cfg.local.cacheDir, `kafka-${cfg.local.kafkaVersion}`, "libs");
}

/** Fetches the broker's jars with Maven once per version; returns the libs folder. */
export function ensureKafkaJars(cfg: Config, progress: Progress): Promise<string> {
  const artifact = (group: string, a: string, version: string) => ({ group, artifact: a, version });
  return mavenJars(
    {
      dir: kafkaLibsDir(cfg),
      what: `org.apache.kafka:kafka_2.13:${cfg.local.kafkaVersion}`,
      dependencies: [
        artifact("org.apache.kafka", "kafka_2.13", cfg.local.kafkaVersion),
        artifact("org.apache.logging.log4j", "log4j-api", LOG4J_VERSION),
        artifact("org.apache.logging.log4j", "log4j-core", LOG4J_VERSION),
        artifact("org.apache.logging.log4j", "log4j-slf4j-impl", LOG4J_VERSION),
      ],
    },
    progress,
  );
}

/**
 * One node of the embedded KRaft cluster: broker and controller in one process. Client ports
 * run consecutively from the bootstrap port, controller ports right after them (one node:
 * 9092 and 9093; three: 9092-9094 and 9095-9097).
 */
export interface KafkaNode {
  id: number;
  host: string;
  port: number;
  controllerPort: number;
}

export function kafkaNodes(count: number, host: string, port: number): KafkaNode[] {
  return Array.from({ length: count }, (_, i) => ({
    id: i + 1,
    host,
    port: port + i,
    controllerPort: port + count + i,
  }));
}

export interface KafkaLayout {
  /** The cluster's folder (holds `cluster.id`); the node's own folder for a single node. */
  clusterDir: string;
  dir: string;
  dataDir: string;
  properties: string;
  log4j: string;
  log: string;
}

/**
 * A single node keeps `<state>/kafka-<port>`; an N-node cluster lives in
 * `<state>/kafka-<port>-x<N>/node-<id>`, so storage formatted for another quorum is never reused.
 */
export function kafkaLayout(cfg: Config, node: KafkaNode, count: number): KafkaLayout {
  const first = node.port - node.id + 1;
  const clusterDir = join(cfg.local.stateDir, count === 1 ? `kafka-${first}` : `kafka-${first}-x${count}`);
  const dir = count === 1 ? clusterDir : join(clusterDir, `node-${node.id}`);
  return {
    clusterDir,
    dir,
    dataDir: join(dir, "data"),
    properties: join(dir, "server.properties"),
    log4j: join(dir, "log4j2.properties"),
    log: join(dir, "kafka.log"),
  };
}

/** Writes a node's config files (derived from the config on every start). */
export function writeKafkaConfig(
  cfg: Config,
  layout: KafkaLayout,
  node: KafkaNode,
  nodes: KafkaNode[],
): void {
  mkdirSync(layout.dir, { recursive: true });
  // Internal topics replicated like the project's (one node: 1, else up to 3, one loss tolerated):
  // with fewer live replicas than their factor consumer groups never find a coordinator.
  const rf = Math.min(3, nodes.length);
  const isr = minInsync(rf);
  writeFileSync(
    layout.properties,
    [
      "# Written by scripts/up.ts on every start; edit pipeline/config.ts or the env instead.",
      "process.roles=broker,controller",
      `node.id=${node.id}`,
      `controller.quorum.voters=${nodes.map((n) => `${n.id}@${n.host}:${n.controllerPort}`).join(",")}`,
      `listeners=PLAINTEXT://${node.host}:${node.port},CONTROLLER://${node.host}:${node.controllerPort}`,
      `advertised.listeners=PLAINTEXT://${node.host}:${node.port}`,
      "controller.listener.names=CONTROLLER",
      "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
      "inter.broker.listener.name=PLAINTEXT",
      `log.dirs=${layout.dataDir}`,
      `num.partitions=${cfg.kafka.partitions}`,
      `default.replication.factor=${rf}`,
      `min.insync.replicas=${isr}`,
      `offsets.topic.replication.factor=${rf}`,
      "offsets.topic.num.partitions=3",
      `transaction.state.log.replication.factor=${rf}`,
      `transaction.state.log.min.isr=${isr}`,
      `share.coordinator.state.topic.replication.factor=${rf}`,
      `share.coordinator.state.topic.min.isr=${isr}`,
      "group.initial.rebalance.delay.ms=0",
      "auto.create.topics.enable=false",
      "delete.topic.enable=true",
      "log.retention.hours=168",
      "",
    ].join("\n"),
  );
  writeFileSync(
    layout.log4j,
    [
      "status = warn",
      "appender.out.type = Console",
      "appender.out.name = OUT",
      "appender.out.layout.type = PatternLayout",
      "appender.out.layout.pattern = [%d] %p %m (%c)%n",
      "rootLogger.level = INFO",
      "rootLogger.appenderRef.out.ref = OUT",
      "logger.state.name = state.change.logger",
      "logger.state.level = WARN",
      "logger.config.name = org.apache.kafka.common.config",
      "logger.config.level = WARN",
      "",
    ].join("\n"),
  );
}

function javaArgs(cfg: Config, layout: KafkaLayout, libs: string): string[] {
  return [
    `-Xms${cfg.local.kafkaHeap}`,
    `-Xmx${cfg.local.kafkaHeap}`,
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-Djava.awt.headless=true",
    `-Dlog4j2.configurationFile=${layout.log4j}`,
    "-cp",
    `${libs}/*`,
  ];
}

/**
 * A KRaft cluster id: 16 random bytes as base64url (22 characters), drawn again while it
 * starts with `-`, which `kafka-storage format -t` would read as a flag. Kafka's own
 * generator (Uuid.randomUuid) rejects such ids the same way.
 */
export function newClusterId(random: (n: number) => Buffer = randomBytes): string {
  for (;;) {
    const id = random(16).toString("base64url");
    if (!id.startsWith("-")) return id;
  }
}

/** The cluster id every node is formatted with, drawn once and kept in the cluster's folder. */
function clusterIdOf(layout: KafkaLayout): string {
  const file = join(layout.clusterDir, "cluster.id");
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  const id = newClusterId();
  mkdirSync(layout.clusterDir, { recursive: true });
  writeFileSync(file, `${id}\n`);
  return id;
}

/** Formats a node's storage folder once (KRaft needs a cluster id before the first start). */
export async function formatStorageOnce(cfg: Config, layout: KafkaLayout, libs: string): Promise<void> {
  if (existsSync(join(layout.dataDir, "meta.properties"))) return;
  const clusterId = clusterIdOf(layout);
  const args = [...javaArgs(cfg, layout, libs), "kafka.tools.StorageTool", "format", "-t", clusterId];
  const r = await $`java ${args} -c ${layout.properties}`.nothrow().quiet();
  if (r.exitCode !== 0) {
    throw new ScriptError(
      `Kafka storage format failed:\n${(r.stdout + r.stderr).split("\n").slice(-20).join("\n")}`,
    );
  }
}

export function kafkaDaemon(
  cfg: Config,
  layout: KafkaLayout,
  libs: string,
  name: string,
  address: string,
): DaemonSpec {
  return {
    name,
    cmd: "java",
    args: [...javaArgs(cfg, layout, libs), "kafka.Kafka", layout.properties],
    marker: ["kafka.Kafka", layout.properties],
    address,
    log: layout.log,
  };
}
