/**
 * The embedded Kafka: a single-node KRaft broker+controller built from Maven Central
 * artifacts (`org.apache.kafka:kafka_2.13` and its runtime dependencies, log4j2 as the
 * logging binding), cached per version outside the repo, storage formatted once.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { $ } from "zx";
import type { Config } from "../../pipeline/config.ts";
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

export interface KafkaLayout {
  dir: string;
  dataDir: string;
  properties: string;
  log4j: string;
  log: string;
}

export function kafkaLayout(cfg: Config, port: number): KafkaLayout {
  const dir = join(cfg.local.stateDir, `kafka-${port}`);
  return {
    dir,
    dataDir: join(dir, "data"),
    properties: join(dir, "server.properties"),
    log4j: join(dir, "log4j2.properties"),
    log: join(dir, "kafka.log"),
  };
}

/** Writes the broker's config files (derived from the config on every start). */
export function writeKafkaConfig(cfg: Config, layout: KafkaLayout, host: string, port: number): void {
  mkdirSync(layout.dir, { recursive: true });
  const controller = port + 1;
  writeFileSync(
    layout.properties,
    [
      "# Written by scripts/up.ts on every start; edit pipeline/config.ts or the env instead.",
      "process.roles=broker,controller",
      "node.id=1",
      `controller.quorum.voters=1@${host}:${controller}`,
      `listeners=PLAINTEXT://${host}:${port},CONTROLLER://${host}:${controller}`,
      `advertised.listeners=PLAINTEXT://${host}:${port}`,
      "controller.listener.names=CONTROLLER",
      "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
      "inter.broker.listener.name=PLAINTEXT",
      `log.dirs=${layout.dataDir}`,
      `num.partitions=${cfg.kafka.partitions}`,
      // Single node: internal topics need replication 1 or consumer groups never find a coordinator.
      "offsets.topic.replication.factor=1",
      "offsets.topic.num.partitions=3",
      "transaction.state.log.replication.factor=1",
      "transaction.state.log.min.isr=1",
      "share.coordinator.state.topic.replication.factor=1",
      "share.coordinator.state.topic.min.isr=1",
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

/** Formats the storage folder once (KRaft needs a cluster id before the first start). */
export async function formatStorageOnce(cfg: Config, layout: KafkaLayout, libs: string): Promise<void> {
  if (existsSync(join(layout.dataDir, "meta.properties"))) return;
  const clusterId = newClusterId();
  const args = [...javaArgs(cfg, layout, libs), "kafka.tools.StorageTool", "format", "-t", clusterId];
  const r = await $`java ${args} -c ${layout.properties}`.nothrow().quiet();
  if (r.exitCode !== 0) {
    throw new ScriptError(
      `Kafka storage format failed:\n${(r.stdout + r.stderr).split("\n").slice(-20).join("\n")}`,
    );
  }
}

export function kafkaDaemon(cfg: Config, layout: KafkaLayout, libs: string, address: string): DaemonSpec {
  return {
    name: "kafka",
    cmd: "java",
    args: [...javaArgs(cfg, layout, libs), "kafka.Kafka", layout.properties],
    marker: ["kafka.Kafka", layout.properties],
    address,
    log: layout.log,
  };
}
