/**
 * The Spark parse job's runtime, cached per Spark version under `<cacheDir>/spark-<version>/`:
 * a Python venv with pyspark (and redis-py for the DLQ stream) from PyPI, and the Kafka
 * connector's four jars from Maven Central. Plus the process specs `up --spark` starts: the
 * job (pipeline/spark/spark_vectorize.py, every setting passed from pipeline/config.ts) and,
 * when SPARK_MASTER is a `spark://` URL on this machine, a standalone master and one worker
 * from the same pyspark installation (its `bin/spark-class`).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { $ } from "zx";
import { type Config, loadConfig } from "../../pipeline/config.ts";
import { createKafka } from "../../pipeline/io/kafka.ts";
import { MAVEN_CENTRAL, mavenJars } from "./maven.ts";
import { freePort } from "./net.ts";
import type { DaemonSpec } from "./procs.ts";
import { type Progress, ScriptError, step } from "./progress.ts";
import { startWorker, type WorkerHandle } from "./worker-process.ts";

/** redis-py, for the DLQ stream (XADD), as the Bun workers write it. */
const REDIS_PY_VERSION = "5.2.1";

export const SPARK_JOB = join(import.meta.dir, "..", "..", "pipeline", "spark", "spark_vectorize.py");
/** The seed's process probe was `pgrep -f 'spark_vectorize.py'`; the job keeps that name. */
export const SPARK_PROBE = "spark_vectorize.py";

export function sparkHome(cfg: Config): string {
  return join(cfg.local.cacheDir, `spark-${cfg.spark.version}`);
}

const venvPython = (cfg: Config) => join(sparkHome(cfg), "venv", "bin", "python");

function tailOf(lines: string[], n = 25): string {
  return lines.slice(-n).join("\n");
}

/** Creates the venv and installs pyspark once; returns its python. */
export async function ensureSparkVenv(cfg: Config, progress: Progress): Promise<string> {
  const venv = join(sparkHome(cfg), "venv");
  const python = venvPython(cfg);
  const marker = join(venv, ".complete");
  if (existsSync(marker)) return python;
  const system = (await $`command -v python3`.nothrow().quiet()).stdout.trim();
  if (!system) {
    throw new ScriptError("python3 is needed for the Spark job: apt-get install -y python3 python3-venv");
  }
  if (!existsSync(python)) {
    progress.update("creating the venv");
    const made = await $`${system} -m venv ${venv}`.nothrow().quiet();
    if (made.exitCode !== 0) {
      throw new ScriptError(
        `python3 -m venv ${venv} failed (on Debian/Ubuntu: apt-get install -y python3-venv):\n${made.stderr}`,
      );
    }
  }
  const packages = [`pyspark==${cfg.spark.version}`, `redis==${REDIS_PY_VERSION}`];
  const lines: string[] = [];
  const pip = $`${python} -m pip install --disable-pip-version-check --progress-bar off ${packages}`
    .nothrow()
    .quiet();
  for await (const line of pip) {
    lines.push(line);
    const what = line.match(
      /^\s*(Collecting \S+|Downloading \S+.*|Building wheel for \S+|Installing collected .*)/,
    );
    if (what?.[1]) progress.update(what[1].slice(0, 70));
  }
  if ((await pip).exitCode !== 0) {
    throw new ScriptError(`pip install ${packages.join(" ")} into ${venv} failed:\n${tailOf(lines)}`);
  }
  const check = await $`${python} -c ${"import pyspark, redis; print(pyspark.__version__)"}`
    .nothrow()
    .quiet();
  if (check.exitCode !== 0)
    throw new ScriptError(`pyspark installed but cannot be imported:\n${check.stderr}`);
  writeFileSync(marker, `${packages.join("\n")}\n`);
  progress.update(`pyspark ${check.stdout.trim()}`);
  return python;
}

/**
 * The Kafka connector: spark-sql-kafka-0-10, its token provider, kafka-clients and
 * commons-pool2 (9.5 MB). Only these four: the rest of its closure is already in pyspark,
 * and a second copy on spark.jars conflicts.
 */
export async function ensureSparkJars(cfg: Config, progress: Progress): Promise<string[]> {
  const home = sparkHome(cfg);
  const dir = await mavenJars(
    {
      dir: join(home, "jars"),
      what: `org.apache.spark:spark-sql-kafka-0-10_2.13:${cfg.spark.version}`,
      dependencies: [
        { group: "org.apache.spark", artifact: "spark-sql-kafka-0-10_2.13", version: cfg.spark.version },
      ],
      include: [
        "spark-sql-kafka-0-10_2.13",
        "spark-token-provider-kafka-0-10_2.13",
        "kafka-clients",
        "commons-pool2",
      ],
      // Spark's parent POM lists a Google Cloud mirror first; the same id points it at Central.
      repositories: [{ id: "gcs-maven-central-mirror", url: MAVEN_CENTRAL }],
      localRepository: join(home, "m2"),
    },
    progress,
  );
  return readdirSync(dir)
    .filter((f) => f.endsWith(".jar"))
    .sort()
    .map((f) => join(dir, f));
}

/**
 * Where a job without a checkpoint starts: SPARK_STARTING_OFFSETS when set; else the Bun
 * parse worker's committed offsets (so switching engines loses nothing and repeats little),
 * partitions without one from the earliest; else `earliest`.
 */
export async function startingOffsets(cfg: Config): Promise<string> {
  if (cfg.spark.startingOffsets) return cfg.spark.startingOffsets;
  if (existsSync(join(cfg.spark.checkpoint, "offsets"))) return "earliest"; // the checkpoint decides
  const admin = createKafka(cfg.kafka.brokers, "rl-embeddings-admin").admin();
  await admin.connect();
  try {
    const committed = await admin.fetchOffsets({ groupId: cfg.parse.group, topics: cfg.topics.source });
    const spec: Record<string, Record<string, number>> = {};
    let any = false;
    for (const t of committed) {
      spec[t.topic] = {};
      for (const p of t.partitions) {
        const offset = Number(p.offset);
        any ||= offset >= 0;
        // -2 is Spark's "earliest" for one partition.
        (spec[t.topic] as Record<string, number>)[String(p.partition)] = offset >= 0 ? offset : -2;
      }
    }
    return any ? JSON.stringify(spec) : "earliest";
  } finally {
    await admin.disconnect();
  }
}

/** The environment spark_vectorize.py reads (see its --help), from the configuration. */
export function sparkJobEnv(
  cfg: Config,
  jars: string[],
  python: string,
  offsets: string,
): Record<string, string> {
  return {
    KAFKA_BOOTSTRAP_SERVERS: cfg.kafka.brokers.join(","),
    SPARK_KAFKA_TOPICS: cfg.topics.source.join(","),
    SINK_INPUT_TOPIC: cfg.topics.input,
    EMBED_DLQ_TOPIC: cfg.topics.dlq,
    DLQ_MAX_ENTRY_BYTES: String(cfg.dlq.maxEntryBytes),
    REDDB_URL: cfg.redis.url,
    REDDB_NAMESPACE: cfg.redis.namespace,
    REDDB_DLQ_STREAM: cfg.redis.dlqStream,
    REDDB_STREAM_MAXLEN: String(cfg.redis.streamMaxLen),
    PARSE_TEXT_FIELDS: cfg.parse.textFields.join(","),
    PARSE_LABEL_FIELDS: cfg.parse.labelFields.join(","),
    PARSE_MAX_TEXT_CHARS: String(cfg.parse.maxTextChars),
    VEC_OUTPUT_DIR: cfg.parse.outputDir,
    VEC_CHECKPOINT: cfg.spark.checkpoint,
    SPARK_MASTER: cfg.spark.master,
    SPARK_DRIVER_MEMORY: cfg.spark.driverMemory,
    SPARK_EXECUTOR_MEMORY: cfg.spark.executorMemory,
    SPARK_UI_PORT: String(cfg.spark.uiPort),
    SPARK_JARS: jars.join(","),
    SPARK_TRIGGER_SEC: String(cfg.spark.triggerSec),
    SPARK_STARTING_OFFSETS: offsets,
    SPARK_MAX_OFFSETS_PER_TRIGGER: String(cfg.spark.maxOffsetsPerTrigger),
    PARSE_METRICS_HOST: cfg.parse.metricsHost,
    PARSE_METRICS_PORT: String(cfg.parse.metricsPort),
    // The UI binds 127.0.0.1 only with this; the UDF workers must use the venv's python.
    SPARK_LOCAL_IP: "127.0.0.1",
    PYSPARK_PYTHON: python,
    PYSPARK_DRIVER_PYTHON: python,
  };
}

/** pyspark and the connector jars, fetched when missing (cached per version), with progress. */
export function prepareSparkRuntime(cfg: Config): Promise<{ python: string; jars: string[] }> {
  return step(
    `Preparing Spark ${cfg.spark.version} (pyspark from PyPI, Kafka connector from Maven)`,
    async (p) => {
      p.update("pyspark (PyPI)");
      const python = await ensureSparkVenv(cfg, p);
      p.update("Kafka connector jars (Maven)");
      const jars = await ensureSparkJars(cfg, p);
      p.update(`ready: pyspark ${cfg.spark.version}, ${jars.length} connector jars`);
      return { python, jars };
    },
  );
}

/** Everything the job needs, fetched when missing, and the spec to start it with. */
export async function sparkDaemon(cfg: Config, log: string): Promise<DaemonSpec> {
  const { python, jars } = await prepareSparkRuntime(cfg);
  const offsets = await startingOffsets(cfg);
  mkdirSync(cfg.spark.checkpoint, { recursive: true });
  if (cfg.parse.outputDir) mkdirSync(cfg.parse.outputDir, { recursive: true });
  return {
    name: "spark-vectorizer",
    cmd: python,
    args: [SPARK_JOB],
    marker: [SPARK_JOB],
    address: `${cfg.parse.metricsHost}:${cfg.parse.metricsPort}`,
    log,
    env: sparkJobEnv(cfg, jars, python, offsets),
  };
}

/** The standalone master SPARK_MASTER names (`spark://host:port`); undefined for `local[N]`. */
export function standaloneMaster(cfg: Config): { host: string; port: number; local: boolean } | undefined {
  const m = /^spark:\/\/([^:/]+):(\d+)\/?$/.exec(cfg.spark.master);
  if (!m) return undefined;
  const host = m[1] as string;
  return { host, port: Number(m[2]), local: ["127.0.0.1", "localhost", "::1"].includes(host) };
}

/** pyspark's `bin/spark-class` in the venv (it launches Spark's JVM classes). */
function sparkClass(cfg: Config): string {
  const lib = join(sparkHome(cfg), "venv", "lib");
  const py = readdirSync(lib).find((d) =>
    existsSync(join(lib, d, "site-packages", "pyspark", "bin", "spark-class")),
  );
  if (!py)
    throw new ScriptError(
      `pyspark's bin/spark-class is missing under ${lib}: remove ${sparkHome(cfg)} and retry`,
    );
  return join(lib, py, "site-packages", "pyspark", "bin", "spark-class");
}

/** The environment of the standalone daemons: loopback and small heaps (they log to stderr, so to the daemon's log). */
function daemonEnv(): Record<string, string> {
  return { SPARK_LOCAL_IP: "127.0.0.1", SPARK_DAEMON_MEMORY: "256m" };
}

/** The local standalone master (`org.apache.spark.deploy.master.Master`) of SPARK_MASTER. */
export async function sparkMasterDaemon(cfg: Config, log: string): Promise<DaemonSpec> {
  await prepareSparkRuntime(cfg);
  const master = standaloneMaster(cfg) as { host: string; port: number };
  const { masterWebUiPort } = cfg.spark.standalone;
  const cls = "org.apache.spark.deploy.master.Master";
  return {
    name: "spark-master",
    cmd: sparkClass(cfg),
    args: [
      cls,
      "--host",
      master.host,
      "--port",
      String(master.port),
      "--webui-port",
      String(masterWebUiPort),
    ],
    execs: "java",
    marker: [cls, "--port", String(master.port)],
    address: `${master.host}:${master.port} (web UI ${master.host}:${masterWebUiPort})`,
    log,
    env: daemonEnv(),
  };
}

/** One local standalone worker (`org.apache.spark.deploy.worker.Worker`) registered with the master. */
export async function sparkWorkerDaemon(cfg: Config, log: string): Promise<DaemonSpec> {
  await prepareSparkRuntime(cfg);
  const master = standaloneMaster(cfg) as { host: string; port: number };
  const { workerWebUiPort, workerCores, workerMemory } = cfg.spark.standalone;
  const work = join(cfg.local.stateDir, "spark", "work");
  mkdirSync(work, { recursive: true });
  const cls = "org.apache.spark.deploy.worker.Worker";
  return {
    name: "spark-worker",
    cmd: sparkClass(cfg),
    args: [
      cls,
      `spark://${master.host}:${master.port}`,
      "--host",
      master.host,
      "--cores",
      String(workerCores),
      "--memory",
      workerMemory,
      "--webui-port",
      String(workerWebUiPort),
      "--work-dir",
      work,
    ],
    execs: "java",
    marker: [cls, "--webui-port", String(workerWebUiPort)],
    address: `${master.host}:${workerWebUiPort} (web UI; ${workerCores} cores, ${workerMemory})`,
    log,
    env: daemonEnv(),
  };
}

/** What the standalone master's `/json/` says: alive, and its alive workers' web UI ports. */
export async function standaloneState(
  cfg: Config,
): Promise<{ alive: boolean; workerUiPorts: number[] } | undefined> {
  const master = standaloneMaster(cfg);
  if (!master) return undefined;
  try {
    const res = await fetch(`http://${master.host}:${cfg.spark.standalone.masterWebUiPort}/json/`, {
      signal: AbortSignal.timeout(2000),
    });
    if (!res.ok) return undefined;
    const body = (await res.json()) as {
      status?: string;
      workers?: { state?: string; webuiaddress?: string }[];
    };
    return {
      alive: body.status === "ALIVE",
      workerUiPorts: (body.workers ?? [])
        .filter((w) => w.state === "ALIVE")
        .map((w) => Number(new URL(w.webuiaddress ?? "http://x:0").port)),
    };
  } catch {
    return undefined;
  }
}

/** The seed's probe (`pgrep -f spark_vectorize.py`): some process runs the job. */
export function sparkProcessRunning(): boolean {
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      if (argv.some((a) => a.endsWith(SPARK_PROBE))) return true;
    } catch {
      // gone meanwhile
    }
  }
  return false;
}

/**
 * Runs the Spark job as a child process with `env` over the configuration (as the tests and
 * the benchmark do), after fetching what it needs, and waits until its query is active.
 */
export async function startSparkJob(env: Record<string, string>, port = freePort()): Promise<WorkerHandle> {
  const cfg = loadConfig({ ...process.env, ...env, PARSE_METRICS_PORT: String(port) });
  const { python, jars } = await prepareSparkRuntime(cfg);
  const jobEnv = sparkJobEnv(cfg, jars, python, cfg.spark.startingOffsets || "earliest");
  return startWorker(
    SPARK_PROBE,
    { ...env, ...jobEnv },
    {
      portVar: "PARSE_METRICS_PORT",
      port,
      cmd: [python, SPARK_JOB],
      timeoutSec: 180,
    },
  );
}
