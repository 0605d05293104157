/**
 * An independent Parquet reader for tests: a Python venv with pyarrow, kept in
 * `<cacheDir>/py` (`EMBED_CACHE_DIR`) and created on first use. Quiet unless it fails.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../pipeline/config.ts";

let ready: Promise<string> | undefined;

async function exec(cmd: string[]): Promise<{ code: number; out: string }> {
  const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, out: `${stdout}${stderr}` };
}

function tail(text: string, lines = 20): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

/**
 * Path of a Python interpreter that can `import pyarrow`. Creates the venv
 * (`python3 -m venv`) and installs `pyarrow` from PyPI with pip only when missing.
 * Throws a clear error when python3 is missing or a step fails (with its output).
 */
export function pyarrowPython(): Promise<string> {
  ready ??= (async () => {
    const venv = join(loadConfig().local.cacheDir, "py");
    const python = join(venv, "bin", "python");
    if (existsSync(python) && (await exec([python, "-c", "import pyarrow"])).code === 0) return python;

    const system = Bun.which("python3");
    if (!system) {
      throw new Error(
        "python3 is needed for the pyarrow interoperability tests (apt-get install -y python3 python3-venv)",
      );
    }
    if (!existsSync(python)) {
      const made = await exec([system, "-m", "venv", venv]);
      if (made.code !== 0) {
        throw new Error(
          `python3 -m venv ${venv} failed (on Debian/Ubuntu: apt-get install -y python3-venv):\n${tail(made.out)}`,
        );
      }
    }
    const pip = await exec([
      python,
      "-m",
      "pip",
      "install",
      "--quiet",
      "--disable-pip-version-check",
      "pyarrow",
    ]);
    if (pip.code !== 0) throw new Error(`pip install pyarrow into ${venv} failed:\n${tail(pip.out)}`);
    const check = await exec([python, "-c", "import pyarrow"]);
    if (check.code !== 0)
      throw new Error(`pyarrow installed into ${venv} but cannot be imported:\n${tail(check.out)}`);
    return python;
  })();
  // A failed attempt may be retried by a later call.
  ready.catch(() => {
    ready = undefined;
  });
  return ready;
}

/** Runs an inline Python script with the pyarrow interpreter and parses its stdout as JSON. */
export async function runPyarrow<T = unknown>(script: string, args: string[] = []): Promise<T> {
  const python = await pyarrowPython();
  const { code, out } = await execSplit([python, "-c", script, ...args]);
  if (code !== 0) throw new Error(`python script failed (${code}):\n${tail(out.stderr, 40)}`);
  return JSON.parse(out.stdout) as T;
}

async function execSplit(cmd: string[]): Promise<{ code: number; out: { stdout: string; stderr: string } }> {
  const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, out: { stdout, stderr } };
}
