import { describe, expect, test } from "bun:test";
import { ConfigError, loadConfig, projectTopics } from "../../pipeline/config.ts";
import { components } from "../../scripts/lib/stack.ts";

describe("loadConfig", () => {
  test("embedded defaults are loopback addresses and the seed's names", () => {
    const cfg = loadConfig({ HOME: "/home/op" });
    expect(cfg.kafka.brokers).toEqual(["127.0.0.1:9092"]);
    expect(cfg.kafka.partitions).toBe(3);
    expect(cfg.redis.url).toBe("redis://127.0.0.1:6379");
    expect(cfg.redis).toMatchObject({
      namespace: "dspy",
      stream: "embeddings",
      dlqStream: "embeddings_dlq",
      mode: "stream",
    });
    expect(cfg.topics).toEqual({
      source: ["agent.results"],
      input: "embedding_input",
      output: "embeddings",
      dlq: "",
    });
    expect(projectTopics(cfg)).toEqual(["agent.results", "embedding_input", "embeddings", "embeddings_dlq"]);
  });

  test("KAFKA_BOOTSTRAP_SERVERS wins over KAFKA_BOOTSTRAP, which is the fallback", () => {
    expect(loadConfig({ KAFKA_BOOTSTRAP: "k1:9092" }).kafka.brokers).toEqual(["k1:9092"]);
    expect(
      loadConfig({ KAFKA_BOOTSTRAP: "k1:9092", KAFKA_BOOTSTRAP_SERVERS: "a:1, b:2" }).kafka.brokers,
    ).toEqual(["a:1", "b:2"]);
  });

  test("an explicitly empty REDDB_URL turns Redis off; unset means the local default", () => {
    expect(loadConfig({ REDDB_URL: "" }).redis.url).toBe("");
    expect(loadConfig({}).redis.url).toBe("redis://127.0.0.1:6379");
  });

  test("the Spark parse job: Bun is the default engine; the backend follows SPARK_UI_PORT", () => {
    const cfg = loadConfig({ EMBED_STATE_DIR: "/srv/state" });
    expect(cfg.spark).toMatchObject({
      engine: "bun",
      version: "4.1.1",
      master: "local[2]",
      uiPort: 4041,
      checkpoint: "/srv/state/spark/checkpoint",
      startingOffsets: "",
    });
    expect(cfg.backend.sparkUiUrl).toBe("http://127.0.0.1:4041/api/v1");
    expect(loadConfig({ SPARK_UI_PORT: "4050" }).backend.sparkUiUrl).toBe("http://127.0.0.1:4050/api/v1");
    expect(() => loadConfig({ PARSE_ENGINE: "flink" })).toThrow(ConfigError);
    const names = (env: Record<string, string>) => components(loadConfig(env)).map((c) => c.name);
    expect(names({})).toContain("parse");
    expect(names({ PARSE_ENGINE: "spark" })).toEqual(
      names({}).map((n) => (n === "parse" ? "spark-vectorizer" : n)),
    );
  });

  test("SPARK_KAFKA_TOPICS is a comma list", () => {
    expect(loadConfig({ SPARK_KAFKA_TOPICS: "a, b,,c" }).topics.source).toEqual(["a", "b", "c"]);
  });

  test.each([
    ["KAFKA_TOPIC_PARTITIONS", "three", /KAFKA_TOPIC_PARTITIONS: expected an integer/],
    ["KAFKA_TOPIC_PARTITIONS", "0", /KAFKA_TOPIC_PARTITIONS: expected 1\.\.1000/],
    ["KAFKA_BOOTSTRAP_SERVERS", "nohostport", /KAFKA_BOOTSTRAP_SERVERS: expected host:port/],
    ["REDDB_URL", "not a url", /REDDB_URL: not a URL/],
    ["REDDB_URL", "ftp://x", /REDDB_URL: expected redis:/],
    ["REDDB_MODE", "list", /REDDB_MODE: expected one of stream\|kv\|both/],
  ])("%s=%p fails naming the variable", (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(message);
  });
});

describe("kNN settings of the backend", () => {
  test("defaults: a node owning every shard, the int8 prefilter on with factor 4", () => {
    const b = loadConfig({}).backend;
    expect(b).toMatchObject({ role: "node", shards: null, owners: [], ownerTimeoutMs: 3000 });
    expect(b.knn).toEqual({ quantized: true, rescoreFactor: 4 });
  });

  test("BACKEND_SHARDS reads ranges and numbers, below EMB_INDEX_SHARDS", () => {
    expect(loadConfig({ BACKEND_SHARDS: "0-3, 7,2" }).backend.shards).toEqual([0, 1, 2, 3, 7]);
    expect(() => loadConfig({ BACKEND_SHARDS: "0-3,x" })).toThrow(/BACKEND_SHARDS: not a shard/);
    expect(() => loadConfig({ BACKEND_SHARDS: "5-2" })).toThrow(/runs backwards/);
    expect(() => loadConfig({ BACKEND_SHARDS: "30-40" })).toThrow(
      /shard 32 is not below EMB_INDEX_SHARDS \(32\)/,
    );
    expect(loadConfig({ BACKEND_SHARDS: "30-40", EMB_INDEX_SHARDS: "64" }).backend.shards).toHaveLength(11);
  });

  test("a router needs its owners' URLs", () => {
    expect(() => loadConfig({ BACKEND_ROLE: "router" })).toThrow(ConfigError);
    expect(() => loadConfig({ BACKEND_ROLE: "router", BACKEND_OWNERS: "a:8080" })).toThrow(/BACKEND_OWNERS/);
    const b = loadConfig({ BACKEND_ROLE: "router", BACKEND_OWNERS: "http://a:8080/, http://b:8081" }).backend;
    expect(b.owners).toEqual(["http://a:8080", "http://b:8081"]);
    expect(loadConfig({ KNN_QUANTIZED: "0", KNN_RESCORE_FACTOR: "10" }).backend.knn).toEqual({
      quantized: false,
      rescoreFactor: 10,
    });
    expect(() => loadConfig({ KNN_RESCORE_FACTOR: "0" })).toThrow(/KNN_RESCORE_FACTOR/);
  });
});

describe("which components up may start", () => {
  test("loopback addresses are local; other hosts are external and never started", () => {
    const local = components(
      loadConfig({ KAFKA_BOOTSTRAP_SERVERS: "localhost:19092", REDDB_URL: "redis://127.0.0.1:16379" }),
      ["infra"],
    );
    expect(local.map((c) => [c.name, c.local, c.ports])).toEqual([
      ["kafka", true, [19092, 19093]],
      ["redis", true, [16379]],
    ]);
    const external = components(
      loadConfig({
        KAFKA_BOOTSTRAP_SERVERS: "kafka.internal:9092",
        REDDB_URL: "redis://cache.internal:6379/0",
        INFERMESH_URL: "http://gpu-box:9000",
      }),
    );
    expect(external.map((c) => [c.name, c.local])).toEqual([
      ["kafka", false],
      ["redis", false],
      ["infermesh", false],
      ["parse", true],
      ["embed-worker", true],
      ["indexer", true],
      ["backend", true],
    ]);
    expect(
      components(loadConfig({ KAFKA_BOOTSTRAP_SERVERS: "127.0.0.1:9092,127.0.0.1:9094" }))[0]?.local,
    ).toBe(false);
  });

  test("Redis off or an HTTP RedDB means no Redis component", () => {
    const infra = (env: Record<string, string>) => components(loadConfig(env), ["infra"]).map((c) => c.name);
    expect(infra({ REDDB_URL: "" })).toEqual(["kafka"]);
    expect(infra({ REDDB_URL: "http://reddb:8080" })).toEqual(["kafka"]);
  });
});
