#!/usr/bin/env bun
/**
 * The whole check: typecheck, lint, then every test against a real Kafka and Redis
 * (started or reused first, like `up --infra`). Ends with one line `N passed, N failed`.
 */
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { $ } from "zx";
import { loadConfig } from "../pipeline/config.ts";
import { runScript } from "./lib/cli.ts";
import { info, ScriptError, step } from "./lib/progress.ts";
import { prepareEmbeddingModels } from "./lib/stack.ts";
import { unitTestFiles } from "./lib/test-lanes.ts";
import { up } from "./lib/up.ts";

const root = join(import.meta.dir, "..");
/** Tools the tests use as independent clients, by Debian package. */
const testTools: Record<string, string> = { kcat: "kcat", "redis-cli": "redis-tools", tmux: "tmux" };

async function ensureTestTools(): Promise<void> {
  const missing: string[] = [];
  for (const [bin, pkg] of Object.entries(testTools)) {
    if ((await $`command -v ${bin}`.nothrow().quiet()).exitCode !== 0) missing.push(pkg);
  }
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new ScriptError(
      `the tests need ${missing.join(", ")}: install them (apt-get install -y ${missing.join(" ")})`,
    );
  }
  await step(`Installing ${missing.join(", ")} (apt-get)`, async () => {
    await $`apt-get update -qq`.quiet();
    await $({
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    })`apt-get install -y -qq ${missing}`.quiet();
  });
}

interface Tally {
  passed: number;
  failed: number;
  skipped: number;
}

/** Counts from bun's JUnit report; a run that crashed before reporting counts as one failure. */
function tallyJunit(file: string, exitCode: number): Tally {
  let xml = "";
  try {
    xml = readFileSync(file, "utf8");
  } catch {}
  const root = /<testsuites[^>]*>/.exec(xml)?.[0] ?? "";
  const attr = (name: string) => Number(new RegExp(`${name}="(\\d+)"`).exec(root)?.[1] ?? 0);
  const tests = attr("tests");
  const skipped = attr("skipped");
  let failed = attr("failures");
  if (exitCode !== 0 && failed === 0) failed = 1;
  return { passed: tests - failed - skipped, failed, skipped };
}

async function check(label: string, cmd: string[], tally: Tally): Promise<void> {
  info(`\n── ${label}: ${cmd.join(" ")}`);
  const r = await $({ cwd: root, stdio: "inherit" })`${cmd}`.nothrow();
  if (r.exitCode === 0) tally.passed++;
  else tally.failed++;
}

await runScript(
  {
    usage: "bun run test [--unit] [--no-checks] [-- BUN_TEST_ARGS...]",
    description:
      "Runs typecheck (tsc), lint/format check (biome) and the bun test suite against a real Kafka and\n" +
      "Redis, started first if they are not running (they are left running for the next run; `bun run down`\n" +
      "stops them). Prints `N passed, N failed` last; typecheck and lint count as one check each.\n" +
      "With --unit, only the tests that need no Kafka, Redis, Java, prepared model, Python venv, tmux or\n" +
      "root (found from their imports, scripts/lib/test-lanes.ts): under a minute, nothing started.",
    options: [
      ["--unit", "the fast lane: tests that need no services (CI runs everything)"],
      ["--no-checks", "skip typecheck and lint"],
    ],
    boolean: ["checks", "unit"],
    default: { checks: true, unit: false },
  },
  async (args) => {
    const tally: Tally = { passed: 0, failed: 0, skipped: 0 };
    if (args.checks) {
      await check("typecheck", ["tsc", "--noEmit", "-p", "."], tally);
      await check("lint", ["biome", "check", "."], tally);
    }
    const files = args.unit ? unitTestFiles(root) : [];
    if (args.unit) {
      info(`\n── unit lane: ${files.length} test files that need no services`);
    } else {
      await ensureTestTools();
      info("\n── infrastructure for the tests");
      await up(loadConfig(), ["infra"]);
      // Once per machine: the tests start InferMesh with MiniLM, which should not prepare it itself.
      await prepareEmbeddingModels(loadConfig());
    }

    const outDir = join(root, ".test-output");
    rmSync(outDir, { recursive: true, force: true });
    mkdirSync(outDir, { recursive: true });
    const junit = join(outDir, "junit.xml");
    info("\n── bun test");
    const r = await $({
      cwd: root,
      stdio: "inherit",
    })`bun test --reporter=junit --reporter-outfile=${junit} ${files} ${args._}`.nothrow();
    const t = tallyJunit(junit, r.exitCode ?? 1);
    tally.passed += t.passed;
    tally.failed += t.failed;
    tally.skipped += t.skipped;
    console.log(
      `${tally.passed} passed, ${tally.failed} failed${tally.skipped ? `, ${tally.skipped} skipped` : ""}`,
    );
    return tally.failed === 0 ? 0 : 1;
  },
);
