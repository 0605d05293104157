/**
 * The configuration is declared once (pipeline/config.ts): the README's table and each
 * worker's `--help` are generated from it and must not drift.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig, VARIABLES } from "../../pipeline/config.ts";
import { withConfigTable } from "../../scripts/lib/config-docs.ts";
import { run } from "../helpers/run.ts";

const root = join(import.meta.dir, "..", "..");

describe("configuration docs", () => {
  test("the README's configuration table is the one pipeline/config.ts generates", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    if (withConfigTable(readme) !== readme) {
      throw new Error("README.md's configuration table is stale: run `bun scripts/gen-docs.ts --config`");
    }
  });

  test("every variable loadConfig reads is declared, and every declared one is read", () => {
    const read = new Set<string>();
    const env = new Proxy({} as Record<string, string | undefined>, {
      get: (_t, name) => {
        if (typeof name === "string") read.add(name);
        return undefined;
      },
      has: () => false,
    });
    loadConfig(env);
    const ambient = new Set(["XDG_STATE_HOME", "XDG_CACHE_HOME"]);
    const declared = new Set(Object.entries(VARIABLES).flatMap(([n, v]) => [n, ...(v.aliases ?? [])]));
    expect([...read].filter((n) => !declared.has(n) && !ambient.has(n))).toEqual([]);
    // and every declared one is read
    expect(Object.keys(VARIABLES).filter((n) => !read.has(n))).toEqual([]);
  });

  test.each([
    ["parse.ts", ["PARSE_BATCH_SIZE", "PARSE_MAX_BATCH_BYTES", "WORKER_BACKOFF_SEC", "EMBED_DLQ_TOPIC"]],
    ["embed-worker.ts", ["EMBED_MODEL", "INFERMESH_URL", "INFERMESH_BACKOFF_SEC", "PARQUET_ROLL_ROWS"]],
    ["indexer.ts", ["EMB_INDEX_SHARDS", "EMB_INDEX_MAX_BATCH_BYTES", "REDDB_INDEX_STREAM"]],
    ["backend.ts", ["BACKEND_PORT", "BACKEND_TOKEN", "SPARK_VECTOR_UI_URL", "EMBED_METRICS_PORT"]],
    ["infermesh.ts", ["INFERMESH_MODELS", "INFERMESH_THREADS", "EMBED_CACHE_DIR"]],
  ])("%s --help lists its variables with their defaults", async (file, names) => {
    const r = await run(["bun", join(root, "pipeline", "workers", file), "--help"]);
    expect(r.code).toBe(0);
    for (const n of names) expect(r.stdout).toContain(n);
    expect(r.stdout).toMatch(/\(default [^)]/);
  });

  test("the embed worker's --help has no InferMesh server settings, and the parse worker none of InferMesh", async () => {
    const embed = await run(["bun", join(root, "pipeline", "workers", "embed-worker.ts"), "--help"]);
    expect(embed.stdout).not.toContain("INFERMESH_MAX_BATCH_TOKENS");
    const parse = await run(["bun", join(root, "pipeline", "workers", "parse.ts"), "--help"]);
    expect(parse.stdout).not.toContain("INFERMESH_");
  });
});

describe("cross-variable rules", () => {
  test("an alias is read when the name is unset or blank", () => {
    expect(loadConfig({ SINK_INPUT_TOPIC: " ", EMBED_INPUT_TOPIC: "x" }).topics.input).toBe("x");
    expect(loadConfig({ KAFKA_BOOTSTRAP_SERVERS: "", KAFKA_BOOTSTRAP: "k:1" }).kafka.brokers).toEqual([
      "k:1",
    ]);
  });

  test("all-digit label fields and an adaptive minimum above the maximum are refused, naming the variable", () => {
    expect(() => loadConfig({ PARSE_LABEL_FIELDS: "status,1" })).toThrow(/PARSE_LABEL_FIELDS: .*all digits/);
    expect(() =>
      loadConfig({ EMBED_BATCH_ADAPTIVE: "1", EMBED_BATCH_MIN: "64", EMBED_BATCH_MAX: "8" }),
    ).toThrow(/EMBED_BATCH_MIN: 64 is above EMBED_BATCH_MAX/);
    expect(() => loadConfig({ WORKER_BACKOFF_SEC: "0" })).toThrow(/WORKER_BACKOFF_SEC/);
  });
});
