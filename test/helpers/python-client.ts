/**
 * Third-party Python clients for protocol tests, installed from PyPI (pinned) into the tests'
 * Python venv (the one {@link pyarrowPython} creates under `<cacheDir>/py`) on first use.
 */
import { pyarrowPython } from "./pyarrow.ts";
import { run } from "./run.ts";

/** The openai package pinned for the tests. */
export const OPENAI_PY = "openai==3.57.0";

const installed = new Map<string, Promise<string>>();

/** The tests' python, able to `import module` (pip-installing `requirement` when it cannot). */
export function pythonWith(module: string, requirement: string): Promise<string> {
  let ready = installed.get(requirement);
  if (!ready) {
    ready = (async () => {
      const python = await pyarrowPython();
      if ((await run([python, "-c", `import ${module}`])).code === 0) return python;
      const pip = await run([
        python,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        requirement,
      ]);
      if (pip.code !== 0) throw new Error(`pip install ${requirement} failed:\n${pip.stderr.slice(-2000)}`);
      return python;
    })();
    ready.catch(() => installed.delete(requirement));
    installed.set(requirement, ready);
  }
  return ready;
}
