/**
 * `up --infra`, `status`, `down` as an operator runs them, on a private state folder and
 * private ports so that the suite's shared infrastructure is not disturbed.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { portOpen } from "../../scripts/lib/net.ts";
import type { StackStatus } from "../../scripts/lib/status.ts";
import { freePort, infra } from "../helpers/infra.ts";
import { run, runScript } from "../helpers/run.ts";

setDefaultTimeout(120_000); // real Kafka and Redis

const stateDir = mkdtempSync(join(tmpdir(), "rl-embeddings-up-"));
const kafkaPort = freePort(true);
const redisPort = freePort();
const env = {
  EMBED_STATE_DIR: stateDir,
  KAFKA_BOOTSTRAP_SERVERS: `127.0.0.1:${kafkaPort}`,
  REDDB_URL: `redis://127.0.0.1:${redisPort}`,
  KAFKA_HEAP: "256m",
  // Private pipeline ports too, so a stack running on the defaults is not mistaken for this one.
  INFERMESH_URL: `http://127.0.0.1:${freePort()}`,
  PARSE_METRICS_PORT: String(freePort()),
  EMBED_METRICS_PORT: String(freePort()),
  INDEX_METRICS_PORT: String(freePort()),
  BACKEND_PORT: String(freePort()),
};

/** Processes whose command line mentions the private state folder or ports. */
function strays(): string[] {
  const out: string[] = [];
  for (const pid of new Bun.Glob("[0-9]*").scanSync({ cwd: "/proc", onlyFiles: false })) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
      if (cmd.includes(stateDir) || cmd.includes(`127.0.0.1:${redisPort}`)) out.push(`${pid}: ${cmd}`);
    } catch {}
  }
  return out;
}

const INFRA = ["kafka", "redis"];

/** `status --json`, split into the infrastructure and the (not started) pipeline components. */
async function statusJson(): Promise<{ code: number; s: StackStatus; pipeline: StackStatus["components"] }> {
  const r = await runScript("status", ["--json"], env);
  const all = JSON.parse(r.stdout) as StackStatus;
  return {
    code: r.code,
    s: { ...all, components: all.components.filter((c) => INFRA.includes(c.name)) },
    pipeline: all.components.filter((c) => !INFRA.includes(c.name)),
  };
}

beforeAll(async () => {
  await infra(); // the jars are fetched once by the shared helper
});

afterAll(async () => {
  await runScript("down", [], env);
  rmSync(stateDir, { recursive: true, force: true });
});

describe("up --infra / status / down", () => {
  let pids: Record<string, number | null> = {};

  test("up --infra starts a real Kafka and Redis and creates the project topics", async () => {
    const r = await runScript("up", ["--infra"], env);
    expect(r).toMatchObject({ code: 0, stderr: expect.stringContaining("Starting kafka") });

    const { code, s, pipeline } = await statusJson();
    expect(code).toBe(1); // up --infra starts no pipeline process, and status says so
    expect(pipeline.map((c) => [c.name, c.state])).toEqual([
      ["infermesh", "down"],
      ["parse", "down"],
      ["embed-worker", "down"],
      ["indexer", "down"],
      ["backend", "down"],
    ]);
    expect(s.components.map((c) => c.name)).toEqual(INFRA);
    for (const c of s.components) {
      expect(c).toMatchObject({ healthy: true, state: "managed" });
      expect(c.pid).toBeGreaterThan(0);
      expect(c.log?.startsWith(stateDir)).toBe(true);
    }
    pids = Object.fromEntries(s.components.map((c) => [c.name, c.pid]));

    // Independent clients see them.
    const meta = await run(["kcat", "-b", `127.0.0.1:${kafkaPort}`, "-L", "-J"]);
    expect(meta.code).toBe(0);
    const topics = (JSON.parse(meta.stdout).topics as { topic: string; partitions: unknown[] }[]).filter(
      (t) => !t.topic.startsWith("__"),
    );
    expect(topics.map((t) => t.topic).sort()).toEqual([
      "agent.results",
      "embedding_input",
      "embeddings",
      "embeddings_dlq",
    ]);
    for (const t of topics) expect(t.partitions).toHaveLength(3);
    const ping = await run(["redis-cli", "-p", String(redisPort), "ping"]);
    expect(ping.stdout.trim()).toBe("PONG");
  });

  test("a second up reuses what runs and starts nothing", async () => {
    const r = await runScript("up", ["--infra"], env);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("kafka already answers");
    expect(r.stderr).toContain("redis already answers");
    expect(r.stderr).not.toContain("Starting");
    const { s } = await statusJson();
    expect(Object.fromEntries(s.components.map((c) => [c.name, c.pid]))).toEqual(pids);
  });

  test("down stops exactly what up started and leaves no process behind", async () => {
    const r = await runScript("down", [], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/redis \(pid \d+\): (stopped|killed)/);
    expect(r.stdout).toMatch(/kafka \(pid \d+\): (stopped|killed)/);
    // Pipeline before infrastructure; Redis was started after Kafka, so it stops first.
    expect(r.stdout.indexOf("redis")).toBeLessThan(r.stdout.indexOf("kafka"));
    expect(strays()).toEqual([]);
    expect(await portOpen("127.0.0.1", kafkaPort)).toBe(false);
    expect(await portOpen("127.0.0.1", redisPort)).toBe(false);

    const { code, s } = await statusJson();
    expect(code).toBe(1);
    for (const c of s.components) expect(c).toMatchObject({ healthy: false, state: "down", pid: null });
    expect((await runScript("down", [], env)).stdout).toContain("nothing recorded");
  });

  test("a port held by another program is reported before anything starts", async () => {
    const squatter = Bun.listen({ hostname: "127.0.0.1", port: kafkaPort, socket: { data() {} } });
    try {
      const r = await runScript("up", ["--infra"], env);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`error: kafka cannot start: 127.0.0.1:${kafkaPort} is in use`);
      expect(strays()).toEqual([]);
    } finally {
      squatter.stop(true);
    }
  });

  test("a component that exits at start fails with a clear message and its log tail", async () => {
    const r = await runScript("up", ["--infra"], { ...env, KAFKA_HEAP: "1k" });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("error: kafka exited");
    expect(r.stderr).toContain(`Last lines of ${stateDir}`);
    expect(r.stderr).toMatch(/heap/i);
    expect(strays()).toEqual([]);
  });
});

test("every script answers --help", async () => {
  for (const name of ["up", "down", "status"]) {
    const r = await runScript(name, ["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toStartWith(`Usage: bun run ${name}`);
  }
  const bad = await runScript("status", ["--bogus"]);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain("unknown option: --bogus");
});
