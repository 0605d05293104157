/**
 * The fast lane of the test suite: the test files that need no Kafka, Redis, Java, prepared
 * model, Python venv, tmux or root, found from their imports (followed through the project's
 * own modules) rather than kept as a list, so a new test lands in the right lane by itself.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

/** Modules whose use means real services or slow setup (project paths). */
const NEEDS_SERVICES = [
  "test/helpers/infra.ts", // Kafka and Redis
  "test/helpers/workers.ts", // worker processes on the real broker
  "test/helpers/stack.ts",
  "test/helpers/procs.ts",
  "test/helpers/terminal.ts", // tmux
  "test/helpers/pyarrow.ts", // a Python venv from PyPI
  "test/helpers/python-client.ts",
  "pipeline/models/minilm-setup.ts", // the prepared MiniLM model
  "scripts/lib/spark-local.ts", // Java + pyspark
];
/** Independent command-line clients a test may run. */
const TOOLS = /["'](kcat|redis-cli|redis-server|tmux|java)["']/;

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

/** Project files a file imports, followed transitively (relative imports only). */
function closure(root: string, file: string, seen = new Set<string>()): Set<string> {
  const rel = relative(root, file);
  if (seen.has(rel) || !existsSync(file)) return seen;
  seen.add(rel);
  const src = readFileSync(file, "utf8");
  for (const m of src.matchAll(
    /(?:import|export)\b[^;"']*?from\s+["'](\.[^"']+)["']|import\(\s*["'](\.[^"']+)["']\s*\)/g,
  )) {
    const spec = (m[1] ?? m[2]) as string;
    closure(root, resolve(dirname(file), spec), seen);
  }
  return seen;
}

/** The unit lane: test files (project paths) whose imports reach no service module. */
export function unitTestFiles(root: string): string[] {
  return walk(join(root, "test"))
    .filter((f) => /\.test\.tsx?$/.test(f))
    .filter((f) => {
      const reach = closure(root, f);
      if (NEEDS_SERVICES.some((m) => reach.has(m))) return false;
      return !TOOLS.test(readFileSync(f, "utf8"));
    })
    .map((f) => relative(root, f))
    .sort();
}
