/**
 * Real Kafka and Redis for integration tests: started (or reused) once per test run
 * through the same code as `up --infra`, with names unique to the run so that an
 * operator's topics and keys are never touched. Each test file cleans what it made.
 */
import { randomBytes } from "node:crypto";
import Redis from "ioredis";
import { type Config, loadConfig } from "../../pipeline/config.ts";
import { createKafka } from "../../pipeline/io/kafka.ts";
import { ensureTopics } from "../../scripts/lib/topics.ts";
import { up } from "../../scripts/lib/up.ts";

let ready: Promise<Config> | undefined;

/** Starts or reuses the infrastructure once per process (bun test runs all files in one). */
export function infra(): Promise<Config> {
  ready ??= (async () => {
    const cfg = loadConfig();
    await up(cfg, ["infra"]);
    return cfg;
  })();
  return ready;
}

/** Names unique to one test file's run, and their cleanup. */
export class TestScope {
  readonly id = `t${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
  private readonly topics: string[] = [];
  private redisClient: Redis | undefined;

  constructor(readonly cfg: Config) {}

  /** A topic name unique to this scope; created with the project's partition count. */
  async topic(name: string, partitions = this.cfg.kafka.partitions): Promise<string> {
    const topic = `test.${this.id}.${name}`;
    await ensureTopics({
      brokers: this.cfg.kafka.brokers,
      topics: [topic],
      partitions,
      replicationFactor: 1,
    });
    this.topics.push(topic);
    return topic;
  }

  /** A Redis key prefix unique to this scope. */
  get prefix(): string {
    return `test:${this.id}`;
  }

  redis(): Redis {
    this.redisClient ??= new Redis(this.cfg.redis.url, { maxRetriesPerRequest: 3 });
    return this.redisClient;
  }

  kafka() {
    return createKafka(this.cfg.kafka.brokers, `test-${this.id}`);
  }

  async cleanup(): Promise<void> {
    if (this.topics.length > 0) {
      const admin = this.kafka().admin();
      await admin.connect();
      await admin.deleteTopics({ topics: this.topics }).catch(() => {});
      const groups = (await admin.listGroups()).groups
        .map((g) => g.groupId)
        .filter((g) => g.includes(this.id));
      if (groups.length) await admin.deleteGroups(groups).catch(() => {});
      await admin.disconnect();
    }
    if (this.redisClient) {
      const keys = await this.redisClient.keys(`${this.prefix}*`);
      if (keys.length) await this.redisClient.del(...keys);
      this.redisClient.disconnect();
    }
  }
}

export async function scope(): Promise<TestScope> {
  return new TestScope(await infra());
}

export { eventually, freePort } from "./wait.ts";
