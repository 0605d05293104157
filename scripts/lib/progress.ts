/**
 * Progress for long steps: a spinner with elapsed time on a terminal, a line every
 * few seconds otherwise (CI logs), and a clear failure message.
 */
const isTTY = Boolean(process.stderr.isTTY) && !process.env.CI;
const frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

export interface Progress {
  /** Replace the detail shown after the label (e.g. "12 artifacts"). */
  update(detail: string): void;
}

export function info(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** Runs `fn` while showing `label` with elapsed time; prints ✓ or ✗ at the end. */
export async function step<T>(label: string, fn: (p: Progress) => Promise<T>): Promise<T> {
  const started = Date.now();
  let detail = "";
  let frame = 0;
  let lastLine = 0;
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)}s`;
  const render = () => {
    if (isTTY) {
      process.stderr.write(`\r\x1b[2K${frames[frame++ % frames.length]} ${label} ${detail} (${elapsed()})`);
    } else if (Date.now() - lastLine >= 10_000) {
      lastLine = Date.now();
      info(`… ${label} ${detail} (${elapsed()})`);
    }
  };
  render();
  const timer = setInterval(render, isTTY ? 100 : 1000);
  try {
    const result = await fn({
      update(d) {
        detail = d;
      },
    });
    clearInterval(timer);
    if (isTTY) process.stderr.write("\r\x1b[2K");
    info(`✓ ${label}${detail ? ` ${detail}` : ""} (${elapsed()})`);
    return result;
  } catch (err) {
    clearInterval(timer);
    if (isTTY) process.stderr.write("\r\x1b[2K");
    info(`✗ ${label} (${elapsed()})`);
    throw err;
  }
}

/**
 * Polls `check` until it returns true (→ true), `giveUp` returns true (→ false, at once),
 * or `timeoutSec` passes (→ false). A check that throws counts as not yet.
 */
export async function waitUntil(
  check: () => Promise<boolean>,
  timeoutSec: number,
  { intervalMs = 250, giveUp }: { intervalMs?: number; giveUp?: () => boolean } = {},
): Promise<boolean> {
  const deadline = Date.now() + timeoutSec * 1000;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return true;
    if (giveUp?.()) return false;
    await Bun.sleep(intervalMs);
  }
  return check().catch(() => false);
}

/** An error a script reports to the operator as-is (no stack), with an exit code. */
export class ScriptError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = "ScriptError";
  }
}
