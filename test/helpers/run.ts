/** Runs a project script (`bun scripts/NAME.ts ...`) as an operator would, capturing output. */
import { join } from "node:path";

export const repoRoot = join(import.meta.dir, "..", "..");

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runScript(
  name: string,
  args: string[] = [],
  env: Record<string, string | undefined> = {},
): Promise<RunResult> {
  const proc = Bun.spawn([process.execPath, join(repoRoot, "scripts", `${name}.ts`), ...args], {
    cwd: repoRoot,
    env: { ...process.env, CI: "1", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr };
}

/** Runs any command, returning its output (for independent clients such as kcat, redis-cli), with optional stdin text. */
export async function run(cmd: string[], stdin?: string): Promise<RunResult> {
  const proc = Bun.spawn(cmd, {
    stdin: stdin === undefined ? "ignore" : new Blob([stdin]),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr };
}
